#include "cli/engine_flags.h"

#include "kernels/cpu.h"
#include "kernels/thread_pool.h"
#include "util/error.h"

namespace brigade::cli {

void add_engine_flags(CLI::App* command, EngineFlags& flags) {
  command
      ->add_option("--quant", flags.quant,
                   "Quantize weights at load: none (compute as stored: f32, bf16, f16), int8 or "
                   "int4 (blocks of 32 with one scale each)")
      ->capture_default_str();
  command->add_option("--threads", flags.threads, "Compute threads (default: the number of cores)");
}

kernels::Quant apply_engine_flags(const EngineFlags& flags) {
  const auto quant = kernels::parse_quant(flags.quant);
  require(flags.threads >= 0, "--threads must be >= 1, got {}", flags.threads);
  if (flags.threads > 0) kernels::ThreadPool::set_global_threads(flags.threads);
  kernels::active_isa();  // a bad BRIGADE_ISA fails here, not in the middle of a request
  return quant;
}

}  // namespace brigade::cli
