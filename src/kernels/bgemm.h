// bf16 matrix products: weights stored in bf16 (one conversion at load), activations rounded to
// bf16 on the fly, products accumulated in f32 by oneDNN's matmul (AVX-512 BF16 instructions
// where the CPU has them, chosen by oneDNN at run time; other CPUs get oneDNN's emulation).
// Legend: M rows of x and y, N output rows of the weight (its `rows`), K the shared dimension.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace emot5::kernels {

struct Bf16Matrix {
  std::vector<uint16_t> w;  // (rows, cols), bf16 bits
  int rows = 0, cols = 0;
  struct Kernels;                      // oneDNN primitives for this shape, made on first use
  std::shared_ptr<Kernels> kernels;
};

Bf16Matrix to_bf16_matrix(const float* w, int rows, int cols);

// y[M,N] = bf16(x[M,K]) · w^T + beta·y. Safe to call from several threads at once.
void gemm_nt_bf16(int M, int N, int K, const float* x, int ldx, const Bf16Matrix& w, float* y, int ldy,
                  float beta = 0.0f);

// x → bf16 bits, rounding to nearest even.
void f32_to_bf16_row(const float* x, long n, uint16_t* out);

namespace naive {
// The same arithmetic (bf16-rounded x and w, f32 accumulation) as plain loops.
void gemm_nt_bf16(int M, int N, int K, const float* x, int ldx, const Bf16Matrix& w, float* y, int ldy,
                  float beta = 0.0f);
}

}  // namespace emot5::kernels
