// Pushes and step results are signed over everything the receiver acts on,
// and error kinds survive the trip through gRPC status codes.

#include <gtest/gtest.h>

#include <functional>

#include "common/expect_error.h"
#include "net/push.h"
#include "net/status.h"
#include "net/step_proof.h"

namespace brigade {
namespace {

WireTensor tensor(std::vector<float> values, std::vector<int64_t> shape) {
  return make_wire_tensor(values, std::move(shape), rpc::WIRE_F32);
}

TEST(Push, AnHonestPushVerifiesAndDecodes) {
  const Identity sender = Identity::generate();
  const WireTensor t = tensor({1, 2, 3, 4}, {1, 2, 2});
  const rpc::PushRequest push = make_push(sender, "s1", 7, 3, t);
  const WireTensor got = verify_push(push);
  EXPECT_EQ(t.shape, got.shape);
  EXPECT_EQ(t.bytes, got.bytes);
}

TEST(Push, TheSignatureCoversShapeDtypeAndEveryHeaderField) {
  const Identity sender = Identity::generate();
  const rpc::PushRequest honest = make_push(sender, "s1", 7, 3, tensor({1, 2, 3, 4}, {1, 2, 2}));
  const std::vector<std::function<void(rpc::PushRequest&)>> edits = {
      [](auto& p) { p.set_session_id("s2"); },
      [](auto& p) { p.set_step_id(8); },
      [](auto& p) { p.set_position(4); },
      // Same bytes read as another shape: 1 x 1 x 4 instead of 1 x 2 x 2.
      [](auto& p) {
        p.mutable_hidden()->set_shape(1, 1);
        p.mutable_hidden()->set_shape(2, 4);
      },
      // Same bytes read as bf16.
      [](auto& p) { p.mutable_hidden()->set_dtype(rpc::WIRE_BF16); },
      [](auto& p) { p.mutable_hidden()->mutable_data()->at(0) ^= 1; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    rpc::PushRequest tampered = honest;
    edits[i](tampered);
    try {
      verify_push(tampered);
      ADD_FAILURE() << "edit " << i << " went through";
    } catch (const Error& e) {
      EXPECT_EQ(ErrorKind::kMisbehaved, e.kind()) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad push signature"), std::string::npos) << e.what();
    }
  }
}

TEST(Push, AnotherPeersKeyIsMisbehaviour) {
  rpc::PushRequest push = make_push(Identity::generate(), "s1", 0, 0, tensor({1}, {1, 1, 1}));
  push.set_sender_peer(Identity::generate().peer_id());
  test::expect_error([&] { verify_push(push); }, {"does not match its key"});
}

TEST(StepProof, CoversTheBlameFieldsAndTheShape) {
  rpc::StepResult r;
  r.set_step_id(3);
  r.set_input_digest("in");
  r.set_output_digest("out");
  const std::vector<int64_t> shape{1, 2, 2};
  const std::string base = step_proof_message("s", r, shape, rpc::WIRE_F32);
  rpc::StepResult corrected = r;
  corrected.set_corrected(true);
  rpc::StepResult blamed = r;
  blamed.set_bad_push_peer("peer");
  rpc::StepResult pushed = r;
  pushed.set_from_push(true);
  EXPECT_NE(base, step_proof_message("s", corrected, shape, rpc::WIRE_F32));
  EXPECT_NE(base, step_proof_message("s", blamed, shape, rpc::WIRE_F32));
  EXPECT_NE(base, step_proof_message("s", pushed, shape, rpc::WIRE_F32));
  EXPECT_NE(base, step_proof_message("s", r, std::vector<int64_t>{1, 1, 4}, rpc::WIRE_F32));
  EXPECT_NE(base, step_proof_message("s", r, shape, rpc::WIRE_BF16));
}

TEST(Status, EveryKindSurvivesTheWire) {
  for (ErrorKind kind : {ErrorKind::kInvalid, ErrorKind::kRefused, ErrorKind::kUnavailable,
                         ErrorKind::kMisbehaved}) {
    const grpc::Status status = to_status(Error("why", kind));
    EXPECT_FALSE(status.ok());
    EXPECT_EQ("why", status.error_message());
    EXPECT_EQ(kind, kind_of(status)) << error_kind_name(kind);
  }
  EXPECT_EQ(ErrorKind::kUnavailable,
            kind_of(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late")));
}

}  // namespace
}  // namespace brigade
