#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/ops.h"
#include "kernels/thread_pool.h"

namespace brigade::kernels {

void attention(const AttentionArgs& a) {
  const KernelTable& table = kernel_table(active_isa());
  const float scale = 1.0f / std::sqrt(static_cast<float>(a.head_dim));
  const int group = a.heads / a.kv_heads;
  const int q_dim = a.heads * a.head_dim;
  const int items = a.rows * a.heads;  // one (row, head) pair each
  ThreadPool& pool = ThreadPool::global();
  const int pieces = std::min(items, pool.threads() * 4);
  pool.run(pieces, [&](int piece) {
    std::vector<float> scores;
    for (int item = piece; item < items; item += pieces) {
      const int r = item / a.heads, h = item % a.heads;
      const int length = a.positions[r] + 1;
      const float* q = a.q + static_cast<size_t>(r) * q_dim + h * a.head_dim;
      const float* keys = a.keys[r * a.kv_heads + h / group];
      const float* values = a.values[r * a.kv_heads + h / group];
      scores.resize(length);
      for (int s = 0; s < length; ++s)
        scores[s] = scale * table.dot(q, keys + static_cast<size_t>(s) * a.head_dim, a.head_dim);
      softmax(scores.data(), length);
      float* out = a.out + static_cast<size_t>(r) * q_dim + h * a.head_dim;
      std::fill(out, out + a.head_dim, 0.0f);
      for (int s = 0; s < length; ++s)
        table.axpy(out, scores[s], values + static_cast<size_t>(s) * a.head_dim, a.head_dim);
    }
  });
}

}  // namespace brigade::kernels
