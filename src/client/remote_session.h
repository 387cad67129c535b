#pragma once
// The client's end of one server's inference session: a gRPC stream, a
// reader thread that collects step results as they arrive (in push mode a
// server may answer a step before the client sent its own copy), and the
// checks of every answer (signature, step, shape).

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "brigade.grpc.pb.h"
#include "client/route.h"
#include "net/tensor_codec.h"
#include "util/error.h"

namespace brigade {

// A server failed the session: the stream broke, it stalled past the step
// timeout, or it answered something invalid. Carries the peer to ban and the
// kind of failure, which decides for how long (client/ban_list.h).
class HopFailure : public Error {
 public:
  HopFailure(std::string peer, ErrorKind kind, const std::string& reason)
      : Error(fmt::format("server {}: {}", peer.substr(0, 12), reason), kind),
        peer(std::move(peer)),
        reason(reason) {}
  std::string peer;
  std::string reason;
};

// How long a client waits for a hop's step before it counts as failed
// (`--step-timeout`).
inline constexpr std::chrono::milliseconds kDefaultStepTimeout{20000};

struct SessionParams {
  int batch = 1;
  int max_length = 0;
  int hidden_size = 0;
  rpc::WireDType dtype = rpc::WIRE_F32;
  std::chrono::milliseconds step_timeout = kDefaultStepTimeout;
};

struct ReceivedStep {
  rpc::StepResult meta;  // hidden cleared
  WireTensor output;
};

class RemoteSession {
 public:
  // Opens the session; throws HopFailure when the server refuses it or does
  // not answer within the step timeout.
  RemoteSession(const RouteHop& hop, std::shared_ptr<grpc::Channel> channel,
                const SessionParams& params);
  ~RemoteSession();
  RemoteSession(const RemoteSession&) = delete;
  RemoteSession& operator=(const RemoteSession&) = delete;

  const RouteHop& hop() const { return hop_; }
  const std::string& session_id() const { return session_id_; }

  // Push routing for the following steps: where this server sends its
  // outputs (next hop first; empty: no push) and who may push to it.
  void send_route(const std::vector<rpc::Hop>& next, const std::string& upstream_peer);

  // Sends the client's copy of a step's input.
  void send_step(int64_t step_id, int32_t position, const WireTensor& hidden);

  // Every answer received so far for `step_id` (a pushed one, then maybe a
  // corrected one), unverified.
  std::vector<ReceivedStep> results_of(int64_t step_id);

  // Waits for the result of `step_id`, checks its signature, and returns it.
  // A corrected result (after a bad push) replaces an earlier one. Throws
  // HopFailure on timeout, a broken stream or a bad signature.
  ReceivedStep wait_result(int64_t step_id);
  // Waits for the result of `step_id` that was computed from the client's
  // copy with digest `input_digest` (a corrected one if the first was not).
  ReceivedStep wait_result_for_input(int64_t step_id, const std::string& input_digest);

 private:
  void read_loop();
  void close();

  RouteHop hop_;
  SessionParams params_;
  std::string session_id_;
  std::unique_ptr<rpc::Brigade::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<rpc::InferenceRequest, rpc::InferenceResponse>> stream_;
  std::mutex write_mutex_;
  bool writes_done_ = false;

  std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<int64_t, std::vector<ReceivedStep>> results_;  // every answer per step, in order
  bool ended_ = false;
  std::string end_reason_;
  ErrorKind end_kind_ = ErrorKind::kUnavailable;
  std::thread reader_;
};

// A random session id (hex of 16 random bytes).
std::string random_session_id();

}  // namespace brigade
