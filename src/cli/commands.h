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
// `bench` and its subcommands: bench/commands.h.

// Path of the running brigade executable (to start child processes).
std::string self_binary();

}  // namespace brigade::cli
