#pragma once
// A push: one server's step output handed straight to the next server of a
// route (DESIGN.md, "push"). This is the one place that builds, signs and
// verifies pushes; the sender, the receiving service, tests and fuzzers all
// go through it.
//
// The signature covers everything the receiver interprets: the receiver's
// session, the step, the position, the tensor's shape and dtype, and the
// digest of its bytes. A push is always one chunk (it is bounded by the
// message size; the client's own copy covers larger steps).

#include <cstdint>
#include <string>

#include "brigade.pb.h"
#include "net/identity.h"
#include "net/tensor_codec.h"

namespace brigade {

// The bytes a pushing server signs.
std::string push_proof_message(const std::string& session_id, int64_t step_id, int32_t position,
                               const rpc::TensorChunk& hidden);

// A push of `output` into step `step_id` at `position` of the receiver's
// session `session_id`, signed by `sender`.
rpc::PushRequest make_push(const Identity& sender, const std::string& session_id, int64_t step_id,
                           int32_t position, const WireTensor& output);

// Sets `request`'s sender to `sender` and signs what it holds, whatever that
// is (hostile-input tests sign malformed tensors with it).
void sign_push(const Identity& sender, rpc::PushRequest& request);

// Checks that the sender's id is its key's and that the signature covers the
// request, then decodes the tensor. Throws Error (kind kMisbehaved for a
// wrong key or signature, kInvalid for a malformed tensor) naming what is
// wrong.
WireTensor verify_push(const rpc::PushRequest& request);

}  // namespace brigade
