// int8 matrix products (see qgemm.h).
#include "kernels/qgemm.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/simd.h"

namespace emot5::kernels {

QuantizedMatrix quantize_rows(const float* w, int rows, int cols) {
  QuantizedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.q.resize(static_cast<size_t>(rows) * cols);
  m.scale.resize(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    const float* wr = w + static_cast<size_t>(r) * cols;
    float mx = 0.0f;
    for (int c = 0; c < cols; ++c) mx = std::max(mx, std::fabs(wr[c]));
    const float s = mx > 0 ? mx / 127.0f : 1.0f;
    m.scale[static_cast<size_t>(r)] = s;
    for (int c = 0; c < cols; ++c)
      m.q[static_cast<size_t>(r) * cols + c] = static_cast<int8_t>(std::lrint(std::clamp(wr[c] / s, -127.0f, 127.0f)));
  }
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
