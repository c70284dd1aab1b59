// Linear-layer products with weights packed once, at load, into the layout oneDNN's matmul
// prefers for this CPU (its brgemm kernels: AVX-512, AVX-512 BF16 or AVX2, chosen by oneDNN at run
// time). Packing once matters at small batches: a BLAS-style sgemm repacks the weight on every
// call, which at 25 rows costs as much as the product. Weights are f32 or bf16; with bf16,
// activations are rounded to bf16 per product and sums stay f32.
// Legend: M rows of x and y, N output rows of the weight (its `rows`), K the shared dimension.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace emot5::kernels {

enum class WeightType { F32, Bf16 };

class PackedMatrix {
 public:
  // w is (rows, cols) row-major f32 (PyTorch's Linear layout); it is not referenced afterwards.
  PackedMatrix(const float* w, int rows, int cols, WeightType type);
  ~PackedMatrix();
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  WeightType type() const { return type_; }
  size_t bytes() const;  // the packed weight's size, with the copies in other layouts made so far

  // y[M,N] = x[M,K] · w^T + beta·y, beta 0 or 1. Safe to call from several threads at once.
  void multiply(int M, const float* x, int ldx, float* y, int ldy, float beta = 0.0f) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rows_, cols_;
  WeightType type_;
};

// How many oneDNN matmul kernels are cached: one per weight type, shape, batch size and thread
// count seen so far (for tests and diagnostics).
size_t matmul_kernels_cached();

// x → bf16 bits, rounding to nearest even (the vectorized form of io's f32_to_bf16).
void f32_to_bf16_row(const float* x, long n, uint16_t* out);

namespace naive {
// The same arithmetic as PackedMatrix::multiply (with bf16, x and w rounded to bf16 first; f32
// accumulation in double here), from the unpacked weight w (N, K).
void gemm_nt_typed(int M, int N, int K, const float* x, int ldx, const float* w, WeightType type, float* y, int ldy,
                   float beta = 0.0f);
}  // namespace naive

}  // namespace emot5::kernels
