#pragma once
// Flags that choose how the engine computes, shared by every command that runs
// blocks or the LM head (`run`, `server`, `generate`, `bench engine`).

#include <CLI/CLI.hpp>
#include <string>

#include "kernels/format.h"

namespace brigade::cli {

struct EngineFlags {
  std::string quant = "none";  // none | int8 | int4
  int threads = 0;             // 0: the number of cores
};

// Adds --quant and --threads.
void add_engine_flags(CLI::App* command, EngineFlags& flags);

// Sizes the kernels' thread pool and returns the quantization asked for.
// Throws Error naming a bad --quant or --threads.
kernels::Quant apply_engine_flags(const EngineFlags& flags);

}  // namespace brigade::cli
