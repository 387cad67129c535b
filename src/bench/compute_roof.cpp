#include "bench/compute_roof.h"

#include <algorithm>
#include <vector>

#include "bench/timing.h"
#include "model/block_span.h"

namespace brigade::bench {

ComputeRoof measure_compute_roof(const ModelConfig& config, const Checkpoint& checkpoint, int rows,
                                 int repeats) {
  const BlockSpan block(config, checkpoint, 0, 1);
  KvCache cache = block.make_cache(1, rows);
  std::vector<float> input(static_cast<size_t>(rows) * config.hidden_size);
  for (size_t i = 0; i < input.size(); ++i) input[i] = 0.01f * static_cast<float>(i % 17) - 0.08f;
  double best_s = 1e30;
  for (int r = 0; r < repeats; ++r) {
    std::vector<float> hidden = input;
    const auto began = Clock::now();
    block.forward(hidden, 1, rows, 0, cache);  // position 0 again: a rollback
    best_s = std::min(best_s, seconds_since(began));
  }
  // Multiply-adds per token: q, k, v, o, gate, up and down of one block
  // (attention's own products are small beside them at these lengths).
  const double h = config.hidden_size, inter = config.intermediate_size;
  const double block_flops = 2 * (h * config.q_dim() * 2 + h * config.kv_dim() * 2 + 3 * h * inter);
  const double model_flops =
      block_flops * config.num_hidden_layers + 2 * h * static_cast<double>(config.vocab_size);
  ComputeRoof roof;
  roof.rows = rows;
  roof.flops_per_s = rows * block_flops / best_s;
  roof.tokens_per_s = roof.flops_per_s / model_flops;
  return roof;
}

}  // namespace brigade::bench
