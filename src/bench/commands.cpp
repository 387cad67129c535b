#include "bench/commands.h"

namespace brigade::bench {

void add_bench_commands(CLI::App& app) {
  auto* bench =
      app.add_subcommand("bench", "Benchmarks (block decode speed, WAN latency, server load)");
  bench->require_subcommand(1);
  add_block_command(*bench);
  add_engine_command(*bench);
  add_latency_command(*bench);
  add_load_command(*bench);
  add_recovery_command(*bench);
  add_sessions_command(*bench);
}

}  // namespace brigade::bench
