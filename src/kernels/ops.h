// Element-wise and row-wise kernels of T5 on row-major f32 buffers:
// rows × cols, one row per token. Each fast kernel has a naive:: reference for the unit tests.
#pragma once
#include <cstdint>
#include <string>

namespace emot5::kernels {

enum class Act { Relu, Gelu, GeluNew, Silu };
Act parse_act(const std::string& name);  // relu, gelu, gelu_new, gelu_pytorch_tanh, silu, swish

// T5LayerNorm (RMSNorm, no mean, no bias): out = w · x / sqrt(mean(x²) + eps).
void rms_norm(const float* x, const float* w, int rows, int cols, float eps, float* out);
// In place: x = act(x).
void activate(float* x, long n, Act act);
// Fused gated FFN rows: gu is (rows, 2F), each row [g | u]; out (rows, F) = act(g) · u.
void gated_activate_rows(const float* gu, int rows, int F, Act act, float* out);
// The same two, fused with the int8 quantization of their output rows for an int8 product
// (PackedMatrix::multiply_quantized): q (rows, cols) and one scale a row, equal to
// quantize_row_s8 of the f32 kernel's rows. gu may come unscaled from the product (its
// x_scale null): each row's in_scale multiplies g and u first (null: 1).
void rms_norm_quantize(const float* x, const float* w, int rows, int cols, float eps, int8_t* q, float* scale);
void gated_activate_quantize_rows(const float* gu, const float* in_scale, int rows, int F, Act act, int8_t* q,
                                  float* scale);
// The same two with their output rows rounded to bf16 in the same pass, for a bf16 product
// (PackedMatrix::multiply_bf16): bit for bit f32_to_bf16_row of the f32 kernels' rows.
void rms_norm_bf16(const float* x, const float* w, int rows, int cols, float eps, uint16_t* out);
void gated_activate_bf16_rows(const float* gu, int rows, int F, Act act, uint16_t* out);
// The residual add before a norm, fused with it: x += t · t_scale (by row; t an int8 product's
// rows left unscaled), then rms_norm_quantize of the new x.
void residual_rms_norm_quantize(float* x, const float* t, const float* t_scale, const float* w, int rows, int cols,
                                float eps, int8_t* q, float* scale);
// x += t · t_scale by row: a residual add on its own (before a norm in f32).
void add_scaled_rows(float* x, const float* t, const float* t_scale, int rows, int cols);
// Attention's (L, L) scores of one head, in place, stored transposed: st[j·ld + i] = q_i · k_j
// (ld ≥ L, a multiple of 16 is fastest; columns L..ld-1 are scratch). Each query's scores
// become s_ij (· c_i c_j when c) + bias[j - i], then a softmax over j, then (when c) p_ij · c_j,
// so that column i holds query i's probabilities. bias points at distance 0 (valid for
// |j - i| < L); c, when not null, holds the rows' scales of unscaled q, k and v (int8 products).
void attention_softmax(float* st, int L, int ld, const float* bias, const float* c);
// In place softmax of one row.
void softmax(float* x, int n);
// log-softmax of one row into out; returns the log of the normalizer (logsumexp).
double log_softmax(const float* x, int n, float* out);
// y += x
void add_inplace(float* y, const float* x, long n);
void scale_inplace(float* y, float s, long n);
int argmax(const float* x, int n);

namespace naive {
void rms_norm(const float* x, const float* w, int rows, int cols, float eps, float* out);
float act(float x, Act act);
void softmax(float* x, int n);
}  // namespace naive

}  // namespace emot5::kernels
