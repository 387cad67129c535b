#include "server/shared_compute.h"

#include <algorithm>
#include <vector>

#include "util/error.h"

namespace brigade {

SharedCompute::SharedCompute(int chunk_tokens) : chunk_tokens_(chunk_tokens) {
  require(chunk_tokens >= 1, "compute chunks must hold at least 1 token, got {}", chunk_tokens);
}

void SharedCompute::forward_range(const BlockSpan& span, int first, int last,
                                  std::span<float> hidden, int batch, int tokens, int position,
                                  KvCache& cache) {
  if (tokens <= chunk_tokens_) {
    MutexLock lock(lock_);
    span.forward_range(first, last, hidden, batch, tokens, position, cache);
    return;
  }
  const size_t width = static_cast<size_t>(span.config().hidden_size);
  require(hidden.size() == static_cast<size_t>(batch) * tokens * width,
          "hidden states of {} values are not [{}, {}, {}]", hidden.size(), batch, tokens, width);
  // Checked whole before the first chunk runs: a step fails untouched or runs whole.
  require(position >= 0 && position <= cache.length() && position + tokens <= cache.max_length(),
          "{} tokens at position {} do not fit a cache holding {} of {}", tokens, position,
          cache.length(), cache.max_length());
  // Tokens [begin, begin + n) of every sequence, gathered into [batch, n,
  // hidden], run, and scattered back.
  std::vector<float> chunk;
  for (int begin = 0; begin < tokens; begin += chunk_tokens_) {
    const int n = std::min(chunk_tokens_, tokens - begin);
    chunk.resize(static_cast<size_t>(batch) * n * width);
    for (int b = 0; b < batch; ++b) {
      const auto from = hidden.begin() + (static_cast<size_t>(b) * tokens + begin) * width;
      std::copy(from, from + n * width, chunk.begin() + static_cast<size_t>(b) * n * width);
    }
    {
      MutexLock lock(lock_);
      span.forward_range(first, last, chunk, batch, n, position + begin, cache);
    }
    for (int b = 0; b < batch; ++b) {
      const auto from = chunk.begin() + static_cast<size_t>(b) * n * width;
      std::copy(from, from + n * width,
                hidden.begin() + (static_cast<size_t>(b) * tokens + begin) * width);
    }
  }
}

}  // namespace brigade
