#pragma once
// A BlockRunner that runs every block of the model in this process.

#include "model/block_span.h"
#include "model/generator.h"

namespace brigade {

class LocalBlockRunner : public BlockRunner {
 public:
  LocalBlockRunner(const BlockSpan& span, int batch, int max_length)
      : span_(span), cache_(span.make_cache(batch, max_length)) {}
  void forward(std::vector<float>& hidden, int batch, int tokens, int position) override {
    span_.forward(hidden, batch, tokens, position, cache_);
  }

 private:
  const BlockSpan& span_;
  KvCache cache_;
};

}  // namespace brigade
