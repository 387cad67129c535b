#pragma once
// What a server signs for every step it answers, and what a pushing server
// signs for every push: the evidence that lets a client (or the next server)
// tell which peer produced which data. Both sides build the signed bytes
// with these functions, so they cannot drift apart.

#include <cstdint>
#include <string>

namespace brigade {

// Signed by a server in every StepResult.
std::string step_proof_message(const std::string& session_id, int64_t step_id,
                               const std::string& input_digest, const std::string& output_digest);

// Signed by a server in every PushRequest.
std::string push_proof_message(const std::string& session_id, int64_t step_id, int32_t position,
                               const std::string& data_digest);

}  // namespace brigade
