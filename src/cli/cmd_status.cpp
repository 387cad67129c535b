// `brigade status`: the swarm as the DHT and the servers themselves describe it.

#include <fmt/ranges.h>

#include <iostream>
#include <map>
#include <optional>

#include "brigade.grpc.pb.h"
#include "cli/commands.h"
#include "cli/transport_flag.h"
#include "dht/swarm_directory.h"
#include "net/channels.h"
#include "util/error.h"
#include "util/log.h"
#include "util/parallel_map.h"

namespace brigade::cli {
namespace {

// Live numbers from the server itself; nullopt when it does not answer.
std::optional<rpc::InfoResponse> query_info(ChannelPool& channels, const ServerRecord& server) {
  auto stub = rpc::Brigade::NewStub(channels.channel(server.address, server.peer));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  rpc::InfoResponse info;
  if (!stub->Info(&context, rpc::InfoRequest(), &info).ok()) return std::nullopt;
  return info;
}

// The MODEL column: the name people gave the model, else the start of its id.
std::string model_label(const std::string& name, const std::string& id) {
  const std::string label = name.empty() ? id.substr(0, 12) : name;
  return label.size() > 22 ? label.substr(0, 21) + "~" : label;
}

}  // namespace

void add_status_command(CLI::App& app) {
  struct Flags {
    std::string initial_peers;
    bool json = false;
    bool plaintext = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd =
      app.add_subcommand("status", "Show the swarm: servers, spans, speed, cache, push counters");
  cmd->add_option("--initial-peers", flags->initial_peers, "DHT nodes HOST:PORT[,...]")->required();
  cmd->add_flag("--json", flags->json, R"(Print {"servers": [...], "missing_blocks": [...]})");
  add_transport_flag(cmd, flags->plaintext);
  cmd->callback([flags] {
    init_logging("status");
    const auto peers = parse_host_port_list(flags->initial_peers, "--initial-peers");
    require(!peers.empty(), "--initial-peers is empty");
    DhtNode dht(HostPort{local_ipv4_towards(peers.front().host, "--initial-peers"), 0}, peers);
    dht.require_peers(std::chrono::seconds(5));
    const auto directory = read_directory(dht);
    // The blocks of every model the swarm announces, to flag unserved ones.
    std::map<std::string, int> models;
    std::map<std::string, std::string> names;  // a name a server gave each model
    for (const auto& r : directory) {
      models[r.model] = std::max(models[r.model], r.num_blocks);
      if (!r.model_name.empty()) names[r.model] = r.model_name;
    }
    nlohmann::json missing = nlohmann::json::array();
    nlohmann::json model_list = nlohmann::json::array();
    for (const auto& [model, num_blocks] : models) {
      const SwarmView view = read_swarm(dht, model, num_blocks);
      model_list.push_back({{"model", model},
                            {"name", names[model]},
                            {"num_blocks", num_blocks},
                            {"missing_blocks", view.missing_blocks}});
      for (int b : view.missing_blocks) missing.push_back(b);
    }
    // Every server at once: a silent address costs one Info deadline in all.
    ChannelPool channels({}, transport_of(flags->plaintext));
    const auto infos = parallel_map(directory.size(), 64, [&](size_t i) {
      const ServerRecord& r = directory[i];
      return r.state == ServerState::kOnline ? query_info(channels, r) : std::nullopt;
    });
    nlohmann::json servers = nlohmann::json::array();
    for (size_t i = 0; i < directory.size(); ++i) {
      const ServerRecord& r = directory[i];
      nlohmann::json s = r.to_json();
      s.erase("block");
      s.erase("expires_at");
      const auto& info = infos[i];
      s["reachable"] = info.has_value();
      if (info) {
        s["cache_tokens_left"] = info->cache_tokens_left();
        s["sessions"] = info->sessions();
        const auto& p = info->push();
        s["push"] = {{"accepted", p.accepted()}, {"late", p.late()},
                     {"dropped", p.dropped()},   {"mismatched", p.mismatched()},
                     {"sent", p.sent()},         {"send_failed", p.send_failed()}};
      }
      servers.push_back(s);
    }
    if (flags->json) {
      std::cout << nlohmann::json{{"servers", servers},
                                  {"missing_blocks", missing},
                                  {"models", model_list}}
                       .dump()
                << std::endl;
      return;
    }
    std::cout << fmt::format(
        "{:<14}{:<12}{:<24}{:<8}{:<10}{:<9}{:>10}{:>12}  {:<24}{:<10}{:<16}{}\n", "PEER", "NAME",
        "MODEL", "FORMAT", "BLOCKS", "STATE", "MS/BLOCK", "CACHE LEFT", "PUSH acc/late/drop/bad",
        "FAMILY", "VERSION", "ADDRESS");
    for (const auto& s : servers) {
      std::string push = "-";
      if (s.contains("push")) {
        push = fmt::format("{}/{}/{}/{}", s["push"]["accepted"].get<uint64_t>(),
                           s["push"]["late"].get<uint64_t>(), s["push"]["dropped"].get<uint64_t>(),
                           s["push"]["mismatched"].get<uint64_t>());
      }
      std::string state = s["state"].get<std::string>();
      if (state == state_name(ServerState::kOnline) && !s["reachable"].get<bool>())
        state = "unreachable";
      std::cout << fmt::format(
          "{:<14}{:<12}{:<24}{:<8}{:<10}{:<9}{:>10.2f}{:>12}  {:<24}{:<10}{:<16}{}\n",
          s["peer"].get<std::string>().substr(0, 12), s["name"].get<std::string>(),
          model_label(s["model_name"].get<std::string>(), s["model"].get<std::string>()),
          s["weight_format"].get<std::string>(),
          fmt::format("{}:{}", s["start"].get<int>(), s["end"].get<int>()), state,
          s["compute_ms_per_block"].get<double>(), s["cache_tokens_left"].get<int64_t>(), push,
          s["family"].get<std::string>(), s["version"].get<std::string>(),
          s["address"].get<std::string>());
    }
    for (const auto& m : model_list) {
      const auto& miss = m["missing_blocks"];
      const std::string name = m["name"].get<std::string>();
      std::cout << fmt::format(
          "model {}{}: {} blocks, {}\n", m["model"].get<std::string>(),
          name.empty() ? "" : " (" + name + ")", m["num_blocks"].get<int>(),
          miss.empty() ? std::string("every block served") : "NO SERVER for blocks " + miss.dump());
    }
    if (directory.empty()) std::cout << "no servers found\n";
  });
}

}  // namespace brigade::cli
