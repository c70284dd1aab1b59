// T5's element-wise and row-wise kernels (see ops.h). Written as plain loops the compiler
// vectorizes; activations follow PyTorch's formulas exactly.
#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/quantize_body.h"
#include "kernels/simd.h"

namespace emot5::kernels {

Act parse_act(const std::string& name) {
  if (name == "relu") return Act::Relu;
  if (name == "gelu") return Act::Gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Act::GeluNew;
  if (name == "silu" || name == "swish") return Act::Silu;
  throw std::invalid_argument("unsupported activation '" + name + "'");
}

namespace {

// exp(x) for x in [-87, 88]: x = n·ln2 + r, exp(r) by a degree-6 polynomial (Cephes' expf
// coefficients), 2^n through the exponent bits. Plain arithmetic, so loops of it vectorize.
EMOT5_INLINE float fast_exp(float x) {
  x = std::min(88.0f, std::max(-87.0f, x));
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const auto bits = static_cast<int32_t>(n + 127.0f) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// 0.5x(1 + tanh(y)) with tanh(y) = 1 - 2 / (e^2y + 1) (absolute error about 1e-7) is
// x - x / (e^2y + 1): one exponential and one division.
EMOT5_INLINE float gelu_new(float x) {
  const float k = 2.0f * 0.7978845608028654f;
  return x - x / (fast_exp(k * (x + 0.044715f * x * x * x)) + 1.0f);
}

inline float act_one(float x, Act a) {
  switch (a) {
    case Act::Relu: return x > 0.0f ? x : 0.0f;
    case Act::Gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case Act::GeluNew:  // HF NewGELUActivation: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x³)))
      return gelu_new(x);
    case Act::Silu: return x / (1.0f + std::exp(-x));
  }
  return x;
}

// A value stored as f32, or rounded to bf16 for a bf16 product (bit for bit f32_to_bf16_row's).
EMOT5_INLINE void put(float* o, float v) { *o = v; }
EMOT5_INLINE void put(uint16_t* o, float v) { *o = bf16_round(v); }

// The loops below are compiled once per ISA (EMOT5_VERSIONS) and called on chunks of rows or
// elements, split across threads by the callers.
template <class T>
EMOT5_INLINE void rms_norm_rows_into(const float* x, const float* w, long r0, long r1, int cols, float eps, T* out) {
  for (long r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    T* o = out + r * cols;
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int c = 0; c < cols; ++c) ss += xr[c] * xr[c];
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(cols) + eps);
#pragma omp simd
    for (int c = 0; c < cols; ++c) put(&o[c], w[c] * (xr[c] * inv));
  }
}
EMOT5_INLINE void rms_norm_rows_body(const float* x, const float* w, long r0, long r1, int cols, float eps, float* out) {
  rms_norm_rows_into(x, w, r0, r1, cols, eps, out);
}
EMOT5_VERSIONS(void, rms_norm_rows, (const float* x, const float* w, long r0, long r1, int cols, float eps, float* out),
               (x, w, r0, r1, cols, eps, out))
// The same rows rounded to bf16 as they are made.
EMOT5_INLINE void rms_norm_bf16_rows_body(const float* x, const float* w, long r0, long r1, int cols, float eps,
                                          uint16_t* out) {
  rms_norm_rows_into(x, w, r0, r1, cols, eps, out);
}
EMOT5_VERSIONS(void, rms_norm_bf16_rows,
               (const float* x, const float* w, long r0, long r1, int cols, float eps, uint16_t* out),
               (x, w, r0, r1, cols, eps, out))

// The second pass of the two below: from the row's sum of squares ss and largest |w·x| mx, its
// scale (returned) and the rounding of w·x · inv / scale into q.
EMOT5_INLINE float norm_round_row(const float* xr, const float* w, int cols, float eps, float ss, float mx,
                                  int8_t* q) {
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(cols) + eps);
  // max|w·x·inv| = inv · max|w·x| up to rounding, which s8_round's clamp absorbs.
  const float s = s8_scale_for(mx * inv);
  const float k = inv / s;
#pragma omp simd
  for (int c = 0; c < cols; ++c) q[c] = s8_round((w[c] * xr[c]) * k);
  return s;
}

// RMSNorm and int8 quantization in two passes over each row: the sum of squares and the largest
// |w·x| together, then the rounding of w·x · inv / scale. The normalized row is never stored;
// q and scale equal quantize_row_s8 of rms_norm's row up to the rounding of the last place
// (a q may differ by one where rms_norm's row sits on a rounding boundary).
EMOT5_INLINE void rms_norm_quantize_rows_body(const float* x, const float* w, long r0, long r1, int cols, float eps,
                                              int8_t* q, float* scale) {
  for (long r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    int8_t* qr = q + r * cols;
    float ss = 0.0f, mx = 0.0f;
#pragma omp simd reduction(+ : ss) reduction(max : mx)
    for (int c = 0; c < cols; ++c) {
      ss += xr[c] * xr[c];
      const float o = w[c] * xr[c];
      const float a = o < 0 ? -o : o;
      mx = a > mx ? a : mx;
    }
    scale[r] = norm_round_row(xr, w, cols, eps, ss, mx, qr);
  }
}
EMOT5_VERSIONS(void, rms_norm_quantize_rows,
               (const float* x, const float* w, long r0, long r1, int cols, float eps, int8_t* q, float* scale),
               (x, w, r0, r1, cols, eps, q, scale))

// The same after the residual add it follows: x += t · t_scale (t: an int8 product's rows left
// unscaled), in the pass that reads x for the sum of squares.
EMOT5_INLINE void residual_rms_norm_quantize_rows_body(float* x, const float* t, const float* t_scale, const float* w,
                                                       long r0, long r1, int cols, float eps, int8_t* q, float* scale) {
  for (long r = r0; r < r1; ++r) {
    float* xr = x + r * cols;
    const float* tr = t + r * cols;
    const float ts = t_scale[r];
    int8_t* qr = q + r * cols;
    float ss = 0.0f, mx = 0.0f;
#pragma omp simd reduction(+ : ss) reduction(max : mx)
    for (int c = 0; c < cols; ++c) {
      const float v = xr[c] + tr[c] * ts;
      xr[c] = v;
      ss += v * v;
      const float o = w[c] * v;
      const float a = o < 0 ? -o : o;
      mx = a > mx ? a : mx;
    }
    scale[r] = norm_round_row(xr, w, cols, eps, ss, mx, qr);
  }
}
EMOT5_VERSIONS(void, residual_rms_norm_quantize_rows,
               (float* x, const float* t, const float* t_scale, const float* w, long r0, long r1, int cols, float eps,
                int8_t* q, float* scale),
               (x, t, t_scale, w, r0, r1, cols, eps, q, scale))

// x += t · t_scale by row.
EMOT5_INLINE void add_scaled_rows_span_body(float* x, const float* t, const float* t_scale, long r0, long r1, int cols) {
  for (long r = r0; r < r1; ++r) {
    float* xr = x + r * cols;
    const float* tr = t + r * cols;
    const float ts = t_scale[r];
#pragma omp simd
    for (int c = 0; c < cols; ++c) xr[c] = xr[c] + tr[c] * ts;
  }
}
EMOT5_VERSIONS(void, add_scaled_rows_span, (float* x, const float* t, const float* t_scale, long r0, long r1, int cols),
               (x, t, t_scale, r0, r1, cols))

EMOT5_INLINE void gelu_new_span_body(float* x, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) x[i] = gelu_new(x[i]);
}
EMOT5_VERSIONS(void, gelu_new_span, (float* x, long n), (x, n))

template <class T>
EMOT5_INLINE void gated_gelu_new_into(const float* g, const float* u, T* out, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) put(&out[i], gelu_new(g[i]) * u[i]);
}
EMOT5_INLINE void gated_gelu_new_span_body(const float* g, const float* u, float* out, long n) {
  gated_gelu_new_into(g, u, out, n);
}
EMOT5_VERSIONS(void, gated_gelu_new_span, (const float* g, const float* u, float* out, long n), (g, u, out, n))
EMOT5_INLINE void gated_gelu_new_bf16_span_body(const float* g, const float* u, uint16_t* out, long n) {
  gated_gelu_new_into(g, u, out, n);
}
EMOT5_VERSIONS(void, gated_gelu_new_bf16_span, (const float* g, const float* u, uint16_t* out, long n), (g, u, out, n))

// One gated row from an unscaled product: out = gelu_new(g·s)·(u·s), then quantized (out is the
// caller's row buffer; q and the returned scale as quantize_row_s8 gives them for out).
EMOT5_INLINE float gated_gelu_new_quantize_body(const float* g, const float* u, float s, float* out, int n,
                                                int8_t* q) {
#pragma omp simd
  for (int i = 0; i < n; ++i) out[i] = gelu_new(g[i] * s) * (u[i] * s);
  return quantize_s8_body(out, n, q);
}
EMOT5_VERSIONS(float, gated_gelu_new_quantize, (const float* g, const float* u, float s, float* out, int n, int8_t* q),
               (g, u, s, out, n, q))

// A row's largest value; NaN never wins.
EMOT5_INLINE float row_max_body(const float* x, int n) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  return mx;
}
EMOT5_VERSIONS(float, row_max, (const float* x, int n), (x, n))

// A softmax of one row (the decoder's attention), vectorized through fast_exp (relative error
// about 1e-7; arguments below -87, e^-87 ≈ 1.6e-38, count as -87).
EMOT5_INLINE void softmax_row_body(float* x, int n) {
  const float mx = row_max_body(x, n);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int i = 0; i < n; ++i) {
    x[i] = fast_exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int i = 0; i < n; ++i) x[i] *= inv;
}
EMOT5_VERSIONS(void, softmax_row, (float* x, int n), (x, n))

// One head's (L, L) block of attention scores, in place, stored transposed: column i of st holds
// query i's scores (st[j·ld + i] = q_i · k_j), so that each vector holds 16 queries and the
// softmax runs across vectors, with no reduction inside a vector and no scalar tail (a row-major
// block of 25 scores a row spent most of its time in reductions and tails: 2.0 against 0.6 µs).
// brev[i - j] = bias[j - i] (the bias by distance, reversed so that it runs forward with i);
// lanes L..ld-1 are padding, computed on zeros. m and sum: ld floats each. With c (length ld,
// zero-padded): s_ij · c_i c_j + bias, then p_ij · c_j.
EMOT5_INLINE void attention_scores_body(float* st, int L, int ld, const float* brev, const float* c, float* m,
                                          float* sum) {
#pragma omp simd
  for (int i = 0; i < ld; ++i) {
    m[i] = -INFINITY;
    sum[i] = 0.0f;
  }
  for (int j = 0; j < L; ++j) {
    float* sj = st + static_cast<long>(j) * ld;
    const float* bj = brev - j;
    if (c) {
      const float cj = c[j];
#pragma omp simd
      for (int i = 0; i < ld; ++i) {
        const float x = i < L ? sj[i] * (c[i] * cj) + bj[i] : 0.0f;
        sj[i] = x;
        m[i] = x > m[i] ? x : m[i];
      }
    } else {
#pragma omp simd
      for (int i = 0; i < ld; ++i) {
        const float x = i < L ? sj[i] + bj[i] : 0.0f;
        sj[i] = x;
        m[i] = x > m[i] ? x : m[i];
      }
    }
  }
  for (int j = 0; j < L; ++j) {
    float* sj = st + static_cast<long>(j) * ld;
#pragma omp simd
    for (int i = 0; i < ld; ++i) {
      const float e = fast_exp(sj[i] - m[i]);
      sj[i] = e;
      sum[i] += e;
    }
  }
#pragma omp simd
  for (int i = 0; i < ld; ++i) m[i] = 1.0f / sum[i];  // m now holds 1 / sum
  for (int j = 0; j < L; ++j) {
    float* sj = st + static_cast<long>(j) * ld;
    const float cj = c ? c[j] : 1.0f;
#pragma omp simd
    for (int i = 0; i < ld; ++i) sj[i] = sj[i] * (m[i] * cj);
  }
}
EMOT5_VERSIONS(void, attention_scores,
               (float* st, int L, int ld, const float* brev, const float* c, float* m, float* sum),
               (st, L, ld, brev, c, m, sum))

// The head's rows of 32128 logits: their largest value (row_max, above), the sum of
// exp(x - mx) (fast_exp's float exponentials, summed in double), and x - lse.

EMOT5_INLINE double sum_exp_body(const float* x, int n, float mx) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int i = 0; i < n; ++i) sum += static_cast<double>(fast_exp(x[i] - mx));
  return sum;
}
EMOT5_VERSIONS(double, sum_exp, (const float* x, int n, float mx), (x, n, mx))

EMOT5_INLINE void subtract_row_body(const float* x, int n, double lse, float* out) {
#pragma omp simd
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(x[i] - lse);
}
EMOT5_VERSIONS(void, subtract_row, (const float* x, int n, double lse, float* out), (x, n, lse, out))

constexpr long kChunk = 4096, kParallelFrom = 32768;

// Runs f(r0, r1) over rows of `cols` values in chunks of about kChunk values, across the threads
// once there are kParallelFrom values or more.
template <class F>
void for_row_chunks(int rows, int cols, F&& f) {
  const long per_row = std::max(1, cols);
  parallel_chunks(rows, std::max(1L, kChunk / per_row), std::max(1L, kParallelFrom / per_row), std::forward<F>(f));
}

}  // namespace

void rms_norm(const float* x, const float* w, int rows, int cols, float eps, float* out) {
  for_row_chunks(rows, cols, [&](long r0, long r1) { rms_norm_rows(x, w, r0, r1, cols, eps, out); });
}

// gelu_new, the activation of T5 v1.1 and flan-t5, has its own vectorized loop (split across
// threads); the others are rare enough to stay scalar.
void activate(float* x, long n, Act a) {
  if (a == Act::GeluNew) {
    parallel_chunks(n, kChunk, kParallelFrom, [&](long b, long e) { gelu_new_span(x + b, e - b); });
    return;
  }
  for (long i = 0; i < n; ++i) x[i] = act_one(x[i], a);
}

// act(g)·u for rows [g | u] into f32 or bf16 rows, gelu_new through its vectorized span.
template <class T, class Span>
void gated_rows_into(const float* gu, int rows, int F, Act a, T* out, Span span) {
  for_row_chunks(rows, F, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) {
      const float* g = gu + r * 2L * F;
      T* o = out + r * F;
      if (a == Act::GeluNew) {
        span(g, g + F, o, F);
      } else {
        for (int i = 0; i < F; ++i) put(&o[i], act_one(g[i], a) * g[F + i]);
      }
    }
  });
}

void gated_activate_rows(const float* gu, int rows, int F, Act a, float* out) {
  gated_rows_into(gu, rows, F, a, out, gated_gelu_new_span);
}

void rms_norm_bf16(const float* x, const float* w, int rows, int cols, float eps, uint16_t* out) {
  for_row_chunks(rows, cols, [&](long r0, long r1) { rms_norm_bf16_rows(x, w, r0, r1, cols, eps, out); });
}

void gated_activate_bf16_rows(const float* gu, int rows, int F, Act a, uint16_t* out) {
  gated_rows_into(gu, rows, F, a, out, gated_gelu_new_bf16_span);
}

void rms_norm_quantize(const float* x, const float* w, int rows, int cols, float eps, int8_t* q, float* scale) {
  for_row_chunks(rows, cols, [&](long r0, long r1) { rms_norm_quantize_rows(x, w, r0, r1, cols, eps, q, scale); });
}

void residual_rms_norm_quantize(float* x, const float* t, const float* t_scale, const float* w, int rows, int cols,
                                float eps, int8_t* q, float* scale) {
  for_row_chunks(rows, cols, [&](long r0, long r1) {
    residual_rms_norm_quantize_rows(x, t, t_scale, w, r0, r1, cols, eps, q, scale);
  });
}

void add_scaled_rows(float* x, const float* t, const float* t_scale, int rows, int cols) {
  for_row_chunks(rows, cols, [&](long r0, long r1) { add_scaled_rows_span(x, t, t_scale, r0, r1, cols); });
}

void gated_activate_quantize_rows(const float* gu, const float* in_scale, int rows, int F, Act a, int8_t* q,
                                  float* scale) {
  auto rows_fn = [&](long r0, long r1) {
    thread_local std::vector<float> row;  // one row of act(g)·u, in this thread's cache
    if (row.size() < static_cast<size_t>(F)) row.resize(static_cast<size_t>(F));
    for (long r = r0; r < r1; ++r) {
      const float* g = gu + r * 2L * F;
      const float s = in_scale ? in_scale[r] : 1.0f;
      int8_t* qr = q + r * F;
      if (a == Act::GeluNew) {
        scale[r] = gated_gelu_new_quantize(g, g + F, s, row.data(), F, qr);
      } else {
        for (int i = 0; i < F; ++i) row[static_cast<size_t>(i)] = act_one(g[i] * s, a) * (g[F + i] * s);
        scale[r] = quantize_row_s8(row.data(), F, qr);
      }
    }
  };
  for_row_chunks(rows, F, rows_fn);
}

void softmax(float* x, int n) { softmax_row(x, n); }

void attention_softmax(float* st, int L, int ld, const float* bias, const float* c) {
  if (L <= 0) return;
  thread_local std::vector<float> buf;
  // brev over indices -(L-1) .. ld-1 (i - j for i < ld, j < L); cpad, m, sum: ld each.
  const size_t span = static_cast<size_t>(L - 1 + ld);
  if (buf.size() < span + 3 * static_cast<size_t>(ld)) buf.resize(span + 3 * static_cast<size_t>(ld));
  float* brev = buf.data() + (L - 1);
  for (int k = -(L - 1); k < L; ++k) brev[k] = bias[-k];
  for (int k = L; k < ld; ++k) brev[k] = 0.0f;
  float* cpad = buf.data() + span;
  float* m = cpad + ld;
  float* sum = m + ld;
  if (c) {
    std::copy_n(c, L, cpad);
    std::fill(cpad + L, cpad + ld, 0.0f);
  }
  attention_scores(st, L, ld, brev, c ? cpad : nullptr, m, sum);
}

double log_softmax(const float* x, int n, float* out) {
  const float mx = row_max(x, n);
  const double lse = mx + std::log(sum_exp(x, n, mx));
  if (out) subtract_row(x, n, lse, out);
  return lse;
}

void add_inplace(float* y, const float* x, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) y[i] += x[i];
}

void scale_inplace(float* y, float s, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) y[i] *= s;
}

int argmax(const float* x, int n) {
  // The largest value by a vectorized pass, then its first index; NaN never wins (as with >),
  // and a row without a number larger than -inf answers 0.
  const float mx = row_max(x, n);
  for (int i = 0; i < n; ++i)
    if (x[i] == mx) return i;
  return 0;
}

namespace naive {

void rms_norm(const float* x, const float* w, int rows, int cols, float eps, float* out) {
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int c = 0; c < cols; ++c) ss += static_cast<double>(x[r * cols + c]) * x[r * cols + c];
    const double inv = 1.0 / std::sqrt(ss / cols + eps);
    for (int c = 0; c < cols; ++c) out[r * cols + c] = static_cast<float>(w[c] * (x[r * cols + c] * inv));
  }
}

float act(float x, Act a) {
  const double d = x;
  switch (a) {
    case Act::Relu: return x > 0 ? x : 0;
    case Act::Gelu: return static_cast<float>(0.5 * d * (1.0 + std::erf(d / std::sqrt(2.0))));
    case Act::GeluNew:
      return static_cast<float>(0.5 * d * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (d + 0.044715 * d * d * d))));
    case Act::Silu: return static_cast<float>(d / (1.0 + std::exp(-d)));
  }
  return x;
}

void softmax(float* x, int n) {
  double mx = -INFINITY, sum = 0;
  for (int i = 0; i < n; ++i) mx = std::max<double>(mx, x[i]);
  for (int i = 0; i < n; ++i) sum += std::exp(x[i] - mx);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(std::exp(x[i] - mx) / sum);
}

}  // namespace naive
}  // namespace emot5::kernels
