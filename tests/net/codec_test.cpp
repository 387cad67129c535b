// The wire's building blocks: tensor encoding at every wire dtype, chunking
// and reassembly (with every way a peer can send a bad tensor), identities
// and signatures, and host:port parsing.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <random>
#include <thread>

#include "common/test_util.h"
#include "net/address.h"
#include "net/identity.h"
#include "net/limits.h"
#include "net/tensor_codec.h"
#include "util/error.h"

namespace brigade::test {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 3.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> out(n);
  for (auto& v : out) v = normal(rng);
  return out;
}

// The largest |a - b| / |b| over elements with |b| above `floor`.
double max_relative_error(const std::vector<float>& a, const std::vector<float>& b,
                          float floor = 1e-3f) {
  double worst = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (std::fabs(b[i]) < floor) continue;
    worst = std::max(worst, std::fabs(double{a[i]} - b[i]) / std::fabs(b[i]));
  }
  return worst;
}

// ---- encode / decode ----

TEST(Codec, F32RoundTripIsBitExact) {
  const auto values = random_values(1000, 1);
  const std::string bytes = encode_values(values, rpc::WIRE_F32);
  EXPECT_EQ(bytes.size(), values.size() * 4);
  EXPECT_EQ(decode_values(bytes, rpc::WIRE_F32), values);
  EXPECT_EQ(round_trip(values, rpc::WIRE_F32), values);
}

TEST(Codec, HalfPrecisionRoundTripsWithinTheirPrecision) {
  const auto values = random_values(4096, 2);
  // bf16 keeps 8 significant bits (relative error <= 2^-9 with rounding),
  // f16 keeps 11 (<= 2^-12 in its normal range, which these values are in).
  const std::pair<rpc::WireDType, double> cases[] = {{rpc::WIRE_BF16, std::ldexp(1.0, -8)},
                                                     {rpc::WIRE_F16, std::ldexp(1.0, -11)}};
  for (const auto& [dtype, bound] : cases) {
    SCOPED_TRACE(wire_dtype_name(dtype));
    const std::string bytes = encode_values(values, dtype);
    EXPECT_EQ(bytes.size(), values.size() * 2);
    EXPECT_EQ(wire_dtype_size(dtype), 2u);
    const auto back = decode_values(bytes, dtype);
    ASSERT_EQ(back.size(), values.size());
    EXPECT_LE(max_relative_error(back, values), bound);
    // A second round trip changes nothing: the values are representable.
    EXPECT_EQ(round_trip(back, dtype), back);
  }
}

TEST(Codec, ExactlyRepresentableValuesSurviveEveryDtype) {
  const std::vector<float> values = {0.0f, 1.0f, -2.5f, 0.15625f, 96.0f, -0.0078125f};
  for (auto dtype : {rpc::WIRE_F32, rpc::WIRE_BF16, rpc::WIRE_F16}) {
    EXPECT_EQ(round_trip(values, dtype), values) << wire_dtype_name(dtype);
  }
}

TEST(Codec, DecodeRejectsPartialValues) {
  EXPECT_THROW(decode_values(std::string(7, '\0'), rpc::WIRE_F32), Error);
  EXPECT_THROW(decode_values(std::string(3, '\0'), rpc::WIRE_BF16), Error);
  EXPECT_TRUE(decode_values("", rpc::WIRE_F16).empty());
}

TEST(Codec, WireDtypeNames) {
  for (auto dtype : {rpc::WIRE_F32, rpc::WIRE_BF16, rpc::WIRE_F16}) {
    EXPECT_EQ(parse_wire_dtype(wire_dtype_name(dtype)), dtype);
  }
  try {
    parse_wire_dtype("f8");
    FAIL() << "f8 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(wire_dtype_size(static_cast<rpc::WireDType>(7)), Error);
}

TEST(Codec, WireDtypesMapToDTypes) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    EXPECT_EQ(from_wire(to_wire(dtype)), dtype);
    EXPECT_STREQ(wire_dtype_name(to_wire(dtype)), dtype_short_name(dtype));
    EXPECT_EQ(wire_dtype_size(to_wire(dtype)), dtype_size(dtype));
  }
  EXPECT_EQ(to_wire(DType::BF16), rpc::WIRE_BF16);
  try {
    from_wire(static_cast<rpc::WireDType>(7));
    FAIL() << "wire dtype 7 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown wire dtype 7"), std::string::npos) << e.what();
  }
  EXPECT_STREQ(wire_dtype_name(static_cast<rpc::WireDType>(7)), "unknown");
}

TEST(Codec, WireTensorMustMatchItsShape) {
  const auto values = random_values(12, 3);
  const WireTensor t = make_wire_tensor(values, {1, 3, 4}, rpc::WIRE_F32);
  EXPECT_EQ(t.elements(), 12);
  EXPECT_EQ(t.values(), values);
  EXPECT_THROW(make_wire_tensor(values, {1, 3, 5}, rpc::WIRE_F32), Error);
}

// ---- chunks ----

// [2, 3000, 128] f32 is 3,072,000 bytes: three chunks of at most 1 MiB.
WireTensor big_tensor(rpc::WireDType dtype = rpc::WIRE_F32) {
  return make_wire_tensor(random_values(2 * 3000 * 128, 4), {2, 3000, 128}, dtype);
}

TEST(Codec, TokensJoinAndSliceRowByRow) {
  // Batch 2: each batch row of the join is its rows of the parts in order.
  const auto part = [](int tokens, float base) {
    std::vector<float> v;
    for (int b = 0; b < 2; ++b)
      for (int t = 0; t < tokens; ++t)
        for (int h = 0; h < 3; ++h) v.push_back(base + 100.f * b + 10.f * t + h);
    return make_wire_tensor(v, {2, tokens, 3}, rpc::WIRE_BF16);
  };
  const std::vector<WireTensor> parts = {part(2, 0), part(1, 1000), part(3, 2000)};
  const WireTensor joined = concat_tokens(parts);
  EXPECT_EQ(joined.shape, (std::vector<int64_t>{2, 6, 3}));
  EXPECT_EQ(joined.dtype, rpc::WIRE_BF16);
  EXPECT_EQ(slice_tokens(joined, 0, 2).bytes, parts[0].bytes);
  EXPECT_EQ(slice_tokens(joined, 2, 1).bytes, parts[1].bytes);
  EXPECT_EQ(slice_tokens(joined, 3, 3).bytes, parts[2].bytes);
  EXPECT_THROW(slice_tokens(joined, 4, 3), Error);
  EXPECT_THROW(slice_tokens(joined, 0, 0), Error);
  EXPECT_THROW(concat_tokens(std::vector<WireTensor>{}), Error);
  const WireTensor other = make_wire_tensor(std::vector<float>(6), {1, 2, 3}, rpc::WIRE_BF16);
  EXPECT_THROW(concat_tokens(std::vector<WireTensor>{parts[0], other}), Error);
}

TEST(Chunks, LargeTensorSplitsAndReassembles) {
  const WireTensor tensor = big_tensor();
  ASSERT_GT(tensor.bytes.size(), limits::kChunkBytes);
  const auto chunks = split_chunks(tensor);
  ASSERT_EQ(chunks.size(), 3u);
  size_t total = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].chunk_index(), i);
    EXPECT_EQ(chunks[i].num_chunks(), 3u);
    EXPECT_LE(chunks[i].data().size(), limits::kChunkBytes);
    EXPECT_EQ(chunks[i].shape_size(), i == 0 ? 3 : 0);  // shape rides on the first only
    total += chunks[i].data().size();
  }
  EXPECT_EQ(total, tensor.bytes.size());

  ChunkAssembler assembler(rpc::WIRE_F32, tensor.bytes.size());  // exactly enough
  EXPECT_FALSE(assembler.add(chunks[0]));
  EXPECT_FALSE(assembler.add(chunks[1]));
  EXPECT_TRUE(assembler.add(chunks[2]));
  const WireTensor back = assembler.take();
  EXPECT_EQ(back.shape, tensor.shape);
  EXPECT_EQ(back.dtype, tensor.dtype);
  EXPECT_EQ(back.bytes, tensor.bytes);

  // The assembler is ready for the next tensor after take().
  const WireTensor small = make_wire_tensor(random_values(64, 5), {1, 1, 64}, rpc::WIRE_F32);
  const auto one = split_chunks(small);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(assembler.add(one[0]));
  EXPECT_EQ(assembler.take().bytes, small.bytes);
}

TEST(Chunks, HalfPrecisionTensorReassembles) {
  const WireTensor tensor = big_tensor(rpc::WIRE_BF16);
  const auto chunks = split_chunks(tensor);
  ASSERT_EQ(chunks.size(), 2u);  // 1,536,000 bytes
  ChunkAssembler assembler(rpc::WIRE_BF16, 4 << 20);
  EXPECT_FALSE(assembler.add(chunks[0]));
  EXPECT_TRUE(assembler.add(chunks[1]));
  EXPECT_EQ(assembler.take().bytes, tensor.bytes);
}

// Expects add() to throw an Error whose message contains `needle`.
void expect_rejected(ChunkAssembler& assembler, const rpc::TensorChunk& chunk,
                     const std::string& needle) {
  try {
    assembler.add(chunk);
    ADD_FAILURE() << "chunk accepted, expected an error about '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Chunks, RejectsAnotherDtype) {
  const auto chunks = split_chunks(big_tensor(rpc::WIRE_F32));
  ChunkAssembler assembler(rpc::WIRE_BF16, 8 << 20);
  expect_rejected(assembler, chunks[0], "dtype");
}

TEST(Chunks, RejectsOutOfOrderChunks) {
  const auto chunks = split_chunks(big_tensor());
  {
    ChunkAssembler assembler(rpc::WIRE_F32, 8 << 20);
    expect_rejected(assembler, chunks[1], "chunk 1 arrived where chunk 0");
  }
  {
    ChunkAssembler assembler(rpc::WIRE_F32, 8 << 20);
    ASSERT_FALSE(assembler.add(chunks[0]));
    expect_rejected(assembler, chunks[2], "chunk 2 arrived where chunk 1");
  }
  {
    ChunkAssembler assembler(rpc::WIRE_F32, 8 << 20);
    ASSERT_FALSE(assembler.add(chunks[0]));
    expect_rejected(assembler, chunks[0], "chunk 0 arrived where chunk 1");
  }
}

TEST(Chunks, RejectsATensorLargerThanAllowed) {
  const WireTensor tensor = big_tensor();
  const auto chunks = split_chunks(tensor);
  ChunkAssembler assembler(rpc::WIRE_F32, tensor.bytes.size() - 1);
  expect_rejected(assembler, chunks[0], "larger than");

  // Huge dimensions are refused from the shape alone, before any allocation.
  rpc::TensorChunk lie;
  lie.set_dtype(rpc::WIRE_F32);
  lie.set_num_chunks(1);
  for (int64_t d : {int64_t{1} << 20, int64_t{1} << 20, int64_t{4096}}) lie.add_shape(d);
  ChunkAssembler guarded(rpc::WIRE_F32, 4 << 20);
  expect_rejected(guarded, lie, "larger than");
}

TEST(Chunks, RejectsByteCountsThatDisagreeWithTheShape) {
  const WireTensor tensor = make_wire_tensor(random_values(256, 6), {2, 2, 64}, rpc::WIRE_F32);
  {
    auto chunk = split_chunks(tensor)[0];
    chunk.mutable_data()->pop_back();
    ChunkAssembler assembler(rpc::WIRE_F32, 1 << 20);
    expect_rejected(assembler, chunk, "its shape implies");
  }
  {
    auto chunk = split_chunks(tensor)[0];
    chunk.mutable_data()->append(4, '\0');
    ChunkAssembler assembler(rpc::WIRE_F32, 1 << 20);
    expect_rejected(assembler, chunk, "exceeds");
  }
  {
    // A multi-chunk tensor whose last chunk is short.
    auto chunks = split_chunks(big_tensor());
    chunks.back().mutable_data()->resize(chunks.back().data().size() - 8);
    ChunkAssembler assembler(rpc::WIRE_F32, 8 << 20);
    ASSERT_FALSE(assembler.add(chunks[0]));
    ASSERT_FALSE(assembler.add(chunks[1]));
    expect_rejected(assembler, chunks[2], "its shape implies");
  }
}

TEST(Chunks, RejectsAChangedChunkCount) {
  auto chunks = split_chunks(big_tensor());
  chunks[1].set_num_chunks(2);
  ChunkAssembler assembler(rpc::WIRE_F32, 8 << 20);
  ASSERT_FALSE(assembler.add(chunks[0]));
  expect_rejected(assembler, chunks[1], "chunk count changed");
}

// A tensor held in the buffer of unfinished tensors must keep coming, a
// full chunk per pace: a trickle of empty chunks is refused, however often
// it sends one.
TEST(Chunks, ATensorTrickledSlowerThanThePaceIsRefused) {
  PendingBytes pending(8 << 20, std::chrono::milliseconds(50));
  const WireTensor tensor = big_tensor();
  auto chunks = split_chunks(tensor);
  const uint32_t many = 1000;
  rpc::TensorChunk first = chunks[0];
  first.set_num_chunks(many);
  first.mutable_data()->resize(64);
  ChunkAssembler trickling(rpc::WIRE_F32, 8 << 20, &pending);
  ASSERT_FALSE(trickling.add(first));
  bool refused = false;
  for (uint32_t i = 1; i < 20 && !refused; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    rpc::TensorChunk empty;
    empty.set_dtype(rpc::WIRE_F32);
    empty.set_chunk_index(i);
    empty.set_num_chunks(many);
    try {
      trickling.add(empty);
    } catch (const Error& e) {
      EXPECT_EQ(ErrorKind::kRefused, e.kind());
      EXPECT_NE(std::string(e.what()).find("slower than"), std::string::npos) << e.what();
      refused = true;
    }
  }
  EXPECT_TRUE(refused) << "200 ms of empty chunks against a 50 ms pace";

  // Full chunks, each sent at once, are never too slow.
  ChunkAssembler honest(rpc::WIRE_F32, 8 << 20, &pending);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_FALSE(honest.add(chunks[i]));
  EXPECT_TRUE(honest.add(chunks.back()));
}

TEST(Chunks, RejectsBadDimensions) {
  const auto with_shape = [](std::vector<int64_t> shape, size_t bytes) {
    rpc::TensorChunk chunk;
    chunk.set_dtype(rpc::WIRE_F32);
    chunk.set_num_chunks(1);
    for (int64_t d : shape) chunk.add_shape(d);
    chunk.set_data(std::string(bytes, '\0'));
    return chunk;
  };
  struct Case {
    std::vector<int64_t> shape;
    std::string needle;
  };
  const Case cases[] = {{{4, 64}, "2 dimensions"},
                        {{1, 1, 1, 64}, "4 dimensions"},
                        {{}, "0 dimensions"},
                        {{1, 0, 64}, "dimension 0 is out of range"},
                        {{1, -3, 64}, "dimension -3 is out of range"}};
  for (const auto& c : cases) {
    ChunkAssembler assembler(rpc::WIRE_F32, 1 << 20);
    expect_rejected(assembler, with_shape(c.shape, 256), c.needle);
  }
  rpc::TensorChunk no_chunks = with_shape({1, 1, 64}, 256);
  no_chunks.set_num_chunks(0);
  ChunkAssembler assembler(rpc::WIRE_F32, 1 << 20);
  expect_rejected(assembler, no_chunks, "0 chunks");
}

// ---- identities ----

TEST(Identity, SignAndVerify) {
  const Identity alice = Identity::generate();
  const Identity bob = Identity::generate();
  EXPECT_EQ(alice.public_key().size(), 32u);
  EXPECT_EQ(alice.peer_id().size(), 40u);  // hex of BLAKE2b-160
  EXPECT_EQ(alice.peer_id(), peer_id_of(alice.public_key()));
  EXPECT_NE(alice.peer_id(), bob.peer_id());

  const std::string sig = alice.sign("session 7 step 3");
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(verify_signature(alice.public_key(), "session 7 step 3", sig));
  EXPECT_FALSE(verify_signature(alice.public_key(), "session 7 step 4", sig));
  EXPECT_FALSE(verify_signature(bob.public_key(), "session 7 step 3", sig));
  std::string flipped = sig;
  flipped[10] ^= 1;
  EXPECT_FALSE(verify_signature(alice.public_key(), "session 7 step 3", flipped));
  // Malformed keys and signatures are a plain "no", never a crash.
  EXPECT_FALSE(verify_signature("short", "session 7 step 3", sig));
  EXPECT_FALSE(verify_signature(alice.public_key(), "session 7 step 3", sig.substr(1)));
  EXPECT_FALSE(verify_signature("", "", ""));
}

TEST(Identity, LoadOrCreatePersistsTheKey) {
  TempDir dir;
  const auto path = dir / "server.key";
  const Identity created = Identity::load_or_create(path);
  ASSERT_TRUE(std::filesystem::exists(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const Identity loaded = Identity::load_or_create(path);
  EXPECT_EQ(loaded.peer_id(), created.peer_id());
  EXPECT_EQ(loaded.public_key(), created.public_key());
  // The reloaded key signs what the original's public key verifies.
  EXPECT_TRUE(verify_signature(created.public_key(), "m", loaded.sign("m")));
}

TEST(Identity, RejectsACorruptKeyFile) {
  TempDir dir;
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return dir / name;
  };
  for (const auto& [name, text] :
       std::vector<std::pair<std::string, std::string>>{{"not-hex.key", "this is not a key\n"},
                                                        {"odd.key", "abc\n"},
                                                        {"short.key", std::string(64, 'a') + "\n"},
                                                        {"empty.key", ""}}) {
    const auto path = write(name, text);
    try {
      Identity::load_or_create(path);
      ADD_FAILURE() << name << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(Identity, HexAndDigest) {
  EXPECT_EQ(to_hex(std::string("\x00\x7f\xff", 3)), "007fff");
  EXPECT_EQ(from_hex("007FfF"), std::string("\x00\x7f\xff", 3));
  EXPECT_THROW(from_hex("abc"), Error);
  EXPECT_THROW(from_hex("zz"), Error);
  EXPECT_EQ(digest("x").size(), 32u);
  EXPECT_EQ(digest("x"), digest("x"));
  EXPECT_NE(digest("x"), digest("y"));
}

// ---- addresses ----

TEST(Address, ParsesHostPort) {
  const HostPort hp = parse_host_port("127.0.0.1:4242", "--listen");
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, 4242);
  EXPECT_EQ(hp.str(), "127.0.0.1:4242");
  EXPECT_EQ(parse_host_port("localhost:0", "--listen").port, 0);
  EXPECT_EQ(parse_host_port("h:65535", "--listen").port, 65535);
}

TEST(Address, RejectsBadHostPortNamingTheFlag) {
  for (const std::string bad :
       {"127.0.0.1", ":80", "h:", "h:70000", "h:-1", "h:12x", "h: 12", "", "h:99999999999"}) {
    try {
      parse_host_port(bad, "--initial-peers");
      ADD_FAILURE() << "'" << bad << "' accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--initial-peers"), std::string::npos) << e.what();
    }
  }
}

TEST(Address, ParsesLists) {
  const auto list = parse_host_port_list("a:1,b:2,,c:3", "--initial-peers");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[1].host, "b");
  EXPECT_EQ(list[2].port, 3);
  EXPECT_TRUE(parse_host_port_list("", "--initial-peers").empty());
  EXPECT_THROW(parse_host_port_list("a:1,b", "--initial-peers"), Error);
}

TEST(Address, FreePortsAreUsable) {
  const int tcp = free_tcp_port();
  const int udp = free_udp_port();
  EXPECT_GT(tcp, 0);
  EXPECT_LE(tcp, 65535);
  EXPECT_GT(udp, 0);
  EXPECT_LE(udp, 65535);
}

}  // namespace
}  // namespace brigade::test
