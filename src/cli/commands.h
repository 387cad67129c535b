#pragma once
// Each `brigade` subcommand registers itself on the top-level app. A command's
// callback throws brigade::Error on bad input; main() prints it and exits 1.

#include <CLI/CLI.hpp>

namespace brigade::cli {

void add_make_model_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_dht_command(CLI::App& app);
void add_server_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_status_command(CLI::App& app);
void add_swarm_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);  // cmd_tokenize.cpp
void add_manifest_command(CLI::App& app);
// `bench` is a group: each adds one subcommand to it.
void add_bench_block_command(CLI::App& bench);
void add_bench_engine_command(CLI::App& bench);  // cmd_bench_engine.cpp
void add_bench_latency_command(CLI::App& bench);
void add_bench_load_command(CLI::App& bench);      // cmd_bench_load.cpp
void add_bench_sessions_command(CLI::App& bench);  // cmd_bench_load.cpp

// Path of the running brigade executable (to start child processes).
std::string self_binary();

}  // namespace brigade::cli
