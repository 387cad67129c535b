#pragma once
// What a server signs for every step it answers: the evidence that lets a
// client tell which peer produced which output, and that the peer stands by
// everything the client acts on (pushes are signed in net/push.h). Both sides
// build the signed bytes with this function, so they cannot drift apart.

#include <cstdint>
#include <span>
#include <string>

#include "brigade.pb.h"

namespace brigade {

// Signed by a server in every StepResult: the client's session id, the step,
// the input and output digests, the output's shape and dtype, and the blame
// fields (corrected, bad_push_peer, from_push). `result`'s hidden and
// signature are not read.
std::string step_proof_message(const std::string& session_id, const rpc::StepResult& result,
                               std::span<const int64_t> shape, rpc::WireDType dtype);

}  // namespace brigade
