#pragma once
// `brigade bench`: the end-to-end benchmarks, one file per subcommand. They
// run the real engine, or real server processes on this machine, so they
// live in the binary rather than beside the micro-benchmarks in bench/.
// A command's callback throws brigade::Error on bad input.

#include <CLI/CLI.hpp>

namespace brigade::bench {

// Adds the `bench` group and every subcommand below to the top-level app.
void add_bench_commands(CLI::App& app);

// Each adds one subcommand to the `bench` group.
void add_block_command(CLI::App& bench);     // block.cpp
void add_engine_command(CLI::App& bench);    // engine.cpp
void add_latency_command(CLI::App& bench);   // latency.cpp
void add_load_command(CLI::App& bench);      // load.cpp
void add_recovery_command(CLI::App& bench);  // recovery.cpp
void add_sessions_command(CLI::App& bench);  // sessions.cpp

}  // namespace brigade::bench
