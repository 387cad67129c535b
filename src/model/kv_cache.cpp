#include "model/kv_cache.h"

#include "util/error.h"

namespace brigade {

KvCache::KvCache(int num_layers, int batch, int kv_heads, int head_dim, int max_length)
    : num_layers_(num_layers),
      batch_(batch),
      kv_heads_(kv_heads),
      head_dim_(head_dim),
      max_length_(max_length) {
  require(num_layers > 0 && batch > 0 && kv_heads > 0 && head_dim > 0 && max_length > 0,
          "KvCache: dimensions must be positive (layers {}, batch {}, kv heads {}, head dim {}, "
          "max length {})",
          num_layers, batch, kv_heads, head_dim, max_length);
  const size_t floats =
      bytes_for(num_layers, batch, kv_heads, head_dim, max_length) / 2 / sizeof(float);
  keys_.assign(floats, 0.0f);
  values_.assign(floats, 0.0f);
}

void KvCache::set_length(int length) {
  require(length >= 0 && length <= max_length_, "KvCache: length {} outside [0, {}]", length,
          max_length_);
  length_ = length;
}

size_t KvCache::index(int layer, int b, int head) const {
  return ((static_cast<size_t>(layer) * batch_ + b) * kv_heads_ + head) *
         static_cast<size_t>(max_length_) * head_dim_;
}

float* KvCache::keys(int layer, int b, int head) { return keys_.data() + index(layer, b, head); }

float* KvCache::values(int layer, int b, int head) {
  return values_.data() + index(layer, b, head);
}

size_t KvCache::bytes_for(int num_layers, int batch, int kv_heads, int head_dim, int max_length) {
  return 2 * static_cast<size_t>(num_layers) * batch * kv_heads * max_length * head_dim *
         sizeof(float);
}

}  // namespace brigade
