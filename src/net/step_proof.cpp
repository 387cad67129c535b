#include "net/step_proof.h"

#include <fmt/format.h>

namespace brigade {

// Fields are length-prefixed so that no two field lists serialise alike.
std::string step_proof_message(const std::string& session_id, int64_t step_id,
                               const std::string& input_digest, const std::string& output_digest) {
  return fmt::format("brigade-step\n{}:{}\n{}\n{}:{}{}:{}", session_id.size(), session_id, step_id,
                     input_digest.size(), input_digest, output_digest.size(), output_digest);
}

std::string push_proof_message(const std::string& session_id, int64_t step_id, int32_t position,
                               const std::string& data_digest) {
  return fmt::format("brigade-push\n{}:{}\n{}\n{}\n{}:{}", session_id.size(), session_id, step_id,
                     position, data_digest.size(), data_digest);
}

}  // namespace brigade
