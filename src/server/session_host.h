#pragma once
// The server's protocol without gRPC: open, route, step, push, forward and
// info as plain calls with plain results. BlockService reads and writes the
// gRPC streams and calls these; the session fuzzer and tests call them
// directly. Errors are Errors with a kind (util/error.h), which the adapter
// maps to status codes (net/status.h).
//
// Fair use (DESIGN.md): what a client can cost is bounded per client (a
// client is its connection, named by the transport as a plain string) and in
// total: streams, sessions and Forward calls (PeerQuota), KV cache
// (CacheBudget: a client's share, a bounded first-come-first-served queue of
// waiting opens, and idle sessions closed while others wait) and compute
// (StepBatcher: steps batched into shared passes, long ones in chunks taking
// turns in arrival order). Bytes of unfinished tensors are bounded in total
// only (PendingBytes): a client fills that buffer only by uploading it, a
// full chunk per open_timeout.
//
// Locking (checked by clang): sessions_mutex_ guards sessions_; it is never
// held while a session computes, and it is taken before the budgets' own
// locks, never after. Every forward runs on the host's passes (compute_):
// the cores are shared.

#include <atomic>
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
#include "server/peer_quota.h"
#include "server/push_sink.h"
#include "server/server_metrics.h"
#include "server/server_options.h"
#include "server/step_batcher.h"
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
    Stream(SessionHost& host, std::shared_ptr<HostedSession> session, PeerQuota::Claim claim);
    SessionHost& host_;
    PeerQuota::Claim claim_;  // the client's session and cache share
    std::shared_ptr<HostedSession> session_;
    StepAssembler steps_;
    bool stepped_ = false;  // a first step arrived
  };

  // Opens a session from the stream's first message for the client `peer`:
  // validates it; claims the client's share (options.max_sessions_per_peer
  // sessions and options.peer_cache_share of the cache); reserves its cache,
  // queueing behind earlier opens for up to options.alloc_wait while the
  // sessions idle past options.idle_under_pressure are closed to make room;
  // and registers it. Refusals are Errors of kind kRefused ("too many
  // sessions", "cache full ..."). `deliver` gets every result in order;
  // `cancel` ends the stream from outside (idle timeout, eviction, shutdown)
  // and must not block.
  std::unique_ptr<Stream> open(const std::string& peer, const rpc::InferenceRequest& first,
                               HostedSession::Deliver deliver, std::function<void()> cancel);

  // A slot for one Inference or Forward stream of the client `peer`, held
  // until the claim is destroyed. Throws Error (kRefused) past
  // options.max_streams or options.max_streams_per_peer.
  PeerQuota::Claim admit_stream(const std::string& peer);

  // A push from another server. Never throws: the response says whether it
  // was taken and why not.
  rpc::PushResponse push(const rpc::PushRequest& request);

  // Runs blocks [start, end) on `hidden` with a cache of its own (the
  // stateless Forward RPC), within the cache budget and `peer`'s share of it
  // (a call counts as one of its sessions while it runs).
  ForwardResult forward(const std::string& peer, int start, int end, const WireTensor& hidden);
  // Collects the chunks of one Forward tensor: at most the bytes the cache
  // budget allows, its unfinished part counted in the server's pending bytes.
  std::unique_ptr<ChunkAssembler> forward_assembler(rpc::WireDType dtype);

  void info(rpc::InfoResponse* out);
  // Info and the counters behind /metrics (server/server_metrics.h).
  ServerMetrics metrics();
  int64_t cache_tokens_left() const { return budget_.left(); }
  // What one more client could reserve now: the free cache, at most a
  // client's share of it. The record announces this, so that a client does
  // not route to a server that must refuse it (and then suspect it).
  int64_t cache_tokens_for_a_client() const;

  // Cancels the sessions idle for longer than options.session_timeout, and,
  // while opens wait for cache, those idle past options.idle_under_pressure
  // (see relieve_cache_pressure). Called periodically.
  void expire_idle();
  // Cancels every open session.
  void cancel_all();

 private:
  struct Entry {
    std::shared_ptr<HostedSession> session;
    std::function<void()> cancel;
    int64_t cache_tokens = 0;
    bool evicted = false;  // cancelled to free its cache; closing
  };
  // open() without counting its refusals.
  std::unique_ptr<Stream> open_session(const std::string& peer, const rpc::InferenceRequest& first,
                                       HostedSession::Deliver deliver,
                                       std::function<void()> cancel);
  std::shared_ptr<HostedSession> find(const std::string& id);
  void count(PushVerdict verdict);
  void close(const std::string& id);
  // While opens wait for cache: cancels sessions idle past
  // options.idle_under_pressure, the longest idle first, until the cache
  // they (and sessions already closing) hold covers what the waiters lack.
  void relieve_cache_pressure();
  // Reserves `tokens` of the budget for a session or a Forward call.
  void reserve_cache(int64_t tokens);

  ServedModel served_;
  ServerOptions options_;
  PushCounters& counters_;
  PushSink& pushes_;
  std::atomic<uint64_t> sessions_refused_{0};
  // Sessions whose first step was a replay (a step id past 0: a client's
  // recovery sends a failed server's history as one step).
  std::atomic<uint64_t> recoveries_served_{0};
  CacheBudget budget_;
  PeerQuota quota_;
  PendingBytes pending_;
  StepBatcher compute_;
  EarlyPushes early_pushes_;

  Mutex sessions_mutex_;
  std::map<std::string, Entry> sessions_ BRIGADE_GUARDED_BY(sessions_mutex_);
};

}  // namespace brigade
