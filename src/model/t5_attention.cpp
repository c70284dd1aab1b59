// T5Attention (see attention.h). Parallel over (text, head) pairs; each pair's scores are a
// small matrix product, a bias add and a softmax, then a product with v.
#include <algorithm>

#include "kernels/attention_products.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/attention.h"
#include "model/relative_position.h"
#include "model/scratch.h"

namespace emot5 {

EncoderBias::EncoderBias(const float* table, const T5Config& c, const std::vector<int>& offsets) {
  for (size_t b = 0; b + 1 < offsets.size(); ++b) max_len_ = std::max(max_len_, offsets[b + 1] - offsets[b]);
  span_ = 2 * static_cast<size_t>(max_len_) - 1;
  const int H = c.num_heads;
  values_.resize(static_cast<size_t>(H) * span_);
  for (int rel = -(max_len_ - 1); rel <= max_len_ - 1; ++rel) {
    const int bucket = relative_position_bucket(rel, true, c.relative_attention_num_buckets,
                                                c.relative_attention_max_distance);
    for (int h = 0; h < H; ++h)
      values_[static_cast<size_t>(h) * span_ + static_cast<size_t>(rel + max_len_ - 1)] = table[bucket * H + h];
  }
}

void encoder_self_attention(const T5Attention& a, const EncoderBias& bias, const T5Config& c,
                            const LinearInput& n, const std::vector<int>& offsets, float* x,
                            PendingResidual* pending) {
  const int H = c.num_heads, dk = c.d_kv, I = c.inner_dim();
  const int T = offsets.back(), B = static_cast<int>(offsets.size()) - 1;
  // One product for q, k and v: row t of qkv is [q_t | k_t | v_t], 3I floats. From quantized
  // rows (x_t ≈ q8_t · c_t) it leaves them unscaled, and the scales enter below, where they
  // cost least: score (i, j) is c_i c_j (q_i · k_j), and context row i is Σ_j (p_ij c_j) v_j.
  const int ld = 3 * I;
  float* qkv = scratch(Scratch::Qkv, static_cast<size_t>(T) * ld);
  float* ctx = scratch(Scratch::Context, static_cast<size_t>(T) * I);
  if (n.q)
    a.qkv.p->multiply_quantized(T, n.q, nullptr, qkv, ld);
  else
    linear(a.qkv, n, T, qkv);
  // With int8 weights for o, the context rows are quantized in the same parallel region.
  const bool o_int8 = a.o.p->type() == kernels::WeightType::Int8;
  int8_t* ctx_q = o_int8 ? scratch_s8(ScratchS8::Context, static_cast<size_t>(T) * I) : nullptr;
  float* ctx_scale = o_int8 ? scratch(Scratch::ContextScale, static_cast<size_t>(T)) : nullptr;
  // With bf16 weights for o, they are rounded to bf16 there.
  const bool o_bf16 = a.o.p->type() == kernels::WeightType::Bf16;
  uint16_t* ctx_b = o_bf16 ? scratch_bf16(ScratchBf16::Context, static_cast<size_t>(T) * I) : nullptr;
  const float *q = qkv, *k = q + I, *v = q + 2 * I;
#pragma omp parallel
  {
#pragma omp for schedule(dynamic)
    for (int bh = 0; bh < B * H; ++bh) {
      const int b = bh / H, h = bh % H, off = offsets[b], L = offsets[b + 1] - off;
      if (L == 0) continue;
      const size_t base = static_cast<size_t>(off) * ld + static_cast<size_t>(h) * dk;
      // scores (L, L) = q_bh · k_bh^T + position_bias, stored transposed (s[j·Lp + i] = q_i · k_j)
      // with rows padded to 16, where the softmax runs fastest; then ctx = p · v.
      const int Lp = (L + 15) / 16 * 16;
      float* s = scratch(Scratch::Scores, static_cast<size_t>(L) * Lp);
      kernels::attention_scores_kq(q + base, k + base, ld, L, dk, s, Lp);
      kernels::attention_softmax(s, L, Lp, bias.row(h), n.q ? n.scale + off : nullptr);
      kernels::attention_context(s, Lp, v + base, ld, L, dk,
                                 &ctx[static_cast<size_t>(off) * I + static_cast<size_t>(h) * dk], I);
    }
    if (o_int8) {
#pragma omp for schedule(static)
      for (int t = 0; t < T; ++t)
        ctx_scale[t] = kernels::quantize_row_s8(&ctx[static_cast<size_t>(t) * I], I, &ctx_q[static_cast<size_t>(t) * I]);
    }
    if (o_bf16) {
#pragma omp for schedule(static)
      for (int t = 0; t < T; ++t)
        kernels::f32_to_bf16_row(&ctx[static_cast<size_t>(t) * I], I, &ctx_b[static_cast<size_t>(t) * I]);
    }
  }
  if (o_int8 && pending) {
    float* out = scratch(Scratch::AttnOut, static_cast<size_t>(T) * c.d_model);
    a.o.p->multiply_quantized(T, ctx_q, nullptr, out, c.d_model);
    *pending = {out, ctx_scale};
    return;
  }
  linear(a.o,
         o_int8   ? LinearInput{nullptr, ctx_q, ctx_scale}
         : o_bf16 ? LinearInput{nullptr, nullptr, nullptr, ctx_b}
                  : LinearInput{ctx, nullptr, nullptr},
         T, x, 1.0f);
}

namespace {

// One query row against n cached keys/values (each row of stride I): out = softmax(q·K^T + bias)·V.
void attend_one(const float* q, const float* K, const float* Vv, int n, int I, int dk,
                const float* bias, float* scores, float* out) {
  for (int j = 0; j < n; ++j) {
    const float* kj = K + static_cast<size_t>(j) * I;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int d = 0; d < dk; ++d) dot += q[d] * kj[d];
    scores[j] = dot + (bias ? bias[j] : 0.0f);
  }
  kernels::softmax(scores, n);
  std::fill(out, out + dk, 0.0f);
  for (int j = 0; j < n; ++j) {
    const float* vj = Vv + static_cast<size_t>(j) * I;
    const float p = scores[j];
#pragma omp simd
    for (int d = 0; d < dk; ++d) out[d] += p * vj[d];
  }
}

}  // namespace

void decoder_self_attention(const T5Attention& a, const float* bias_table, const T5Config& c,
                            const LinearInput& n, DecoderState& st, size_t layer, float* x) {
  const int H = c.num_heads, dk = c.d_kv, I = c.inner_dim(), B = st.batch;
  const int t = st.step;
  float* qkv = scratch(Scratch::Qkv, static_cast<size_t>(B) * 3 * I);
  float* ctx = scratch(Scratch::Context, static_cast<size_t>(B) * I);
  linear(a.qkv, n, B, qkv);
  // The cache is (steps, B, I) and grows by one step here, so that a generation budget far
  // beyond what the texts use costs nothing up front.
  auto& K = st.self_k[layer];
  auto& Vc = st.self_v[layer];
  const size_t step_rows = static_cast<size_t>(B) * I;
  K.resize((static_cast<size_t>(t) + 1) * step_rows);
  Vc.resize((static_cast<size_t>(t) + 1) * step_rows);
  for (int b = 0; b < B; ++b) {
    const float* row = &qkv[static_cast<size_t>(b) * 3 * I];
    std::copy_n(row + I, I, &K[static_cast<size_t>(t) * step_rows + static_cast<size_t>(b) * I]);
    std::copy_n(row + 2 * I, I, &Vc[static_cast<size_t>(t) * step_rows + static_cast<size_t>(b) * I]);
  }
  // Causal bias for this query position: bias[h][j] = table[bucket(j - t), h], j = 0..t.
  float* bias = scratch(Scratch::Bias, static_cast<size_t>(H) * (t + 1));
  for (int j = 0; j <= t; ++j) {
    const int bucket = relative_position_bucket(j - t, false, c.relative_attention_num_buckets,
                                                c.relative_attention_max_distance);
    for (int h = 0; h < H; ++h) bias[static_cast<size_t>(h) * (t + 1) + j] = bias_table[bucket * H + h];
  }
#pragma omp parallel
  {
    float* s = scratch(Scratch::Scores, static_cast<size_t>(t) + 1);
#pragma omp for schedule(static)
    for (int bh = 0; bh < B * H; ++bh) {
      const int b = bh / H, h = bh % H;
      const size_t cache = static_cast<size_t>(b) * I + static_cast<size_t>(h) * dk;
      attend_one(&qkv[static_cast<size_t>(b) * 3 * I + h * dk], &K[cache], &Vc[cache], t + 1, B * I, dk,
                 &bias[static_cast<size_t>(h) * (t + 1)], s, &ctx[static_cast<size_t>(b) * I + h * dk]);
    }
  }
  linear(a.o, ctx, B, x, 1.0f);
}

void decoder_cross_attention(const T5Attention& a, const T5Config& c, const LinearInput& n,
                             const DecoderState& st, size_t layer, float* x) {
  const int H = c.num_heads, dk = c.d_kv, I = c.inner_dim(), B = st.batch;
  float* q = scratch(Scratch::Qkv, static_cast<size_t>(B) * I);
  float* ctx = scratch(Scratch::Context, static_cast<size_t>(B) * I);
  linear(a.q, n, B, q);
  const float* K = st.cross_k[layer].data();
  const float* Vc = st.cross_v[layer].data();
  if (st.enc_hidden) {  // single step: this layer's keys and values, made now and not kept
    const int T = st.enc_offsets.back();
    float* k = scratch(Scratch::CrossK, static_cast<size_t>(T) * I);
    float* v = scratch(Scratch::CrossV, static_cast<size_t>(T) * I);
    const LinearInput enc = encoder_input(a.k, st.enc_hidden, T, c.d_model, layer == 0);
    linear(a.k, enc, T, k);
    linear(a.v, enc, T, v);
    K = k;
    Vc = v;
  }
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (int bh = 0; bh < B * H; ++bh) {
      const int b = bh / H, h = bh % H, off = st.enc_offsets[b], L = st.enc_offsets[b + 1] - off;
      float* out = &ctx[static_cast<size_t>(b) * I + h * dk];
      if (L == 0) {
        std::fill(out, out + dk, 0.0f);
        continue;
      }
      float* s = scratch(Scratch::Scores, static_cast<size_t>(L));
      const size_t base = static_cast<size_t>(off) * I + static_cast<size_t>(h) * dk;
      attend_one(&q[static_cast<size_t>(b) * I + h * dk], &K[base], &Vc[base], L, I, dk, nullptr, s, out);
    }
  }
  linear(a.o, ctx, B, x, 1.0f);
}

}  // namespace emot5
