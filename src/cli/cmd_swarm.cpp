// `brigade swarm`: a whole swarm on this machine, for trying Brigade out.

#include <unistd.h>

#include <cstdio>
#include <optional>

#include "cli/commands.h"
#include "model/config.h"
#include "swarm/local_swarm.h"
#include "util/error.h"
#include "util/log.h"
#include "util/signals.h"
#include "util/temp_dir.h"

namespace brigade::cli {

std::string self_binary() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  require(n > 0, "cannot find the brigade binary (/proc/self/exe)");
  return std::string(path, static_cast<size_t>(n));
}

void add_swarm_command(CLI::App& app) {
  struct Flags {
    std::string model;
    int servers = 3;
    std::string log_dir;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "swarm", "Start a DHT node and N servers on 127.0.0.1 (blocks split evenly) until Ctrl-C");
  cmd->add_option("--model", flags->model, "Checkpoint directory")->required();
  cmd->add_option("--servers", flags->servers, "Number of servers")->capture_default_str();
  cmd->add_option("--log-dir", flags->log_dir,
                  "Where the processes' logs go (default: a temp dir, removed at exit)");
  cmd->callback([flags] {
    init_logging("swarm");
    const ModelConfig config = ModelConfig::load(flags->model);
    block_termination_signals();
    LocalSwarmOptions options;
    options.binary = self_binary();
    options.model_dir = std::filesystem::absolute(flags->model);
    options.servers = even_spans(config.num_hidden_layers, flags->servers);
    // The default log directory goes with the swarm on every exit path (the
    // swarm's processes stop first: it is declared after).
    std::optional<TempDir> temp_logs;
    if (flags->log_dir.empty()) temp_logs.emplace("brigade-swarm");
    options.log_dir = temp_logs ? temp_logs->path() : std::filesystem::path(flags->log_dir);
    LocalSwarm swarm(options);
    std::printf("swarm ready: DHT at %s, logs in %s\n", swarm.dht_address().c_str(),
                options.log_dir.c_str());
    for (size_t i = 0; i < swarm.size(); ++i) {
      std::printf("  server %zu: blocks %d:%d at %s\n", i, options.servers[i].start,
                  options.servers[i].end, swarm.server_address(i).c_str());
    }
    std::printf("generate with: brigade generate --model %s --initial-peers %s --prompt \"...\"\n",
                flags->model.c_str(), swarm.dht_address().c_str());
    std::printf("press Ctrl-C to stop\n");
    std::fflush(stdout);
    wait_for_termination_signal();
    swarm.stop_all();
    std::printf("swarm stopped\n");
  });
}

}  // namespace brigade::cli
