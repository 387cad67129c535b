#include "net/push.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "net/limits.h"
#include "util/error.h"

namespace brigade {

// Fields are length-prefixed or fixed so that no two pushes serialise alike.
std::string push_proof_message(const std::string& session_id, int64_t step_id, int32_t position,
                               const rpc::TensorChunk& hidden) {
  const std::string data_digest = digest(hidden.data());
  return fmt::format("brigade-push-v2\n{}:{}\n{}\n{}\n[{}]\n{}\n{}\n{}:{}", session_id.size(),
                     session_id, step_id, position, fmt::join(hidden.shape(), ","),
                     static_cast<int>(hidden.dtype()), hidden.num_chunks(), data_digest.size(),
                     data_digest);
}

rpc::PushRequest make_push(const Identity& sender, const std::string& session_id, int64_t step_id,
                           int32_t position, const WireTensor& output) {
  rpc::PushRequest r;
  r.set_session_id(session_id);
  r.set_step_id(step_id);
  r.set_position(position);
  rpc::TensorChunk* hidden = r.mutable_hidden();
  for (int64_t d : output.shape) hidden->add_shape(d);
  hidden->set_dtype(output.dtype);
  hidden->set_data(output.bytes);
  hidden->set_chunk_index(0);
  hidden->set_num_chunks(1);
  sign_push(sender, r);
  return r;
}

void sign_push(const Identity& sender, rpc::PushRequest& request) {
  request.set_sender_peer(sender.peer_id());
  request.set_sender_public_key(sender.public_key());
  request.set_signature(sender.sign(push_proof_message(request.session_id(), request.step_id(),
                                                       request.position(), request.hidden())));
}

WireTensor verify_push(const rpc::PushRequest& request) {
  // The signature is checked before anything is decoded: an outsider's
  // bytes are never interpreted.
  if (request.sender_peer() != peer_id_of(request.sender_public_key()))
    fail(ErrorKind::kMisbehaved, "sender peer id does not match its key");
  if (!verify_signature(request.sender_public_key(),
                        push_proof_message(request.session_id(), request.step_id(),
                                           request.position(), request.hidden()),
                        request.signature())) {
    fail(ErrorKind::kMisbehaved, "bad push signature");
  }
  const rpc::TensorChunk& chunk = request.hidden();
  require(chunk.chunk_index() == 0 && chunk.num_chunks() == 1, "a push must be one chunk");
  ChunkAssembler assembler(chunk.dtype(), limits::kMaxMessageBytes);
  require(assembler.add(chunk), "incomplete push tensor");
  return assembler.take();
}

}  // namespace brigade
