#include "server/inference_session.h"

#include "net/step_proof.h"
#include "util/error.h"

#include <cmath>

namespace brigade {
namespace {

constexpr int kMaxBatch = 64;

}  // namespace

void validate_open(const rpc::OpenSession& open, const BlockSpan& span) {
  require(!open.session_id().empty() && open.session_id().size() <= 128,
          "session id must have 1 to 128 bytes, got {}", open.session_id().size());
  require(open.start() >= span.start() && open.start() < open.end() && open.end() <= span.end(),
          "session {}: blocks [{}, {}) are not inside the served span [{}, {})", open.session_id(),
          open.start(), open.end(), span.start(), span.end());
  require(open.batch() >= 1 && open.batch() <= kMaxBatch, "session {}: batch {} is not in 1..{}",
          open.session_id(), open.batch(), kMaxBatch);
  require(open.max_length() >= 1 && open.max_length() <= span.config().max_position_embeddings,
          "session {}: max length {} is not in 1..{}", open.session_id(), open.max_length(),
          span.config().max_position_embeddings);
  require(rpc::WireDType_IsValid(open.dtype()), "session {}: unknown wire dtype {}",
          open.session_id(), static_cast<int>(open.dtype()));
}

InferenceSession::InferenceSession(const rpc::OpenSession& open, const BlockSpan& span,
                                   const Identity& identity, std::mutex& compute_mutex,
                                   std::unique_ptr<CacheReservation> reservation)
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
      cache_(std::max(0, end_ - start_), std::max(1, batch_), span.config().num_key_value_heads,
             span.config().head_dim, std::max(1, max_length_)),
      last_active_(std::chrono::steady_clock::now()) {}

size_t InferenceSession::max_step_bytes() const {
  return static_cast<size_t>(batch_) * max_length_ * span_.config().hidden_size *
         wire_dtype_size(dtype_);
}

void InferenceSession::validate(const StepInput& input) const {
  require(input.step_id == next_step_, "session {}: step {} arrived, expected step {}", id_,
          input.step_id, next_step_);
  require(input.position >= 0 && input.position <= cache_.length(),
          "session {}: step {} starts at position {}, the session holds {} tokens", id_,
          input.step_id, input.position, cache_.length());
  const auto& shape = input.hidden.shape;
  require(shape.size() == 3, "session {}: step {} hidden states have {} dimensions, expected 3", id_,
          input.step_id, shape.size());
  require(shape[0] == batch_, "session {}: step {} has batch {}, the session was opened with {}",
          id_, input.step_id, shape[0], batch_);
  require(shape[2] == span_.config().hidden_size,
          "session {}: step {} has hidden size {}, the model has {}", id_, input.step_id, shape[2],
          span_.config().hidden_size);
  require(shape[1] >= 1 && input.position + shape[1] <= max_length_,
          "session {}: step {} of {} tokens at position {} passes the max length {}", id_,
          input.step_id, shape[1], input.position, max_length_);
  require(input.hidden.dtype == dtype_, "session {}: step {} has dtype {}, the session uses {}", id_,
          input.step_id, wire_dtype_name(input.hidden.dtype), wire_dtype_name(dtype_));
}

StepOutcome InferenceSession::run_step(const StepInput& input) {
  std::lock_guard lock(mutex_);
  validate(input);
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
  ++next_step_;
  last_active_ = std::chrono::steady_clock::now();

  StepOutcome out;
  out.output = make_wire_tensor(hidden, input.hidden.shape, dtype_);
  auto& r = out.result;
  r.set_step_id(input.step_id);
  r.set_length(cache_.length());
  r.set_compute_ms(compute_ms);
  r.set_input_digest(digest(input.hidden.bytes));
  r.set_output_digest(digest(out.output.bytes));
  r.set_signature(identity_.sign(
      step_proof_message(id_, input.step_id, r.input_digest(), r.output_digest())));
  return out;
}

int InferenceSession::length() const {
  std::lock_guard lock(mutex_);
  return cache_.length();
}

std::chrono::steady_clock::time_point InferenceSession::last_active() const {
  std::lock_guard lock(mutex_);
  return last_active_;
}

}  // namespace brigade
