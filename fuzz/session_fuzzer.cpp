// libFuzzer target: the messages of one inference session, as a server
// receives them, through the server's own checks and compute.
//
// An input is a sequence of frames [kind: 1 byte][length: 2 bytes LE][bytes].
// kind 0 and 3: an rpc::InferenceRequest from the client (the first frame
// must be an open, as in BlockService::Inference); kind 1: an rpc::PushRequest
// from the upstream peer the client named; kind 2: one from another peer
// (both signed here, so that the bytes reach the checks behind the
// signature). Frames that do not parse end the input, like a gRPC call that
// fails to deserialize. Each message goes to the server's own protocol core,
// SessionHost (open, the stream's requests, push), over a tiny model's
// blocks; pushes it sends go to a sink that keeps them.
// An Error is a clean refusal (the server ends the call); anything else —
// a crash, a sanitizer report, an answer that breaks the session's
// invariants — is a finding.
//
// With BRIGADE_FUZZ_SEEDS=<dir> set, LLVMFuzzerInitialize first writes
// valid sessions there as seeds.

#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

#include "model/block_span.h"
#include "model/make_model.h"
#include "net/push.h"
#include "server/session_host.h"
#include "util/error.h"

namespace brigade {
namespace {

struct World {
  std::filesystem::path dir;
  std::unique_ptr<ModelConfig> config;
  std::shared_ptr<const Checkpoint> checkpoint;
  std::unique_ptr<BlockSpan> span;
  Identity server = Identity::generate();
  Identity upstream = Identity::generate();
  Identity stranger = Identity::generate();
  PushCounters counters;
  std::unique_ptr<PushSink> pushes;
  std::unique_ptr<SessionHost> host;
};

// Keeps nothing: the fuzzer never dials the addresses a route names.
class DiscardPushes final : public PushSink {
 public:
  void push(const rpc::Hop&, int64_t, int32_t, const WireTensor&) override {}
};

// Room for the largest session (64 x 64 tokens) and no more.
constexpr int64_t kCacheTokens = 64 * 64;

World* world = nullptr;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "session_fuzzer: %s\n", what);
  __builtin_trap();
}

// Checks every answer the session delivers against what it promised.
void check_outcome(const StepOutcome& outcome, const rpc::OpenSession& open, int hidden) {
  const auto& out = outcome.output;
  if (out.shape.size() != 3 || out.shape[2] != hidden) finding("answer of another shape");
  if (out.dtype != open.dtype()) finding("answer in another dtype");
  if (out.bytes.size() != static_cast<size_t>(out.elements()) * wire_dtype_size(out.dtype)) {
    finding("answer bytes disagree with its shape");
  }
  const size_t max_step_bytes = static_cast<size_t>(open.batch()) * open.max_length() * hidden *
                                wire_dtype_size(open.dtype());
  if (out.bytes.size() > max_step_bytes) finding("answer larger than a step may be");
  if (outcome.result.length() < 1 || outcome.result.length() > open.max_length()) {
    finding("session length outside 1..max_length");
  }
}

void append_frame(std::string& out, uint8_t kind, const google::protobuf::Message& message) {
  std::string bytes;
  message.SerializeToString(&bytes);
  out.push_back(static_cast<char>(kind));
  out.push_back(static_cast<char>(bytes.size() & 0xff));
  out.push_back(static_cast<char>(bytes.size() >> 8));
  out += bytes;
}

rpc::TensorChunk chunk_of(int batch, int tokens, rpc::WireDType dtype, float scale) {
  const int hidden = world->config->hidden_size;
  std::vector<float> values(static_cast<size_t>(batch) * tokens * hidden);
  for (size_t i = 0; i < values.size(); ++i) values[i] = scale * static_cast<float>(i % 13) - 0.3f;
  rpc::TensorChunk chunk;
  chunk.add_shape(batch);
  chunk.add_shape(tokens);
  chunk.add_shape(hidden);
  chunk.set_dtype(dtype);
  chunk.set_data(encode_values(values, dtype));
  chunk.set_num_chunks(1);
  return chunk;
}

rpc::InferenceRequest open_of(int batch, int max_length, rpc::WireDType dtype) {
  rpc::InferenceRequest r;
  auto* open = r.mutable_open();
  open->set_session_id("seed");
  open->set_start(0);
  open->set_end(world->config->num_hidden_layers);
  open->set_batch(batch);
  open->set_max_length(max_length);
  open->set_dtype(dtype);
  return r;
}

rpc::InferenceRequest step_of(int64_t id, int position, const rpc::TensorChunk& chunk) {
  rpc::InferenceRequest r;
  r.mutable_step()->set_step_id(id);
  r.mutable_step()->set_position(position);
  *r.mutable_step()->mutable_hidden() = chunk;
  return r;
}

rpc::PushRequest push_of(int64_t id, int position, const rpc::TensorChunk& chunk) {
  rpc::PushRequest p;
  p.set_session_id("seed");
  p.set_step_id(id);
  p.set_position(position);
  *p.mutable_hidden() = chunk;
  return p;
}

void write_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> seeds;
  for (auto dtype : {rpc::WIRE_F32, rpc::WIRE_BF16, rpc::WIRE_F16}) {
    std::string s;
    append_frame(s, 0, open_of(1, 8, dtype));
    append_frame(s, 0, step_of(0, 0, chunk_of(1, 3, dtype, 0.1f)));
    append_frame(s, 0, step_of(1, 3, chunk_of(1, 1, dtype, 0.2f)));
    append_frame(s, 0, step_of(2, 1, chunk_of(1, 2, dtype, 0.3f)));  // rollback
    seeds.push_back(s);
  }
  {  // batch 2, a step in two chunks
    std::string s;
    append_frame(s, 0, open_of(2, 4, rpc::WIRE_F32));
    rpc::TensorChunk whole = chunk_of(2, 2, rpc::WIRE_F32, 0.1f);
    rpc::TensorChunk first = whole, second;
    first.set_data(whole.data().substr(0, 100));
    first.set_num_chunks(2);
    second.set_dtype(rpc::WIRE_F32);
    second.set_chunk_index(1);
    second.set_num_chunks(2);
    second.set_data(whole.data().substr(100));
    append_frame(s, 0, step_of(0, 0, first));
    append_frame(s, 0, step_of(0, 0, second));
    seeds.push_back(s);
  }
  {  // push mode: a route, pushes ahead of and after the client's copies
    std::string s;
    append_frame(s, 0, open_of(1, 8, rpc::WIRE_F32));
    rpc::InferenceRequest route;
    route.mutable_route()->set_upstream_peer(world->upstream.peer_id());
    append_frame(s, 0, route);
    append_frame(s, 1, push_of(0, 0, chunk_of(1, 2, rpc::WIRE_F32, 0.1f)));
    append_frame(s, 1, push_of(2, 3, chunk_of(1, 1, rpc::WIRE_F32, 0.3f)));
    append_frame(s, 0, step_of(0, 0, chunk_of(1, 2, rpc::WIRE_F32, 0.1f)));
    append_frame(s, 1, push_of(1, 2, chunk_of(1, 1, rpc::WIRE_F32, 0.2f)));
    append_frame(s, 0, step_of(1, 2, chunk_of(1, 1, rpc::WIRE_F32, 0.25f)));  // differs: rollback
    append_frame(s, 2, push_of(2, 3, chunk_of(1, 1, rpc::WIRE_F32, 0.3f)));
    append_frame(s, 0, step_of(2, 3, chunk_of(1, 1, rpc::WIRE_F32, 0.3f)));
    seeds.push_back(s);
  }
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream(dir / ("seed-" + std::to_string(i)), std::ios::binary) << seeds[i];
  }
}

void remove_model_dir() {
  if (world != nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(world->dir, ignored);
  }
}

// Splits `data` into frames; false when it ends inside one.
bool next_frame(const uint8_t*& data, size_t& size, uint8_t& kind, std::string& bytes) {
  if (size < 3) return false;
  kind = data[0] % 4;
  const size_t length = data[1] | (size_t{data[2]} << 8);
  if (size - 3 < length) return false;
  bytes.assign(reinterpret_cast<const char*>(data + 3), length);
  data += 3 + length;
  size -= 3 + length;
  return true;
}

void run_session(const uint8_t* data, size_t size) {
  uint8_t kind = 0;
  std::string bytes;
  rpc::InferenceRequest request;
  if (!next_frame(data, size, kind, bytes) || kind == 1 || kind == 2) return;
  if (!request.ParseFromString(bytes) || !request.has_open()) return;
  const rpc::OpenSession open = request.open();
  const int hidden = world->config->hidden_size;
  std::unique_ptr<SessionHost::Stream> stream;
  try {
    stream = world->host->open(
        "fuzz-client", request,
        [&](const StepOutcome& outcome) { check_outcome(outcome, open, hidden); }, [] {});
  } catch (const Error&) {
    return;
  }
  try {
    while (next_frame(data, size, kind, bytes)) {
      if (kind == 1 || kind == 2) {
        rpc::PushRequest push;
        if (!push.ParseFromString(bytes)) return;
        sign_push(kind == 1 ? world->upstream : world->stranger, push);
        world->host->push(push);
        continue;
      }
      if (!request.ParseFromString(bytes)) return;
      stream->on_request(request);
    }
  } catch (const Error&) {
    // The server ends the call here with the error's status code.
  }
}

}  // namespace
}  // namespace brigade

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace brigade;
  spdlog::set_level(spdlog::level::off);
  world = new World;
  std::string pattern = (std::filesystem::temp_directory_path() / "brigade-fuzz-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) finding("cannot create a temp dir");
  world->dir = pattern;
  std::atexit(remove_model_dir);
  MakeModelOptions options;
  options.layers = 2;
  options.hidden = 16;
  options.intermediate = 32;
  options.heads = 2;
  options.kv_heads = 1;
  options.vocab = 32;
  options.max_position_embeddings = 64;
  options.tokenizer = false;
  options.seed = 7;
  make_model(options, world->dir / "model");
  world->config = std::make_unique<ModelConfig>(ModelConfig::load(world->dir / "model"));
  world->checkpoint = Checkpoint::open(world->dir / "model");
  world->span = std::make_unique<BlockSpan>(*world->config, *world->checkpoint, 0,
                                            world->config->num_hidden_layers);
  ServerOptions server_options;
  server_options.cache_tokens = kCacheTokens;
  server_options.alloc_wait = std::chrono::milliseconds(0);
  server_options.peer_cache_share = 1;  // one client: the largest session must fit
  world->pushes = std::make_unique<DiscardPushes>();
  world->host = std::make_unique<SessionHost>(ServedModel{"fuzz", *world->span, world->server, 0},
                                              server_options, world->counters, *world->pushes);
  if (const char* seeds = std::getenv("BRIGADE_FUZZ_SEEDS")) write_seeds(seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brigade::run_session(data, size);
  if (brigade::world->host->cache_tokens_left() != brigade::kCacheTokens) {
    brigade::finding("a session did not give its cache back");
  }
  return 0;
}
