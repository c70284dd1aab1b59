// int8 matrix products: weights quantized per output row (symmetric, int8, one f32 scale a row)
// and packed once for oneDNN's matmul (matmul.h), activations quantized per row on the fly
// (symmetric, one f32 scale a row), products in int32 with both scales applied in the product's
// output stage (AVX-512 VNNI, AMX or AVX2 code chosen by oneDNN at run time).
// Legend: M rows of x and y, N output rows of the weight (its `rows`), K the shared dimension.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/matmul.h"

namespace emot5::kernels {

struct QuantizedMatrix {
  std::vector<int8_t> q;     // (rows, cols)
  std::vector<float> scale;  // (rows): w ≈ q · scale
  int rows = 0, cols = 0;
  std::shared_ptr<const PackedMatrix> packed;  // q and scale, packed for the fast product
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
