// int8 matrix products: weights quantized per output row (symmetric, int8, one f32 scale a row),
// activations quantized per row on the fly (u8 with zero point 128, one f32 scale a row), products
// in int32 through oneDNN's u8s8s32 gemm (AVX-512 VNNI / AVX2 code chosen at run time).
// Legend: M rows of x and y, N output rows of the weight (its `rows`), K the shared dimension.
#pragma once
#include <cstdint>
#include <vector>

namespace emot5::kernels {

struct QuantizedMatrix {
  std::vector<int8_t> q;     // (rows, cols)
  std::vector<float> scale;  // (rows): w ≈ q · scale
  int rows = 0, cols = 0;
};

QuantizedMatrix quantize_rows(const float* w, int rows, int cols);

// y[M,N] = x[M,K] · dequant(w)^T + beta·y, with x quantized per row.
void gemm_nt_int8(int M, int N, int K, const float* x, int ldx, const QuantizedMatrix& w, float* y, int ldy,
                  float beta = 0.0f);

namespace naive {
// The same arithmetic (the same rounding of x and w), written as plain loops.
void gemm_nt_int8(int M, int N, int K, const float* x, int ldx, const QuantizedMatrix& w, float* y, int ldy,
                  float beta = 0.0f);
}

}  // namespace emot5::kernels
