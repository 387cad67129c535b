#pragma once
// The attention keys and values of one session for the blocks of one span.
// Layout per layer: [batch, kv_heads, max_length, head_dim] for K and for V,
// allocated once at the session's max length so that decoding never
// reallocates. `length()` is the number of positions filled.

#include <cstddef>
#include <vector>

namespace brigade {

class KvCache {
 public:
  KvCache(int num_layers, int batch, int kv_heads, int head_dim, int max_length);

  int num_layers() const { return num_layers_; }
  int batch() const { return batch_; }
  int max_length() const { return max_length_; }
  int length() const { return length_; }
  void set_length(int length);  // REQUIRES: 0 <= length <= max_length
  size_t bytes() const { return (keys_.size() + values_.size()) * sizeof(float); }

  // Pointer to the first position of (layer, batch row, kv head).
  float* keys(int layer, int b, int head);
  float* values(int layer, int b, int head);

  // Bytes needed by a cache of these dimensions, for budgeting before allocating.
  static size_t bytes_for(int num_layers, int batch, int kv_heads, int head_dim, int max_length);

 private:
  size_t index(int layer, int b, int head) const;
  int num_layers_, batch_, kv_heads_, head_dim_, max_length_;
  int length_ = 0;
  std::vector<float> keys_, values_;
};

}  // namespace brigade
