#include "server/inference_session.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "net/limits.h"
#include "net/step_proof.h"
#include "util/error.h"

namespace brigade {
void validate_open(const rpc::OpenSession& open, const BlockSpan& span) {
  require(!open.session_id().empty() && open.session_id().size() <= limits::kMaxSessionIdBytes,
          "session id must have 1 to {} bytes, got {}", limits::kMaxSessionIdBytes,
          open.session_id().size());
  require(open.start() >= span.start() && open.start() < open.end() && open.end() <= span.end(),
          "session {}: blocks [{}, {}) are not inside the served span [{}, {})", open.session_id(),
          open.start(), open.end(), span.start(), span.end());
  require(open.batch() >= 1 && open.batch() <= limits::kMaxBatch,
          "session {}: batch {} is not in 1..{}", open.session_id(), open.batch(),
          limits::kMaxBatch);
  span.config().require_context(open.max_length(),
                                fmt::format("session {}: max length", open.session_id()));
  require(rpc::WireDType_IsValid(open.dtype()), "session {}: unknown wire dtype {}",
          open.session_id(), static_cast<int>(open.dtype()));
}

bool StepAssembler::add(const rpc::Step& step) {
  if (step.hidden().chunk_index() == 0) {
    input_.step_id = step.step_id();
    input_.position = step.position();
  } else {
    require(step.step_id() == input_.step_id, "session {}: chunk of step {} inside step {}",
            session_id_, step.step_id(), input_.step_id);
  }
  try {
    if (!chunks_.add(step.hidden())) return false;
  } catch (const Error& e) {
    fail("session {}: step {}: {}", session_id_, input_.step_id, e.what());
  }
  input_.hidden = chunks_.take();
  return true;
}

StepInput StepAssembler::take() { return std::move(input_); }

InferenceSession::InferenceSession(const rpc::OpenSession& open, const BlockSpan& span,
                                   const Identity& identity, std::mutex& compute_mutex,
                                   std::unique_ptr<CacheReservation> reservation,
                                   PushCounters* counters, PushSender* sender,
                                   FaultInjector* faults)
    : id_(open.session_id()),
      span_(span),
      identity_(identity),
      compute_mutex_(compute_mutex),
      start_(open.start()),
      end_(open.end()),
      batch_(open.batch()),
      max_length_(open.max_length()),
      dtype_(open.dtype()),
      reservation_(std::move(reservation)),
      counters_(counters),
      sender_(sender),
      faults_(faults),
      cache_(end_ - start_, batch_, span.config().num_key_value_heads, span.config().head_dim,
             max_length_),
      last_active_(std::chrono::steady_clock::now()) {}

size_t InferenceSession::max_step_bytes() const {
  return static_cast<size_t>(batch_) * max_length_ * span_.config().hidden_size *
         wire_dtype_size(dtype_);
}

void InferenceSession::attach(Deliver deliver) {
  std::lock_guard lock(mutex_);
  deliver_ = std::move(deliver);
}

void InferenceSession::detach() {
  std::lock_guard lock(mutex_);
  detached_ = true;
  deliver_ = nullptr;
}

void InferenceSession::update_route(std::vector<rpc::Hop> next, std::string upstream_peer) {
  std::lock_guard lock(mutex_);
  next_ = std::move(next);
  upstream_ = std::move(upstream_peer);
}

void InferenceSession::validate(const StepInput& input) const {
  require(input.step_id == next_step_, "session {}: step {} arrived, expected step {}", id_,
          input.step_id, next_step_);
  require(input.position >= 0 && input.position <= cache_.length(),
          "session {}: step {} starts at position {}, the session holds {} tokens", id_,
          input.step_id, input.position, cache_.length());
  const auto& shape = input.hidden.shape;
  require(shape.size() == 3, "session {}: step {} hidden states have {} dimensions, expected 3",
          id_, input.step_id, shape.size());
  require(shape[0] == batch_, "session {}: step {} has batch {}, the session was opened with {}",
          id_, input.step_id, shape[0], batch_);
  require(shape[2] == span_.config().hidden_size,
          "session {}: step {} has hidden size {}, the model has {}", id_, input.step_id, shape[2],
          span_.config().hidden_size);
  require(shape[1] >= 1 && input.position + shape[1] <= max_length_,
          "session {}: step {} of {} tokens at position {} passes the max length {}", id_,
          input.step_id, shape[1], input.position, max_length_);
  require(input.hidden.dtype == dtype_, "session {}: step {} has dtype {}, the session uses {}",
          id_, input.step_id, wire_dtype_name(input.hidden.dtype), wire_dtype_name(dtype_));
}

StepOutcome InferenceSession::compute(const StepInput& input, bool from_push) {
  std::vector<float> hidden = input.hidden.values();
  for (float v : hidden) {
    require(std::isfinite(v), "session {}: step {} hidden states hold NaN or Inf", id_,
            input.step_id);
  }
  const int tokens = static_cast<int>(input.hidden.shape[1]);
  const auto began = std::chrono::steady_clock::now();
  {
    std::lock_guard compute(compute_mutex_);
    span_.forward_range(start_, end_, hidden, batch_, tokens, input.position, cache_);
  }
  const double compute_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
  next_step_ = input.step_id + 1;
  last_active_ = std::chrono::steady_clock::now();

  StepOutcome out;
  out.output = make_wire_tensor(hidden, input.hidden.shape, dtype_);
  auto& r = out.result;
  r.set_step_id(input.step_id);
  r.set_length(cache_.length());
  r.set_compute_ms(compute_ms);
  r.set_input_digest(digest(input.hidden.bytes));
  r.set_output_digest(digest(out.output.bytes));
  r.set_from_push(from_push);
  return out;
}

void InferenceSession::deliver_and_push(StepOutcome outcome, int32_t position) {
  // Signed last, over every field the client acts on (corrected included).
  outcome.result.set_signature(identity_.sign(
      step_proof_message(id_, outcome.result, outcome.output.shape, outcome.output.dtype)));
  if (faults_) faults_->before_answer();
  if (deliver_) {
    if (faults_ && faults_->corrupt_outputs()) {
      StepOutcome bad = outcome;
      bad.output.bytes[0] ^= 0x40;  // no longer matches the signed digest
      deliver_(bad);
    } else {
      deliver_(outcome);
    }
  }
  const int64_t step = outcome.result.step_id();
  // One push per step at most, never for a recomputed step, and only what
  // fits in one message: the client's own copy covers everything else.
  if (sender_ && !next_.empty() && step > last_pushed_ &&
      outcome.output.bytes.size() <= limits::kMaxMessageBytes / 2) {
    last_pushed_ = step;
    if (faults_ && faults_->corrupt_pushes()) {
      // Plausible but wrong: every value scaled a little, validly signed.
      WireTensor bad = outcome.output;
      std::vector<float> values = bad.values();
      for (float& v : values) v *= 1.01f;
      bad.bytes = encode_values(values, bad.dtype);
      sender_->push(next_.front(), step, position, bad);
    } else {
      sender_->push(next_.front(), step, position, outcome.output);
    }
  }
}

void InferenceSession::on_client_step(const StepInput& input) {
  std::lock_guard lock(mutex_);
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
    if (counters_) ++counters_->mismatched;
    distrusted_.insert(used.pusher);
    unconfirmed_.clear();
    waiting_pushes_.clear();
    next_step_ = input.step_id;
    validate(input);
    StepOutcome outcome = compute(input, false);
    outcome.result.set_corrected(true);
    outcome.result.set_bad_push_peer(used.pusher);
    deliver_and_push(outcome, input.position);
    return;
  }
  validate(input);
  const StepOutcome outcome = compute(input, false);
  deliver_and_push(outcome, input.position);
  run_waiting_pushes();
}

PushVerdict InferenceSession::on_push(const StepInput& input, const std::string& sender_peer,
                                      std::string* why) {
  std::lock_guard lock(mutex_);
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
    validate(input);
    const StepOutcome outcome = compute(input, true);
    unconfirmed_.push_back(
        {input.step_id, input.position, outcome.result.input_digest(), sender_peer});
    deliver_and_push(outcome, input.position);
    run_waiting_pushes();
  } catch (const Error& e) {
    return drop(e.what());
  }
  return PushVerdict::kAccepted;
}

void InferenceSession::run_waiting_pushes() {
  while (!waiting_pushes_.empty()) {
    auto it = waiting_pushes_.begin();
    if (it->first < next_step_) {
      waiting_pushes_.erase(it);
      if (counters_) ++counters_->late;
      continue;
    }
    if (it->first > next_step_) return;
    auto [input, pusher] = std::move(it->second);
    waiting_pushes_.erase(it);
    try {
      validate(input);
      const StepOutcome outcome = compute(input, true);
      unconfirmed_.push_back(
          {input.step_id, input.position, outcome.result.input_digest(), pusher});
      deliver_and_push(outcome, input.position);
    } catch (const Error& e) {
      spdlog::info("session {}: dropping a waiting push: {}", id_, e.what());
      if (counters_) ++counters_->dropped;
    }
  }
}

StepOutcome InferenceSession::run_once(const StepInput& input) {
  std::lock_guard lock(mutex_);
  validate(input);
  return compute(input, false);
}

std::chrono::steady_clock::time_point InferenceSession::last_active() const {
  return last_active_.load();
}

}  // namespace brigade
