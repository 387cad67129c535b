// `brigade`: one binary for every role (model maker, local runner, DHT node,
// server, client, swarm launcher, benchmarks).

#include <fmt/format.h>

#include <cstdio>

#include "bench/commands.h"
#include "cli/commands.h"
#include "kernels/cpu.h"
#include "util/error.h"
#include "util/version.h"

int main(int argc, char** argv) {
  CLI::App app{"Brigade: run large language models across a swarm of machines"};
  // The release and, since a swarm mixes machines, the kernel path this one
  // computes with (servers on one path agree bitwise).
  app.set_version_flag("--version", [] {
    return fmt::format("{} (kernels: {})", brigade::kVersion,
                       brigade::kernels::isa_name(brigade::kernels::active_isa()));
  });
  app.require_subcommand(1);
  brigade::cli::add_make_model_command(app);
  brigade::cli::add_run_command(app);
  brigade::cli::add_dht_command(app);
  brigade::cli::add_server_command(app);
  brigade::cli::add_generate_command(app);
  brigade::cli::add_status_command(app);
  brigade::cli::add_swarm_command(app);
  brigade::cli::add_tokenize_command(app);
  brigade::cli::add_manifest_command(app);
  brigade::bench::add_bench_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
