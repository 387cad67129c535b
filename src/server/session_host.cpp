#include "server/session_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "net/limits.h"
#include "net/push.h"
#include "util/error.h"
#include "util/version.h"

namespace brigade {
namespace {

PeerLimits peer_limits(const ServerOptions& options) {
  PeerLimits limits;
  limits.max_streams = options.max_streams;
  limits.max_streams_per_peer = options.max_streams_per_peer;
  limits.max_sessions_per_peer = options.max_sessions_per_peer;
  limits.max_cache_tokens_per_peer =
      static_cast<int64_t>(static_cast<double>(options.cache_tokens) * options.peer_cache_share);
  return limits;
}

}  // namespace

SessionHost::SessionHost(const ServedModel& served, const ServerOptions& options,
                         PushCounters& counters, PushSink& pushes)
    : served_(served),
      options_(options),
      counters_(counters),
      pushes_(pushes),
      budget_(options.cache_tokens, options.max_waiting_opens),
      quota_(peer_limits(options)),
      pending_(options.max_pending_bytes, options.open_timeout),
      compute_(options.max_batch_tokens, options.compute_chunk_tokens, options.batch_gather) {}

// --- sessions -----------------------------------------------------------------

SessionHost::Stream::Stream(SessionHost& host, std::shared_ptr<HostedSession> session,
                            PeerQuota::Claim claim)
    : host_(host),
      claim_(std::move(claim)),
      session_(std::move(session)),
      steps_(session_->dtype(), session_->max_step_bytes(), session_->id(), &host.pending_) {}

SessionHost::Stream::~Stream() {
  session_->detach();
  host_.close(session_->id());
}

rpc::SessionOpened SessionHost::Stream::opened() const {
  rpc::SessionOpened opened;
  opened.set_peer(host_.served_.identity.peer_id());
  opened.set_cache_tokens_left(static_cast<int32_t>(host_.budget_.left()));
  return opened;
}

void SessionHost::Stream::on_request(const rpc::InferenceRequest& request) {
  session_->touch();
  if (request.has_route()) {
    const auto& route = request.route();
    session_->update_route({route.next().begin(), route.next().end()}, route.upstream_peer());
    // Pushes that came before the route was known can be judged now.
    for (auto& early : host_.early_pushes_.take(id())) {
      std::string why;
      host_.count(session_->on_push(early.input, early.sender_peer, &why));
    }
    return;
  }
  require(request.has_step(), "session {}: expected a step or a route, got {}", id(),
          request.has_open() ? "another open" : "an empty request");
  if (!steps_.add(request.step())) return;
  StepInput input = steps_.take();
  if (!std::exchange(stepped_, true) && input.step_id > 0) ++host_.recoveries_served_;
  session_->on_client_step(std::move(input));
}

std::unique_ptr<SessionHost::Stream> SessionHost::open(const std::string& peer,
                                                       const rpc::InferenceRequest& first,
                                                       HostedSession::Deliver deliver,
                                                       std::function<void()> cancel) {
  try {
    return open_session(peer, first, std::move(deliver), std::move(cancel));
  } catch (const Error&) {
    ++sessions_refused_;
    throw;
  }
}

std::unique_ptr<SessionHost::Stream> SessionHost::open_session(const std::string& peer,
                                                               const rpc::InferenceRequest& first,
                                                               HostedSession::Deliver deliver,
                                                               std::function<void()> cancel) {
  require(first.has_open(), "the first message of a session must open it");
  const rpc::OpenSession& open = first.open();
  validate_open(open, served_.span);
  const int64_t tokens = int64_t{open.batch()} * open.max_length();
  // More than the whole cache is refused as such, before any client's share.
  budget_.require_fits(tokens);
  PeerQuota::Claim claim = quota_.session(peer, tokens);
  reserve_cache(tokens);
  auto session = std::make_shared<HostedSession>(
      open, served_.span, served_.identity, compute_,
      std::make_unique<CacheReservation>(budget_, tokens), counters_, pushes_);
  {
    MutexLock lock(sessions_mutex_);
    require(sessions_.count(open.session_id()) == 0, "session {} is already open",
            open.session_id());
    sessions_[open.session_id()] = {session, std::move(cancel), tokens};
  }
  // No result can be due yet: steps and routed pushes come after the open.
  session->attach(std::move(deliver));
  return std::unique_ptr<Stream>(new Stream(*this, std::move(session), std::move(claim)));
}

PeerQuota::Claim SessionHost::admit_stream(const std::string& peer) { return quota_.stream(peer); }

void SessionHost::reserve_cache(int64_t tokens) {
  budget_.acquire(tokens, options_.alloc_wait, [this] { relieve_cache_pressure(); });
}

void SessionHost::relieve_cache_pressure() {
  int64_t lacking = budget_.shortfall();
  if (lacking <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  MutexLock lock(sessions_mutex_);
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> idle;
  for (const auto& [id, entry] : sessions_) {
    if (entry.evicted) {
      lacking -= entry.cache_tokens;  // on its way back
    } else if (now - entry.session->last_active() > options_.idle_under_pressure) {
      idle.emplace_back(entry.session->last_active(), id);
    }
  }
  std::sort(idle.begin(), idle.end());
  for (const auto& [last_active, id] : idle) {
    if (lacking <= 0) break;
    Entry& entry = sessions_.at(id);
    spdlog::info("session {} idle for {} ms while opens wait for cache: closing it", id,
                 std::chrono::duration_cast<std::chrono::milliseconds>(now - last_active).count());
    entry.evicted = true;
    entry.cancel();
    lacking -= entry.cache_tokens;
  }
}

void SessionHost::close(const std::string& id) {
  MutexLock lock(sessions_mutex_);
  sessions_.erase(id);
}

std::shared_ptr<HostedSession> SessionHost::find(const std::string& id) {
  MutexLock lock(sessions_mutex_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.session;
}

void SessionHost::expire_idle() {
  relieve_cache_pressure();
  const auto now = std::chrono::steady_clock::now();
  MutexLock lock(sessions_mutex_);
  for (auto& [id, entry] : sessions_) {
    if (now - entry.session->last_active() > options_.session_timeout) {
      spdlog::info("session {} idle for over {} s: closing it", id,
                   options_.session_timeout.count());
      entry.cancel();
    }
  }
}

void SessionHost::cancel_all() {
  MutexLock lock(sessions_mutex_);
  for (auto& [id, entry] : sessions_) entry.cancel();
}

// --- pushes -------------------------------------------------------------------

void SessionHost::count(PushVerdict verdict) {
  switch (verdict) {
    case PushVerdict::kAccepted:
      ++counters_.accepted;
      break;
    case PushVerdict::kLate:
      ++counters_.late;
      break;
    case PushVerdict::kDropped:
      ++counters_.dropped;
      break;
  }
}

rpc::PushResponse SessionHost::push(const rpc::PushRequest& request) {
  rpc::PushResponse response;
  auto refuse = [&](const std::string& reason) {
    ++counters_.dropped;
    response.set_accepted(false);
    response.set_reason(reason);
    return response;
  };
  StepInput input;
  input.step_id = request.step_id();
  input.position = request.position();
  try {
    input.hidden = verify_push(request);
  } catch (const Error& e) {
    return refuse(e.what());
  }
  auto session = find(request.session_id());
  if (!session) {
    if (request.session_id().empty() || request.session_id().size() > limits::kMaxSessionIdBytes ||
        !early_pushes_.add(request.session_id(), {std::move(input), request.sender_peer(),
                                                  std::chrono::steady_clock::now()})) {
      return refuse("unknown session");
    }
    response.set_accepted(true);
    response.set_reason("held until the session is ready");
    return response;
  }
  std::string why;
  const PushVerdict verdict = session->on_push(input, request.sender_peer(), &why);
  count(verdict);
  response.set_accepted(verdict == PushVerdict::kAccepted);
  response.set_reason(why);
  return response;
}

// --- stateless calls ------------------------------------------------------------

std::unique_ptr<ChunkAssembler> SessionHost::forward_assembler(rpc::WireDType dtype) {
  // Batch and length come from the tensor; the budget bounds them.
  const size_t max_bytes =
      static_cast<size_t>(budget_.capacity()) * served_.span.config().hidden_size * 4;
  return std::make_unique<ChunkAssembler>(dtype, max_bytes, &pending_);
}

int64_t SessionHost::cache_tokens_for_a_client() const {
  return std::min(budget_.left(), quota_.limits().max_cache_tokens_per_peer);
}

ForwardResult SessionHost::forward(const std::string& peer, int start, int end,
                                   const WireTensor& hidden) {
  const BlockSpan& span = served_.span;
  validate_hidden_shape("forward", hidden, span);
  const int batch = static_cast<int>(hidden.shape[0]);
  const int tokens = static_cast<int>(hidden.shape[1]);
  validate_run("forward", start, end, batch, tokens, hidden.dtype, span);
  const int64_t cache_tokens = int64_t{batch} * tokens;
  const PeerQuota::Claim claim = quota_.session(peer, cache_tokens);
  reserve_cache(cache_tokens);
  const CacheReservation reservation(budget_, cache_tokens);
  KvCache cache(end - start, batch, span.config().num_key_value_heads, span.config().head_dim,
                tokens);
  ForwardResult result;
  result.output =
      run_blocks(span, start, end, hidden, 0, cache, compute_, "forward", &result.compute_ms);
  return result;
}

ServerMetrics SessionHost::metrics() {
  ServerMetrics m;
  info(&m.info);
  m.cache_tokens = options_.cache_tokens;
  const StepBatcher::Stats compute = compute_.stats();
  m.steps = compute.steps;
  m.tokens = compute.tokens;
  m.step_latency = compute.step_latency;
  m.sessions_refused = sessions_refused_;
  m.recoveries_served = recoveries_served_;
  return m;
}

void SessionHost::info(rpc::InfoResponse* out) {
  out->set_model(served_.model_id);
  out->set_peer(served_.identity.peer_id());
  out->set_public_key(to_hex(served_.identity.public_key()));
  out->set_start(served_.span.start());
  out->set_end(served_.span.end());
  out->set_version(kVersion);
  out->set_cache_tokens_left(budget_.left());
  out->set_compute_ms_per_block(served_.compute_ms_per_block);
  out->set_family(options_.family);
  out->set_name(options_.name);
  counters_.fill(out->mutable_push());
  MutexLock lock(sessions_mutex_);
  out->set_sessions(static_cast<int32_t>(sessions_.size()));
}

}  // namespace brigade
