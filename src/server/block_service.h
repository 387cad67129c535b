#pragma once
// The gRPC side of a server: reads and writes the streams of the protocol in
// net/brigade.proto and hands every message to the SessionHost, which holds
// the protocol itself. Errors become status codes by kind (net/status.h);
// nothing a client or peer sends can end more than its own call.
//
// Threads (the sync API holds one per open stream): a stream takes a slot
// from the SessionHost's caps before it reads anything (over them it is
// refused at once), and one that stays silent past options.open_timeout is
// cancelled by the watchdog, so that no client can keep server threads.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "brigade.grpc.pb.h"
#include "server/fault_injection.h"
#include "server/push_sender.h"
#include "server/server_options.h"
#include "server/session_host.h"
#include "util/watchdog.h"

namespace brigade {

class BlockService final : public rpc::Brigade::Service {
 public:
  BlockService(const ServedModel& served, const ServerOptions& options);
  ~BlockService() override;

  grpc::Status Inference(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<rpc::InferenceResponse, rpc::InferenceRequest>* stream) override;
  grpc::Status Forward(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<rpc::ForwardResponse, rpc::ForwardRequest>* stream) override;
  grpc::Status Push(grpc::ServerContext* context, const rpc::PushRequest* request,
                    rpc::PushResponse* response) override;
  grpc::Status Info(grpc::ServerContext* context, const rpc::InfoRequest* request,
                    rpc::InfoResponse* response) override;
  grpc::Status Ping(grpc::ServerContext* context, const rpc::PingRequest* request,
                    rpc::PingResponse* response) override;

  // What the record announces: what one more client could reserve.
  int64_t cache_tokens_for_a_client() const { return host_.cache_tokens_for_a_client(); }
  ServerMetrics metrics() { return host_.metrics(); }
  // Ends every open session (their streams end with CANCELLED) and releases
  // stalled fault-injected steps: the server is shutting down.
  void stop();

 private:
  void reap_idle_sessions();
  // Takes a slot for the stream (SessionHost::admit_stream) into *slot, or
  // returns the status that refuses it.
  std::optional<grpc::Status> admit(grpc::ServerContext* context, PeerQuota::Claim* slot);
  // Cancels `context`'s call unless the timer is disarmed within
  // options.open_timeout.
  Watchdog::Timer cancel_if_silent(grpc::ServerContext* context);

  const std::chrono::milliseconds open_timeout_;
  Watchdog watchdog_;
  FaultInjector faults_;
  PushCounters counters_;
  PushSender sender_;
  SessionHost host_;

  std::mutex reaper_mutex_;
  bool stopping_ = false;  // guarded by reaper_mutex_
  std::condition_variable reaper_cv_;
  std::thread reaper_;
};

}  // namespace brigade
