#include "net/step_proof.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace brigade {

// Fields are length-prefixed or fixed so that no two field lists serialise
// alike.
std::string step_proof_message(const std::string& session_id, const rpc::StepResult& result,
                               std::span<const int64_t> shape, rpc::WireDType dtype) {
  return fmt::format("brigade-step-v2\n{}:{}\n{}\n{}:{}{}:{}\n[{}]\n{}\n{}\n{}:{}\n{}",
                     session_id.size(), session_id, result.step_id(), result.input_digest().size(),
                     result.input_digest(), result.output_digest().size(), result.output_digest(),
                     fmt::join(shape, ","), static_cast<int>(dtype), result.corrected() ? 1 : 0,
                     result.bad_push_peer().size(), result.bad_push_peer(),
                     result.from_push() ? 1 : 0);
}

}  // namespace brigade
