// T5Attention's three uses: encoder self-attention (bidirectional position bias), decoder
// self-attention (causal bias, cached keys/values) and cross-attention (no bias). No 1/sqrt(dk)
// scaling: T5 folds it into the initialization. Each adds its output projection into x.
#pragma once
#include <vector>

#include "model/t5.h"

namespace emot5 {

// The encoder's position bias by head and relative distance, for the longest text of a batch:
// bias(h, j - i) = relative_attention_bias[bucket(j - i), h].
class EncoderBias {
 public:
  EncoderBias(const float* table, const T5Config& c, const std::vector<int>& offsets);
  // Pointer p with p[j - i] = bias for head h; valid for |j - i| < max_len.
  const float* row(int h) const { return &values_[static_cast<size_t>(h) * span_ + (max_len_ - 1)]; }

 private:
  int max_len_ = 1;
  size_t span_ = 1;
  std::vector<float> values_;  // (H, 2·max_len - 1)
};

// n: the normed rows as the q|k|v (or q) product's input (norm_input).
// x (T, D) += o(attention(q(n), k(n), v(n))) per text of the packed batch. With `pending` (empty
// on entry) and int8 weights for o, the add is left in *pending instead, for the next norm.
void encoder_self_attention(const T5Attention& a, const EncoderBias& bias, const T5Config& c,
                            const LinearInput& n, const std::vector<int>& offsets, float* x,
                            PendingResidual* pending = nullptr);
// x (B, D) += self-attention of this step's query over the cache; appends k, v to the cache.
void decoder_self_attention(const T5Attention& a, const float* bias_table, const T5Config& c,
                            const LinearInput& n, DecoderState& st, size_t layer, float* x);
// x (B, D) += cross-attention over the encoder output's cached keys and values.
void decoder_cross_attention(const T5Attention& a, const T5Config& c, const LinearInput& n,
                             const DecoderState& st, size_t layer, float* x);

}  // namespace emot5
