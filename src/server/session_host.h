#pragma once
// The server's protocol without gRPC: open, route, step, push, forward and
// info as plain calls with plain results. BlockService reads and writes the
// gRPC streams and calls these; the session fuzzer and tests call them
// directly. Errors are Errors with a kind (util/error.h), which the adapter
// maps to status codes (net/status.h).
//
// Locking (checked by clang): sessions_mutex_ guards sessions_; it is never
// held while a session computes. One forward runs at a time (compute_mutex_): the cores are shared.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "brigade.pb.h"
#include "model/block_span.h"
#include "net/identity.h"
#include "server/cache_budget.h"
#include "server/early_pushes.h"
#include "server/hosted_session.h"
#include "server/push_sink.h"
#include "server/server_options.h"
#include "util/thread_annotations.h"

namespace brigade {

struct ServedModel {
  std::string model_id;
  const BlockSpan& span;
  const Identity& identity;
  double compute_ms_per_block = 0;
};

struct ForwardResult {
  WireTensor output;
  double compute_ms = 0;
};

class SessionHost {
 public:
  // `counters` and `pushes` outlive the host.
  SessionHost(const ServedModel& served, const ServerOptions& options, PushCounters& counters,
              PushSink& pushes);

  // One client's session stream, from its open to its end. Destroying it
  // closes the session and gives its cache back.
  class Stream {
   public:
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    const std::string& id() const { return session_->id(); }
    // What the server answers the open with.
    rpc::SessionOpened opened() const;
    // A message after the open: a RouteUpdate or a chunk of a Step. Throws
    // Error naming the session and the field on anything invalid.
    void on_request(const rpc::InferenceRequest& request);

   private:
    friend class SessionHost;
    Stream(SessionHost& host, std::shared_ptr<HostedSession> session);
    SessionHost& host_;
    std::shared_ptr<HostedSession> session_;
    StepAssembler steps_;
  };

  // Opens a session from the stream's first message: validates it, reserves
  // its cache (waiting up to options.alloc_wait; Error kRefused "cache full"
  // after) and registers it. `deliver` gets every result in order; `cancel`
  // ends the stream from outside (idle timeout, shutdown) and must not block.
  std::unique_ptr<Stream> open(const rpc::InferenceRequest& first, HostedSession::Deliver deliver,
                               std::function<void()> cancel);

  // A push from another server. Never throws: the response says whether it
  // was taken and why not.
  rpc::PushResponse push(const rpc::PushRequest& request);

  // Runs blocks [start, end) on `hidden` with a cache of its own (the
  // stateless Forward RPC), within the cache budget.
  ForwardResult forward(int start, int end, const WireTensor& hidden);
  // The most bytes one Forward tensor may take.
  size_t max_forward_bytes() const;

  void info(rpc::InfoResponse* out);
  int64_t cache_tokens_left() const { return budget_.left(); }

  // Cancels the sessions idle for longer than options.session_timeout.
  void expire_idle();
  // Cancels every open session.
  void cancel_all();

 private:
  struct Entry {
    std::shared_ptr<HostedSession> session;
    std::function<void()> cancel;
  };
  std::shared_ptr<HostedSession> find(const std::string& id);
  void count(PushVerdict verdict);
  void close(const std::string& id);

  ServedModel served_;
  ServerOptions options_;
  PushCounters& counters_;
  PushSink& pushes_;
  CacheBudget budget_;
  std::mutex compute_mutex_;
  EarlyPushes early_pushes_;

  Mutex sessions_mutex_;
  std::map<std::string, Entry> sessions_ BRIGADE_GUARDED_BY(sessions_mutex_);
};

}  // namespace brigade
