#pragma once
// Helpers of the end-to-end swarm tests (tests/swarm/*_test.cpp): a test
// model, a LocalSwarm of real server processes, `brigade run|generate|status`
// as child processes with their JSON (or JSON-lines) output parsed, a check
// that a route tiles the model, the servers' own Info counters over gRPC,
// and a slow link in front of a server so that the client prefers the others
// while they are healthy (a deterministic way to put a faulty server on the
// initial route and still have a replacement for it).
//
// Header-only on purpose: it needs the generated protocol headers, which only
// the component test binaries (not brigade_testlib) are built with. Names
// live in their own namespace so that they never collide with other helpers
// of brigade::test.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brigade.grpc.pb.h"
#include "common/test_util.h"
#include "net/channels.h"
#include "net/latency_proxy.h"
#include "swarm/local_swarm.h"
#include "util/subprocess.h"

namespace brigade::swarm_fixture {

// 6 blocks, hidden 64, 4 query / 2 key-value heads, vocab 256, f32.
inline MakeModelOptions model_options() {
  MakeModelOptions o = test::small_model_options();
  o.layers = 6;
  return o;
}

// `brigade args...`, run to completion with stdout and stderr captured.
inline CommandResult brigade(std::vector<std::string> args,
                             std::chrono::seconds timeout = std::chrono::seconds(120)) {
  args.insert(args.begin(), BRIGADE_BINARY);
  return run_command(args, timeout);
}

inline std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" +
         r.err;
}

// `brigade args...` fails (non-zero, nothing on stdout) and says `needle` on stderr.
inline void expect_failure(const std::vector<std::string>& args, const std::string& needle) {
  const CommandResult r = brigade(args, std::chrono::seconds(60));
  std::string command;
  for (const auto& a : args) command += a + " ";
  EXPECT_NE(r.exit_code, 0) << command << "\n" << describe(r);
  EXPECT_NE(r.err.find(needle), std::string::npos)
      << command << "\nexpected '" << needle << "' in:\n"
      << describe(r);
  EXPECT_TRUE(r.out.empty()) << command << "\n" << describe(r);
}

// Every line of `text` that is a JSON object (stdout of --jsonl).
inline std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// A prompt as the CLI takes it: {"--prompt", "text"} or {"--prompt-ids", "1,2,3"}.
struct Prompt {
  std::string flag;
  std::string value;
};

inline Prompt text_prompt(const std::string& text) { return {"--prompt", text}; }
inline Prompt id_prompt(const std::string& ids) { return {"--prompt-ids", ids}; }

// How `brigade run|generate` prints what it generated.
enum class Output {
  kJson,        // --json: one JSON object
  kJsonLogits,  // --json --dump-logits: one JSON object, with the logits
  kJsonl,       // --jsonl: one event a line, the "done" event last
};

// What `brigade run|generate --json` (or the "done" event of --jsonl) says.
struct Generation {
  std::vector<int32_t> ids;
  std::vector<int32_t> new_ids;
  std::vector<float> logits;                       // --dump-logits only
  nlohmann::json route = nlohmann::json::array();  // generate only
  nlohmann::json recoveries = nlohmann::json::array();
  std::vector<nlohmann::json> events;  // --jsonl only: every line, in order
  CommandResult raw;
};

// Throws (failing the test with the command's output) unless the command
// succeeded and printed the JSON it should.
inline Generation parse_generation(const CommandResult& r, Output output = Output::kJson) {
  if (r.exit_code != 0) throw std::runtime_error("command failed: " + describe(r));
  Generation g;
  g.raw = r;
  nlohmann::json done;
  try {
    if (output == Output::kJsonl) {
      g.events = json_lines(r.out);
      if (g.events.empty()) throw std::runtime_error("no JSON lines");
      done = g.events.back();
    } else {
      done = nlohmann::json::parse(r.out);
    }
    g.ids = done.at("ids").get<std::vector<int32_t>>();
    g.new_ids = done.at("new_ids").get<std::vector<int32_t>>();
    if (done.contains("logits")) g.logits = done["logits"].get<std::vector<float>>();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("unexpected output: ") + e.what() + "\n" + describe(r));
  }
  if (done.contains("route")) g.route = done["route"];
  if (done.contains("recoveries")) g.recoveries = done["recoveries"];
  return g;
}

// `args` (run or generate and their own flags), then the prompt, the number of new tokens, the
// output flags and `extra`.
inline std::vector<std::string> generation_args(std::vector<std::string> args, const Prompt& prompt,
                                                int max_new_tokens, Output output,
                                                const std::vector<std::string>& extra) {
  args.insert(args.end(),
              {prompt.flag, prompt.value, "--max-new-tokens", std::to_string(max_new_tokens)});
  if (output == Output::kJsonl) {
    args.push_back("--jsonl");
  } else {
    args.push_back("--json");
    if (output == Output::kJsonLogits) args.push_back("--dump-logits");
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The local reference: every block in one process (extra: e.g. sampling).
inline Generation reference_run(const std::filesystem::path& model, const Prompt& prompt,
                                int max_new_tokens, Output output = Output::kJson,
                                const std::vector<std::string>& extra = {}) {
  return parse_generation(brigade(generation_args({"run", "--model", model.string()}, prompt,
                                                  max_new_tokens, output, extra)),
                          output);
}

inline std::vector<std::string> generate_args(const std::filesystem::path& model,
                                              const std::string& dht, const Prompt& prompt,
                                              int max_new_tokens, Output output,
                                              const std::vector<std::string>& extra) {
  return generation_args({"generate", "--model", model.string(), "--initial-peers", dht}, prompt,
                         max_new_tokens, output, extra);
}

// `brigade generate` through the swarm (extra: e.g. {"--no-push"}).
inline Generation swarm_generate(const std::filesystem::path& model, const std::string& dht,
                                 const Prompt& prompt, int max_new_tokens, Output output,
                                 const std::vector<std::string>& extra = {}) {
  return parse_generation(brigade(generate_args(model, dht, prompt, max_new_tokens, output, extra)),
                          output);
}

// max|a - b| / max|b|: how far the swarm's logits `a` are from the local
// reference `b`, relative to the logits' scale.
inline double relative_deviation(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || b.empty()) return INFINITY;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(double{a[i]} - double{b[i]}));
    scale = std::max(scale, std::fabs(double{b[i]}));
  }
  return diff / scale;
}

inline std::unique_ptr<LocalSwarm> start_swarm(const std::filesystem::path& model_dir,
                                               const std::vector<ServerSpec>& servers,
                                               const std::filesystem::path& log_dir) {
  LocalSwarmOptions options;
  options.binary = BRIGADE_BINARY;
  options.model_dir = model_dir;
  options.servers = servers;
  options.log_dir = log_dir;
  return std::make_unique<LocalSwarm>(options);
}

// The server's own Info (identity, span, push counters). Throws when it
// does not answer within 5 s.
inline rpc::InfoResponse server_info(const std::string& address,
                                     Transport transport = Transport::kTls) {
  auto stub = rpc::Brigade::NewStub(dial(address, kAnyPeer, channel_arguments(), transport));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  rpc::InfoResponse info;
  const grpc::Status status = stub->Info(&context, rpc::InfoRequest(), &info);
  if (!status.ok()) {
    throw std::runtime_error("Info of " + address + " failed: " + status.error_message());
  }
  return info;
}

inline std::string peer_of(const std::string& address) { return server_info(address).peer(); }

// What `brigade status --json` says about the swarm.
inline nlohmann::json swarm_status(const std::string& dht) {
  const CommandResult r = brigade({"status", "--initial-peers", dht, "--json"});
  if (r.exit_code != 0) throw std::runtime_error("status failed: " + describe(r));
  return nlohmann::json::parse(r.out);
}

// Polls `brigade status` until `done(status)` holds or `timeout` passes;
// returns the last status seen.
template <typename Done>
nlohmann::json status_until(const std::string& dht, Done done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json last = swarm_status(dht);
  while (!done(last) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    last = swarm_status(dht);
  }
  return last;
}

// The entry of `status` for the server announced at `address`, or null.
inline nlohmann::json find_server(const nlohmann::json& status, const std::string& address) {
  for (const auto& s : status.at("servers")) {
    if (s.at("address") == address) return s;
  }
  return nullptr;
}

// `brigade status --json`'s entry for the server at `address`.
inline nlohmann::json status_entry(const std::string& dht, const std::string& address) {
  const nlohmann::json status = swarm_status(dht);
  nlohmann::json entry = find_server(status, address);
  if (entry.is_null())
    throw std::runtime_error("status does not list " + address + ":\n" + status.dump());
  return entry;
}

inline bool route_has_peer(const nlohmann::json& route, const std::string& peer) {
  for (const auto& hop : route) {
    if (hop.at("peer").get<std::string>() == peer) return true;
  }
  return false;
}

// Checks that `route` tiles blocks [first, end) hop after hop.
inline void expect_tiles(const nlohmann::json& route, int first, int end) {
  ASSERT_FALSE(route.empty());
  int expected = first;
  for (const auto& hop : route) {
    EXPECT_EQ(hop.at("start").get<int>(), expected) << route.dump();
    EXPECT_LT(hop.at("start").get<int>(), hop.at("end").get<int>()) << route.dump();
    expected = hop.at("end").get<int>();
  }
  EXPECT_EQ(expected, end) << route.dump();
}

// Checks that `route` (generate's "route" JSON) tiles [0, num_blocks)
// exactly, each hop inside the span of the swarm server it names (matched
// by address). Returns how many hops use only part of their server's span.
inline int expect_route_tiles(const nlohmann::json& route, int num_blocks, LocalSwarm& swarm,
                              const std::vector<ServerSpec>& specs) {
  expect_tiles(route, 0, num_blocks);
  int sub_spans = 0;
  for (const auto& hop : route) {
    const int start = hop.at("start").get<int>(), end = hop.at("end").get<int>();
    const std::string address = hop.at("address").get<std::string>();
    size_t index = swarm.size();
    for (size_t i = 0; i < swarm.size(); ++i) {
      if (swarm.server_address(i) == address) index = i;
    }
    EXPECT_LT(index, swarm.size()) << "route names an unknown server " << address;
    if (index >= swarm.size() || index >= specs.size()) continue;
    EXPECT_GE(start, specs[index].start) << route.dump();
    EXPECT_LE(end, specs[index].end) << route.dump();
    if (start != specs[index].start || end != specs[index].end) ++sub_spans;
  }
  return sub_spans;
}

// A link with `one_way` extra latency each way in front of a server. The
// client dials it (--connect-via) instead of the server, so it measures a
// much larger round trip to this server than to the others and routes
// through it only when nobody faster serves the blocks; servers still push
// to the server directly. The default delay is far above what a server's
// measured compute time (part of the route cost) can add on a loaded
// machine. (The route planner also weighs server-to-server
// RTT hints, but servers announce those only with --family, which these
// tests do not use.)
class SlowLink {
 public:
  SlowLink(const std::string& server_address,
           std::chrono::milliseconds one_way = std::chrono::milliseconds(60),
           LatencyProxy::Tap tap = {})
      : target_(server_address), proxy_(server_address, one_way, std::move(tap)) {}
  // ANNOUNCED=DIALLED for --connect-via.
  std::string connect_via() const { return target_ + "=" + proxy_.address(); }

 private:
  std::string target_;
  LatencyProxy proxy_;
};

inline std::vector<std::string> connect_via_args(
    const std::vector<std::unique_ptr<SlowLink>>& links) {
  std::string pairs;
  for (const auto& link : links) {
    if (!pairs.empty()) pairs += ',';
    pairs += link->connect_via();
  }
  if (pairs.empty()) return {};
  return {"--connect-via", pairs};
}

}  // namespace brigade::swarm_fixture
