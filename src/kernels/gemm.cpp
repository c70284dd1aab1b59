// Matrix products through oneDNN (see gemm.h).
#include "kernels/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <cassert>
#include <stdexcept>
#include <string>

#include "kernels/foreign.h"

namespace emot5::kernels {

namespace {
void check(dnnl_status_t s) {
  if (s != dnnl_success) throw std::runtime_error("oneDNN sgemm failed with status " + std::to_string(s));
}
}  // namespace

void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
             int ldc, float beta) {
  if (M == 0 || N == 0) return;
  const ForeignCall foreign;
  check(dnnl_sgemm('N', 'T', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc));
}

void gemm_tn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
             int ldc, float beta) {
  if (M == 0 || N == 0) return;
  const ForeignCall foreign;
  check(dnnl_sgemm('T', 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc));
}

namespace naive {

namespace {
// C = A'·B' + beta·C in double, A' and B' read through strides: A (lda, 1) or, transposed,
// (1, lda); B^T (1, ldb) or B (ldb, 1).
void gemm_strided(int M, int N, int K, const float* A, long a_m, long a_k, const float* B, long b_k, long b_n,
                  float* C, int ldc, float beta) {
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double acc = 0;
      for (int k = 0; k < K; ++k) acc += static_cast<double>(A[m * a_m + k * a_k]) * B[k * b_k + n * b_n];
      float& c = C[m * ldc + n];
      c = static_cast<float>(acc) + (beta == 0.0f ? 0.0f : beta * c);
    }
}
}  // namespace

void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
             int ldc, float beta) {
  gemm_strided(M, N, K, A, lda, 1, B, 1, ldb, C, ldc, beta);
}

void gemm_tn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
             int ldc, float beta) {
  gemm_strided(M, N, K, A, 1, lda, B, ldb, 1, C, ldc, beta);
}

}  // namespace naive
}  // namespace emot5::kernels
