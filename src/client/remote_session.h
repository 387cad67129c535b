#pragma once
// The client's end of one server's inference session over gRPC: a stream, a
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
#include "client/hop_session.h"
#include "client/route.h"
#include "net/tensor_codec.h"
#include "util/error.h"
#include "util/thread_annotations.h"
#include "util/watchdog.h"

namespace brigade {

struct SessionParams {
  int batch = 1;
  int max_length = 0;
  int hidden_size = 0;
  rpc::WireDType dtype = rpc::WIRE_F32;
};

class RemoteSession final : public HopSession {
 public:
  // Opens the session; throws HopFailure when the server refuses it or
  // answers as another peer, HopFailure::stall when it does not answer
  // within `open_timeout` (timed by `watchdog`, which outlives the open).
  RemoteSession(const RouteHop& hop, std::shared_ptr<grpc::Channel> channel,
                const SessionParams& params, std::chrono::milliseconds open_timeout,
                Watchdog& watchdog);
  ~RemoteSession() override;
  RemoteSession(const RemoteSession&) = delete;
  RemoteSession& operator=(const RemoteSession&) = delete;

  const RouteHop& hop() const override { return hop_; }
  const std::string& session_id() const override { return session_id_; }
  void send_route(const std::vector<rpc::Hop>& next, const std::string& upstream_peer) override;
  void send_step(int64_t step_id, int32_t position, const WireTensor& hidden) override;
  std::vector<ReceivedStep> results_of(int64_t step_id) override;
  // A corrected result (after a bad push) replaces an earlier one. Checks
  // the output digest and the signature.
  ReceivedStep wait_result_for_input(int64_t step_id, const std::string& input_digest,
                                     std::chrono::milliseconds timeout) override;

 private:
  void read_loop();
  void close();

  RouteHop hop_;
  SessionParams params_;
  std::string session_id_;
  std::unique_ptr<rpc::Brigade::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<rpc::InferenceRequest, rpc::InferenceResponse>> stream_;
  // One writer at a time on the stream (steps, routes, WritesDone).
  Mutex write_mutex_;
  bool writes_done_ BRIGADE_GUARDED_BY(write_mutex_) = false;

  // What the reader thread hands to the waiting caller.
  Mutex mutex_;
  CondVar arrived_;
  // Every answer per step, in order.
  std::map<int64_t, std::vector<ReceivedStep>> results_ BRIGADE_GUARDED_BY(mutex_);
  bool ended_ BRIGADE_GUARDED_BY(mutex_) = false;
  std::string end_reason_ BRIGADE_GUARDED_BY(mutex_);
  ErrorKind end_kind_ BRIGADE_GUARDED_BY(mutex_) = ErrorKind::kUnavailable;
  std::thread reader_;
};

// A random session id (hex of 16 random bytes).
std::string random_session_id();

}  // namespace brigade
