#pragma once
// One client's inference session on this server: its KV cache over the
// session's blocks, the step counter, and the validation of every step
// against what the session was opened with. Steps run strictly in order.

#include "model/block_span.h"
#include "net/identity.h"
#include "net/tensor_codec.h"
#include "server/cache_budget.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace brigade {

struct StepInput {
  int64_t step_id = 0;
  int32_t position = 0;
  WireTensor hidden;
  std::vector<rpc::Hop> next;  // push: next hop, then the rest of the route
  std::string upstream_peer;   // push: who may push this step's input
};

struct StepOutcome {
  rpc::StepResult result;  // everything but the hidden chunks
  WireTensor output;
};

// Checks an open request against the served span: a non-empty session id of
// at most 128 bytes, [start, end) inside the span, 1 <= batch <= 64,
// 1 <= max_length <= max_position_embeddings, a known wire dtype.
void validate_open(const rpc::OpenSession& open, const BlockSpan& span);

class InferenceSession {
 public:
  // REQUIRES: validate_open(open, span) passed.
  InferenceSession(const rpc::OpenSession& open, const BlockSpan& span, const Identity& identity,
                   std::mutex& compute_mutex, std::unique_ptr<CacheReservation> reservation);

  const std::string& id() const { return id_; }
  rpc::WireDType dtype() const { return dtype_; }
  int start() const { return start_; }
  int end() const { return end_; }
  // The most bytes one step's hidden states may take on the wire.
  size_t max_step_bytes() const;

  // Checks the step (order, position, shape, finiteness) and runs it.
  // Throws Error with the session id and the offending field.
  StepOutcome run_step(const StepInput& input);

  int length() const;
  std::chrono::steady_clock::time_point last_active() const;

 private:
  void validate(const StepInput& input) const;

  const std::string id_;
  const BlockSpan& span_;
  const Identity& identity_;
  std::mutex& compute_mutex_;
  const int start_, end_, batch_, max_length_;
  const rpc::WireDType dtype_;
  std::unique_ptr<CacheReservation> reservation_;

  mutable std::mutex mutex_;
  KvCache cache_;
  int64_t next_step_ = 0;
  std::chrono::steady_clock::time_point last_active_;
};

}  // namespace brigade
