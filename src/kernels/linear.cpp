#include "kernels/linear.h"

#include <algorithm>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/thread_pool.h"
#include "util/error.h"

namespace brigade::kernels {

void linear(const float* x, int rows, const WeightMatrix& w, float* out) {
  const LinearOutput one{&w, out};
  linear_many(x, rows, std::span<const LinearOutput>(&one, 1));
}

void linear_many(const float* x, int rows, std::span<const LinearOutput> outputs) {
  if (rows <= 0 || outputs.empty()) return;
  const int in_dim = outputs[0].w->in_dim();
  bool quantized = false;
  for (const auto& o : outputs) {
    require(o.w->in_dim() == in_dim, "linear: matrices of one call read {} and {} features", in_dim,
            o.w->in_dim());
    quantized = quantized || is_quantized(o.w->format());
  }
  // The int8 copy of the input, made once for every quantized matrix.
  ThreadPool& pool = ThreadPool::global();
  QuantizedActivations xq;
  if (quantized) xq.quantize(x, rows, in_dim, pool);

  const KernelTable& table = kernel_table(active_isa());
  // Column chunks: enough pieces for the pool to balance, each a few weight
  // rows long. How columns are cut never changes a result.
  int total_columns = 0;
  for (const auto& o : outputs) total_columns += o.w->out_dim();
  const int pieces = pool.threads() == 1 ? 1 : pool.threads() * 8;
  const int chunk = std::max(16, (total_columns + pieces - 1) / pieces);

  struct Task {
    const LinearOutput* output;
    int c0, c1;
  };
  std::vector<Task> tasks;
  for (const auto& o : outputs)
    for (int c = 0; c < o.w->out_dim(); c += chunk)
      tasks.push_back({&o, c, std::min(o.w->out_dim(), c + chunk)});

  pool.run(static_cast<int>(tasks.size()), [&](int i) {
    const Task& t = tasks[i];
    const WeightMatrix& w = *t.output->w;
    LinearArgs args;
    args.x = x;
    args.xq = &xq;
    args.w = w.data();
    args.w_stride = w.row_stride();
    args.out = t.output->out;
    args.out_stride = w.out_dim();
    args.rows = rows;
    args.in_dim = in_dim;
    table.linear[static_cast<int>(w.format())](args, t.c0, t.c1);
  });
}

}  // namespace brigade::kernels
