// `brigade dht`: a bootstrap node of the swarm's DHT.

#include <cstdio>

#include "cli/commands.h"
#include "dht/dht_node.h"
#include "util/error.h"
#include "util/log.h"
#include "util/signals.h"

namespace brigade::cli {

void add_dht_command(CLI::App& app) {
  struct Flags {
    std::string listen = "127.0.0.1:0";
    std::string initial_peers;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd =
      app.add_subcommand("dht", "Run a DHT bootstrap node until stopped (Ctrl-C / SIGTERM)");
  cmd->add_option("--listen", flags->listen, "IPv4 HOST:PORT to bind (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--initial-peers", flags->initial_peers, "Other DHT nodes HOST:PORT[,...]");
  cmd->callback([flags] {
    init_logging("dht");
    block_termination_signals();
    DhtNode node(parse_host_port(flags->listen, "--listen"),
                 parse_host_port_list(flags->initial_peers, "--initial-peers"));
    std::printf("DHT node listening on %s\n", node.address().str().c_str());
    std::printf("Servers and clients join with: --initial-peers %s\n",
                node.address().str().c_str());
    std::fflush(stdout);
    wait_for_termination_signal();
  });
}

}  // namespace brigade::cli
