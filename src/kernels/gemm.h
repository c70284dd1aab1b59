// Matrix products on row-major f32 buffers. Legend: M rows of A and C, N columns of C,
// K the shared dimension; ld* are row strides in elements. The fast path is oneDNN's sgemm,
// which picks AVX-512 / AVX2 code at run time; naive:: is the reference for tests.
#pragma once

namespace emot5::kernels {

// C[M,N] = A[M,K] · B[N,K]^T + beta·C   (B in PyTorch's Linear layout [out, in])
void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
             int ldc, float beta = 0.0f);

// C[M,N] = A[K,M]^T · B[K,N] + beta·C
void gemm_tn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
             int ldc, float beta = 0.0f);

namespace naive {
void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
             int ldc, float beta = 0.0f);
void gemm_tn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
             int ldc, float beta = 0.0f);
}  // namespace naive

}  // namespace emot5::kernels
