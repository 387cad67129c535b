#pragma once
// A client's Step messages collected into whole steps, and the checks of
// where a session or a Forward call may run: the pieces of validation that
// the session protocol and the stateless Forward share.

#include <cstdint>
#include <string>

#include "brigade.pb.h"
#include "model/block_span.h"
#include "net/tensor_codec.h"

namespace brigade {

struct StepInput {
  int64_t step_id = 0;
  int32_t position = 0;
  WireTensor hidden;
};

// Checks an open request against the served span: a non-empty session id of
// at most limits::kMaxSessionIdBytes, the rest as validate_run.
void validate_open(const rpc::OpenSession& open, const BlockSpan& span);

// Checks a run of blocks [start, end) for `batch` sequences of up to
// `max_length` tokens at `dtype` against the served span: [start, end) inside
// it, 1 <= batch <= limits::kMaxBatch, 1 <= max_length <= the model's
// context, a known wire dtype. Errors start with `what` (the session, or
// "forward").
void validate_run(const std::string& what, int start, int end, int batch, int max_length,
                  rpc::WireDType dtype, const BlockSpan& span);

// Checks that `hidden` is [batch, tokens, hidden_size] of the model.
void validate_hidden_shape(const std::string& what, const WireTensor& hidden,
                           const BlockSpan& span);

// Collects a client's Step messages into whole steps. The first chunk of a
// step names its id and position; every later chunk must carry the same id.
// Throws Error (naming the session) on a chunk of another step and on
// anything ChunkAssembler refuses, of the kind ChunkAssembler gave. The
// chunks of an unfinished step count in `pending` (see ChunkAssembler).
class StepAssembler {
 public:
  StepAssembler(rpc::WireDType dtype, size_t max_bytes, std::string session_id,
                PendingBytes* pending = nullptr)
      : chunks_(dtype, max_bytes, pending), session_id_(std::move(session_id)) {}
  // True when `step` completed a step; take() then returns it.
  bool add(const rpc::Step& step);
  StepInput take();  // REQUIRES: add() returned true

 private:
  ChunkAssembler chunks_;
  std::string session_id_;
  StepInput input_;
};

}  // namespace brigade
