#pragma once
// Causal self-attention over a KV cache, on the kernels' dot products. Each
// query row attends over the cached positions [0, its position] in one fixed
// order, so a token's output is the same whether it came in a prefill of many
// tokens or alone.

namespace brigade::kernels {

struct AttentionArgs {
  // Queries [rows, heads * head_dim] after RoPE; row r is the query of the
  // token at positions[r]; output [rows, heads * head_dim].
  const float* q;
  float* out;
  int rows;
  const int* positions;
  int heads, kv_heads, head_dim;
  // keys[r * kv_heads + h]: the cached keys of kv head h of row r's sequence,
  // [>= positions[r] + 1, head_dim]; values likewise. Rows may belong to
  // different sequences.
  const float* const* keys;
  const float* const* values;
};

// out = softmax(q . K^T / sqrt(head_dim)) V per query head; query head h
// reads kv head h / (heads / kv_heads) (grouped-query attention).
void attention(const AttentionArgs& args);

}  // namespace brigade::kernels
