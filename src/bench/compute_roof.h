#pragma once
// The engine's arithmetic rate at a large batch: the roof of batched
// decoding. One pass over a span's weights serves every session of a batch,
// so decoding many sessions stops being memory-bound and is bounded by how
// fast the kernels multiply; `bench load` reports its aggregate tokens/s
// against this roof, measured in the same run.

#include "model/checkpoint.h"
#include "model/config.h"

namespace brigade::bench {

struct ComputeRoof {
  int rows = 0;             // tokens in the measured pass
  double flops_per_s = 0;   // linear layers' multiply-adds x 2, per second
  double tokens_per_s = 0;  // of the whole model (every block and the LM head) at that rate
};

// Best of `repeats` prefills of `rows` tokens through block 0 of the
// checkpoint, in its stored format, on the compute pool.
ComputeRoof measure_compute_roof(const ModelConfig& config, const Checkpoint& checkpoint,
                                 int rows = 256, int repeats = 3);

}  // namespace brigade::bench
