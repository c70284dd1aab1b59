// Linear-layer products with weights packed once, at load, into the layout oneDNN's matmul
// prefers for this CPU (its brgemm kernels: AVX-512, AVX-512 BF16, VNNI or AVX2, chosen by oneDNN
// at run time). Packing once matters at small batches: a BLAS-style gemm repacks the weight on
// every call, which at 25 rows costs as much as the product. Weights are f32, bf16 or int8:
// - bf16: activations are rounded to bf16 per product and sums stay f32;
// - int8: symmetric, one scale per output row; activations are quantized to int8 per row (one
//   scale a row), by the layer that produces them where it can (kernels/ops.h), else as they are
//   read; sums are int32; the weight's scales are applied in the product's output stage (a
//   binary post-op), the activations' as its rows are stored or by the layer that reads them.
// Legend: M rows of x and y, N output rows of the weight (its `rows`), K the shared dimension.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace emot5::kernels {

enum class WeightType { F32, Bf16, Int8 };

class PackedMatrix {
 public:
  // w is (rows, cols) row-major f32 (PyTorch's Linear layout); it is not referenced afterwards.
  PackedMatrix(const float* w, int rows, int cols, WeightType type);  // F32 or Bf16
  // Int8: q (rows, cols) with w ≈ q · row_scale[row]; neither is referenced afterwards.
  PackedMatrix(const int8_t* q, const float* row_scale, int rows, int cols);
  ~PackedMatrix();
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  WeightType type() const { return type_; }
  size_t bytes() const;  // the packed weight's size, with the copies in other layouts made so far

  // y[M,N] = x[M,K] · w^T + beta·y, beta 0 or 1. Safe to call from several threads at once.
  void multiply(int M, const float* x, int ldx, float* y, int ldy, float beta = 0.0f) const;
  // Int8 only: the same from x already quantized, xq (M, K) with x ≈ xq · x_scale[m] (see
  // quantize_row_s8), for producers that quantize their own output. x_scale null: the rows of
  // the product are left unscaled (y = (xq · w^T) + beta·y), for consumers that apply x_scale
  // themselves as they read y.
  void multiply_quantized(int M, const int8_t* xq, const float* x_scale, float* y, int ldy, float beta = 0.0f) const;
  // Bf16 only: the same from x already rounded to bf16, xb (M, K) dense (as f32_to_bf16_row
  // rounds), for producers that round their own output.
  void multiply_bf16(int M, const uint16_t* xb, float* y, int ldy, float beta = 0.0f) const;

 private:
  // Dense src rows of the weight's type into y (ldy), through a dense buffer when ldy != rows.
  void run_dense(int M, const void* src_data, float* y, int ldy, float beta) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rows_, cols_;
  WeightType type_;
};

// How many oneDNN matmul kernels are cached: one per weight type, shape, batch size and thread
// count seen so far (for tests and diagnostics).
size_t matmul_kernels_cached();

// x row → int8 with one scale, returned: x ≈ q · scale, scale = max|x| / 127, rounding half to
// even (1 for an all-zero row).
float quantize_row_s8(const float* x, int K, int8_t* out);
// The same for rows (rows, K) of stride ldx, split across the threads: q dense (rows, K),
// scale[r] for row r.
void quantize_rows_s8(const float* x, int rows, int K, int ldx, int8_t* q, float* scale);

// x → bf16 bits, rounding to nearest even (the vectorized form of io's f32_to_bf16).
void f32_to_bf16_row(const float* x, long n, uint16_t* out);
// The same for rows (rows, K) of stride ldx, split across the threads: out dense (rows, K).
void f32_to_bf16_rows(const float* x, int rows, int K, int ldx, uint16_t* out);

namespace naive {
// The same arithmetic as PackedMatrix::multiply (with bf16, x and w rounded to bf16 first; f32
// accumulation in double here), from the unpacked weight w (N, K).
void gemm_nt_typed(int M, int N, int K, const float* x, int ldx, const float* w, WeightType type, float* y, int ldy,
                   float beta = 0.0f);
}  // namespace naive

}  // namespace emot5::kernels
