#include "cli/commands.h"
namespace brigade::cli { void add_bench_latency_command(CLI::App&) {} }  // TEMPORARY
