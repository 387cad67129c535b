#include "server/hosted_session.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "net/limits.h"
#include "net/step_proof.h"
#include "util/error.h"

namespace brigade {

HostedSession::HostedSession(const rpc::OpenSession& open, const BlockSpan& span,
                             const Identity& identity, StepBatcher& compute,
                             std::unique_ptr<CacheReservation> reservation, PushCounters& counters,
                             PushSink& pushes)
    : id_(open.session_id()),
      span_(span),
      identity_(identity),
      compute_(compute),
      start_(open.start()),
      end_(open.end()),
      batch_(open.batch()),
      max_length_(open.max_length()),
      dtype_(open.dtype()),
      reservation_(std::move(reservation)),
      counters_(counters),
      pushes_(pushes),
      cache_(end_ - start_, batch_, span.config().num_key_value_heads, span.config().head_dim,
             max_length_),
      last_active_(std::chrono::steady_clock::now()) {}

size_t HostedSession::max_step_bytes() const {
  return static_cast<size_t>(batch_) * max_length_ * span_.config().hidden_size *
         wire_dtype_size(dtype_);
}

void HostedSession::attach(Deliver deliver) {
  MutexLock lock(mutex_);
  deliver_ = std::move(deliver);
}

void HostedSession::detach() {
  MutexLock lock(mutex_);
  detached_ = true;
  deliver_ = nullptr;
}

void HostedSession::update_route(std::vector<rpc::Hop> next, std::string upstream_peer) {
  MutexLock lock(mutex_);
  next_ = std::move(next);
  upstream_ = std::move(upstream_peer);
}

void HostedSession::validate(const StepInput& input, Copy copy) const {
  // The client's copy may skip ids ahead (a replay runs several past steps as
  // one, under the id of the last), but not past a pushed step it has yet to
  // confirm; a push never skips.
  const bool skip_allowed = copy == Copy::kClient && unconfirmed_.empty();
  require(input.step_id == next_step_ || (skip_allowed && input.step_id > next_step_),
          "session {}: step {} arrived, expected step {}", id_, input.step_id, next_step_);
  require(input.position >= 0 && input.position <= cache_.length(),
          "session {}: step {} starts at position {}, the session holds {} tokens", id_,
          input.step_id, input.position, cache_.length());
  validate_hidden_shape(fmt::format("session {}: step {}", id_, input.step_id), input.hidden,
                        span_);
  const auto& shape = input.hidden.shape;
  require(shape[0] == batch_, "session {}: step {} has batch {}, the session was opened with {}",
          id_, input.step_id, shape[0], batch_);
  require(shape[1] >= 1 && input.position + shape[1] <= max_length_,
          "session {}: step {} of {} tokens at position {} passes the max length {}", id_,
          input.step_id, shape[1], input.position, max_length_);
  require(input.hidden.dtype == dtype_, "session {}: step {} has dtype {}, the session uses {}",
          id_, input.step_id, wire_dtype_name(input.hidden.dtype), wire_dtype_name(dtype_));
}

WireTensor run_blocks(const BlockSpan& span, int start, int end, const WireTensor& input,
                      int32_t position, KvCache& cache, StepBatcher& compute,
                      const std::string& what, double* compute_ms) {
  std::vector<float> hidden = input.values();
  for (float v : hidden) require(std::isfinite(v), "{}: hidden states hold NaN or Inf", what);
  const auto began = std::chrono::steady_clock::now();
  compute.forward_range(span, start, end, hidden, static_cast<int>(input.shape[0]),
                        static_cast<int>(input.shape[1]), position, cache);
  *compute_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
  return make_wire_tensor(hidden, input.shape, input.dtype);
}

StepOutcome HostedSession::compute(const StepInput& input, bool from_push) {
  double compute_ms = 0;
  StepOutcome out;
  touch();
  out.output = run_blocks(span_, start_, end_, input.hidden, input.position, cache_, compute_,
                          fmt::format("session {}: step {}", id_, input.step_id), &compute_ms);
  next_step_ = input.step_id + 1;
  touch();

  auto& r = out.result;
  r.set_step_id(input.step_id);
  r.set_length(cache_.length());
  r.set_compute_ms(compute_ms);
  r.set_input_digest(digest(input.hidden.bytes));
  r.set_output_digest(digest(out.output.bytes));
  r.set_from_push(from_push);
  return out;
}

void HostedSession::deliver_and_push(StepOutcome outcome, int32_t position) {
  // Signed last, over every field the client acts on (corrected included).
  outcome.result.set_signature(identity_.sign(
      step_proof_message(id_, outcome.result, outcome.output.shape, outcome.output.dtype)));
  if (deliver_) deliver_(outcome);
  const int64_t step = outcome.result.step_id();
  // One push per step at most, never for a recomputed step, and only what
  // fits in one message: the client's own copy covers everything else.
  if (!next_.empty() && step > last_pushed_ &&
      outcome.output.bytes.size() <= limits::kMaxMessageBytes / 2) {
    last_pushed_ = step;
    pushes_.push(next_.front(), step, position, outcome.output);
  }
}

void HostedSession::on_client_step(const StepInput& input) {
  MutexLock lock(mutex_);
  // Steps computed from pushes and now confirmed or contradicted by the
  // client's copy.
  if (!unconfirmed_.empty() && input.step_id < next_step_) {
    require(input.step_id == unconfirmed_.front().step_id,
            "session {}: client copy of step {} arrived, expected step {}", id_, input.step_id,
            unconfirmed_.front().step_id);
    const UsedPush used = unconfirmed_.front();
    if (digest(input.hidden.bytes) == used.input_digest && input.position == used.position) {
      unconfirmed_.pop_front();
      return;
    }
    // The pushed copy was false: forget it and everything computed after it.
    spdlog::warn("session {}: the push of step {} from {} differs from the client's copy", id_,
                 input.step_id, used.pusher.substr(0, 12));
    ++counters_.mismatched;
    distrusted_.insert(used.pusher);
    unconfirmed_.clear();
    waiting_pushes_.clear();
    next_step_ = input.step_id;
    validate(input, Copy::kClient);
    StepOutcome outcome = compute(input, false);
    outcome.result.set_corrected(true);
    outcome.result.set_bad_push_peer(used.pusher);
    deliver_and_push(outcome, input.position);
    return;
  }
  validate(input, Copy::kClient);
  const StepOutcome outcome = compute(input, false);
  deliver_and_push(outcome, input.position);
  run_waiting_pushes();
}

PushVerdict HostedSession::on_push(const StepInput& input, const std::string& sender_peer,
                                   std::string* why) {
  MutexLock lock(mutex_);
  auto drop = [&](const std::string& reason) {
    *why = reason;
    return PushVerdict::kDropped;
  };
  if (detached_) return drop("session closed");
  if (upstream_.empty() || sender_peer != upstream_) {
    return drop("sender is not the upstream the client named");
  }
  if (distrusted_.count(sender_peer)) return drop("sender pushed false data before");
  if (input.step_id < next_step_) {
    *why = "step already computed";
    return PushVerdict::kLate;
  }
  if (input.step_id > next_step_) {
    if (waiting_pushes_.size() >= limits::kMaxWaitingPushes ||
        waiting_pushes_.count(input.step_id)) {
      return drop("too many pushes ahead of the session");
    }
    waiting_pushes_.emplace(input.step_id, std::make_pair(input, sender_peer));
    return PushVerdict::kAccepted;
  }
  try {
    run_pushed(input, sender_peer);
    run_waiting_pushes();
  } catch (const Error& e) {
    return drop(e.what());
  }
  return PushVerdict::kAccepted;
}

void HostedSession::run_pushed(const StepInput& input, const std::string& pusher) {
  validate(input, Copy::kPush);
  const StepOutcome outcome = compute(input, true);
  unconfirmed_.push_back({input.step_id, input.position, outcome.result.input_digest(), pusher});
  deliver_and_push(outcome, input.position);
}

void HostedSession::run_waiting_pushes() {
  while (!waiting_pushes_.empty()) {
    auto it = waiting_pushes_.begin();
    if (it->first < next_step_) {
      waiting_pushes_.erase(it);
      ++counters_.late;
      continue;
    }
    if (it->first > next_step_) return;
    auto [input, pusher] = std::move(it->second);
    waiting_pushes_.erase(it);
    try {
      run_pushed(input, pusher);
    } catch (const Error& e) {
      spdlog::info("session {}: dropping a waiting push: {}", id_, e.what());
      ++counters_.dropped;
    }
  }
}

std::chrono::steady_clock::time_point HostedSession::last_active() const {
  return last_active_.load();
}

}  // namespace brigade
