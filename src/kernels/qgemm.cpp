// int8 matrix products (see qgemm.h).
#include "kernels/qgemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/foreign.h"
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

// y row = acc row · sx · w.scale (+ beta · y row).
EMOT5_INLINE void dequantize_row_body(const int32_t* acc, int N, float sx, const float* wscale, float beta, float* y) {
  if (beta == 0.0f) {
#pragma omp simd
    for (int n = 0; n < N; ++n) y[n] = static_cast<float>(acc[n]) * sx * wscale[n];
  } else {
#pragma omp simd
    for (int n = 0; n < N; ++n) y[n] = beta * y[n] + static_cast<float>(acc[n]) * sx * wscale[n];
  }
}

EMOT5_VERSIONS(void, dequantize_row, (const int32_t* acc, int N, float sx, const float* wscale, float beta, float* y),
               (acc, N, sx, wscale, beta, y))

constexpr long kParallelFrom = 32768;  // elements; smaller products stay on one thread

}  // namespace

void gemm_nt_int8(int M, int N, int K, const float* x, int ldx, const QuantizedMatrix& w, float* y, int ldy,
                  float beta) {
  if (M == 0 || N == 0) return;
  thread_local std::vector<uint8_t> xq;
  thread_local std::vector<float> xs;
  thread_local std::vector<int32_t> acc;
  xq.resize(static_cast<size_t>(M) * K);
  xs.resize(static_cast<size_t>(M));
  acc.resize(static_cast<size_t>(M) * N);
  // Plain pointers: inside the parallel lambdas a thread_local name would be the worker's own.
  uint8_t* const xq_p = xq.data();
  float* const xs_p = xs.data();
  int32_t* const acc_p = acc.data();
  parallel_chunks(M, std::max(1, 4096 / K), std::max(1L, kParallelFrom / K), [&](long m0, long m1) {
    for (long m = m0; m < m1; ++m)
      xs_p[m] = quantize_activation_row(x + static_cast<size_t>(m) * ldx, K, xq_p + static_cast<size_t>(m) * K);
  });
  const int32_t co = 0;
  // acc = (xq - 128) · w.q^T
  ForeignCall foreign;
  const auto st = dnnl_gemm_u8s8s32('N', 'T', 'F', M, N, K, 1.0f, xq_p, K, 128, w.q.data(), K, 0, 0.0f, acc_p, N, &co);
  if (st != dnnl_success) throw std::runtime_error("oneDNN gemm_u8s8s32 failed with status " + std::to_string(st));
  parallel_chunks(M, std::max(1, 4096 / N), std::max(1L, kParallelFrom / N), [&](long m0, long m1) {
    for (long m = m0; m < m1; ++m)
      dequantize_row(acc_p + static_cast<size_t>(m) * N, N, xs_p[m], w.scale.data(), beta,
                     y + static_cast<size_t>(m) * ldy);
  });
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
