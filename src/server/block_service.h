#pragma once
// The gRPC handlers of a server (one dispatch point for the protocol in
// net/brigade.proto). Every request is validated against the served span
// before it touches memory; an invalid request ends that call with
// INVALID_ARGUMENT and a message, never the server.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "brigade.grpc.pb.h"
#include "model/block_span.h"
#include "net/identity.h"
#include "server/cache_budget.h"
#include "server/early_pushes.h"
#include "server/inference_session.h"
#include "server/push_sender.h"
#include "server/server_options.h"

namespace brigade {

struct ServedModel {
  std::string model_id;
  const BlockSpan& span;
  const Identity& identity;
  double compute_ms_per_block = 0;
};

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

  int64_t cache_tokens_left() const { return budget_.left(); }
  // Cancels every open session (their streams end with CANCELLED).
  void cancel_all();
  FaultInjector& faults() { return faults_; }

 private:
  struct OpenEntry {
    std::shared_ptr<InferenceSession> session;
    grpc::ServerContext* context;
  };
  void reap_idle_sessions();
  std::shared_ptr<InferenceSession> find_session(const std::string& id);
  void count(PushVerdict verdict);

  ServedModel served_;
  ServerOptions options_;
  CacheBudget budget_;
  std::mutex compute_mutex_;  // one forward at a time: the cores are shared
  FaultInjector faults_;
  PushCounters counters_;
  PushSender sender_;
  EarlyPushes early_pushes_;

  std::mutex sessions_mutex_;
  std::map<std::string, OpenEntry> sessions_;

  std::atomic<bool> stopping_{false};
  std::condition_variable reaper_cv_;
  std::thread reaper_;
};

}  // namespace brigade
