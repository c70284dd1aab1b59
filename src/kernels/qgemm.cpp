// int8 matrix products (see qgemm.h).
#include "kernels/qgemm.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/quantize_body.h"
#include "kernels/simd.h"

namespace emot5::kernels {

namespace {

// One weight row: scale = max|w| / 127 (NaN ignored; 1 for a zero row), q = w / scale rounded
// half to even and clamped to ±127, NaN to 0: what std::lrint(std::clamp(w / s, -127, 127))
// gives, in loops that vectorize (a model's weights are quantized at every int8 load).
EMOT5_INLINE float quantize_weight_row_body(const float* w, int cols, int8_t* q) {
  const float s = s8_scale_for(max_abs_body(w, cols));
#pragma omp simd
  for (int c = 0; c < cols; ++c) {
    float v = w[c] / s;
    v = v != v ? 0.0f : v;
    v = v < -127.0f ? -127.0f : v;
    v = v > 127.0f ? 127.0f : v;
    q[c] = s8_round(v);
  }
  return s;
}
EMOT5_VERSIONS(float, quantize_weight_row, (const float* w, int cols, int8_t* q), (w, cols, q))

}  // namespace

QuantizedMatrix quantize_rows(const float* w, int rows, int cols) {
  QuantizedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.q.resize(static_cast<size_t>(rows) * cols);
  m.scale.resize(static_cast<size_t>(rows));
  int8_t* const q = m.q.data();
  float* const scale = m.scale.data();
  parallel_chunks(rows, std::max(1, 4096 / std::max(1, cols)), 1, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r)
      scale[r] = quantize_weight_row(w + static_cast<size_t>(r) * cols, cols, q + static_cast<size_t>(r) * cols);
  });
  if (rows > 0 && cols > 0) m.packed = std::make_shared<const PackedMatrix>(m.q.data(), m.scale.data(), rows, cols);
  return m;
}

namespace {

// x row → u8 with zero point 128 and its scale: x ≈ (q - 128) · scale. Rounds half to even.
EMOT5_INLINE float quantize_activation_row_body(const float* x, int K, uint8_t* out) {
  float mx = 0.0f;
#pragma omp simd reduction(max : mx)
  for (int k = 0; k < K; ++k) mx = std::max(mx, std::fabs(x[k]));
  const float s = mx > 0 ? mx / 127.0f : 1.0f;
  const float inv = 1.0f / s;
#pragma omp simd
  for (int k = 0; k < K; ++k) {
    const float v = std::nearbyint(std::min(127.0f, std::max(-127.0f, x[k] * inv)));
    out[k] = static_cast<uint8_t>(static_cast<int>(v) + 128);
  }
  return s;
}
EMOT5_VERSIONS(float, quantize_activation_row, (const float* x, int K, uint8_t* out), (x, K, out))

}  // namespace

void gemm_nt_int8(int M, int N, int K, const float* x, int ldx, const QuantizedMatrix& w, float* y, int ldy,
                  float beta) {
  if (M == 0 || N == 0) return;
  if (!w.packed || w.rows != N || w.cols != K)
    throw std::invalid_argument("gemm_nt_int8: the weight is " + std::to_string(w.rows) + "x" + std::to_string(w.cols) +
                                ", the product wants " + std::to_string(N) + "x" + std::to_string(K));
  if (beta == 0.0f || beta == 1.0f) return w.packed->multiply(M, x, ldx, y, ldy, beta);
  thread_local std::vector<float> t;  // the packed product accumulates only with beta 1
  t.resize(static_cast<size_t>(M) * N);
  w.packed->multiply(M, x, ldx, t.data(), N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      float& out = y[static_cast<size_t>(m) * ldy + n];
      out = t[static_cast<size_t>(m) * N + n] + beta * out;
    }
}

namespace naive {

void gemm_nt_int8(int M, int N, int K, const float* x, int ldx, const QuantizedMatrix& w, float* y, int ldy,
                  float beta) {
  std::vector<uint8_t> xq(static_cast<size_t>(K));
  for (int m = 0; m < M; ++m) {
    const float sx = quantize_activation_row(x + static_cast<size_t>(m) * ldx, K, xq.data());
    for (int n = 0; n < N; ++n) {
      int64_t acc = 0;
      for (int k = 0; k < K; ++k)
        acc += (static_cast<int64_t>(xq[static_cast<size_t>(k)]) - 128) * w.q[static_cast<size_t>(n) * K + k];
      float& out = y[static_cast<size_t>(m) * ldy + n];
      out = static_cast<float>(acc) * sx * w.scale[static_cast<size_t>(n)] + (beta == 0.0f ? 0.0f : beta * out);
    }
  }
}

}  // namespace naive
}  // namespace emot5::kernels
