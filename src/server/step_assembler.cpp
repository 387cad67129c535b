#include "server/step_assembler.h"

#include "net/limits.h"
#include "util/error.h"

namespace brigade {

void validate_open(const rpc::OpenSession& open, const BlockSpan& span) {
  require(!open.session_id().empty() && open.session_id().size() <= limits::kMaxSessionIdBytes,
          "session id must have 1 to {} bytes, got {}", limits::kMaxSessionIdBytes,
          open.session_id().size());
  validate_run(fmt::format("session {}", open.session_id()), open.start(), open.end(), open.batch(),
               open.max_length(), open.dtype(), span);
}

void validate_run(const std::string& what, int start, int end, int batch, int max_length,
                  rpc::WireDType dtype, const BlockSpan& span) {
  require(start >= span.start() && start < end && end <= span.end(),
          "{}: blocks [{}, {}) are not inside the served span [{}, {})", what, start, end,
          span.start(), span.end());
  require(batch >= 1 && batch <= limits::kMaxBatch, "{}: batch {} is not in 1..{}", what, batch,
          limits::kMaxBatch);
  span.config().require_context(max_length, fmt::format("{}: max length", what));
  require(rpc::WireDType_IsValid(dtype), "{}: unknown wire dtype {}", what,
          static_cast<int>(dtype));
}

void validate_hidden_shape(const std::string& what, const WireTensor& hidden,
                           const BlockSpan& span) {
  const auto& shape = hidden.shape;
  require(shape.size() == 3, "{}: hidden states have {} dimensions, expected 3", what,
          shape.size());
  require(shape[2] == span.config().hidden_size, "{}: hidden size {}, the model has {}", what,
          shape[2], span.config().hidden_size);
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
    fail(e.kind(), "session {}: step {}: {}", session_id_, input_.step_id, e.what());
  }
  input_.hidden = chunks_.take();
  return true;
}

StepInput StepAssembler::take() { return std::move(input_); }

}  // namespace brigade
