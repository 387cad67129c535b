#pragma once
// The server's cores, shared fairly by every session and Forward call. One
// forward runs at a time (the kernels already use every core), and a long
// step does not hold the cores for its whole length: it runs in chunks of at
// most `chunk_tokens` tokens, taking the compute lock (a FairMutex, served in
// arrival order) per chunk. A decode step that arrives while a 512-token
// prefill runs waits for one chunk, not for the whole prefill.
//
// Chunking changes no bit of the result: the engine reduces every output in
// the same order whatever the number of tokens in a call, so a step of T
// tokens equals any split of it into consecutive runs at increasing
// positions, outputs and cache alike (DESIGN.md, "Determinism").

#include <span>

#include "model/block_span.h"
#include "model/kv_cache.h"
#include "server/fair_mutex.h"

namespace brigade {

class SharedCompute {
 public:
  // REQUIRES: chunk_tokens >= 1.
  explicit SharedCompute(int chunk_tokens);

  // BlockSpan::forward_range over [batch, tokens, hidden] in chunks of at
  // most chunk_tokens tokens, each under the compute lock. Same requirements
  // (checked, throws Error) as forward_range.
  void forward_range(const BlockSpan& span, int first, int last, std::span<float> hidden, int batch,
                     int tokens, int position, KvCache& cache);

  int chunk_tokens() const { return chunk_tokens_; }
  // The lock every chunk takes; tests hold it to line up waiters.
  FairMutex& lock() { return lock_; }

 private:
  const int chunk_tokens_;
  FairMutex lock_;
};

}  // namespace brigade
