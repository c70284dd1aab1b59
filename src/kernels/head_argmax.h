// Greedy decoding's choice over a large head without the head's full f32 product.
//
// argmax_v x·w_v over the V rows of w (V, D). A bf16 product screens every row. Each screened
// value a_v carries a proven bound E_v on its distance from the exact product x·w_v:
//   |a_v - x·w_v| ≤ ‖w_v - bf16(w_v)‖·‖bf16(x)‖ + ‖w_v‖·(‖bf16(x) - x‖ + γ·‖bf16(x)‖),
// the two roundings to bf16 and the f32 sum's own error (γ = 2(D+2)·2⁻²⁴). A row is dropped only
// when another row is sure to beat it (a_v + E_v < max_u (a_u - E_u)), and the rows left, a
// handful in practice, are multiplied with their sums in double. The answer is the exact argmax
// (first index on ties): the full f32 product's answer unless two logits tie within f32's
// rounding, where f32 kernels disagree among themselves and this one follows exact arithmetic.
// A row of x whose screen is not finite (overflow, NaN) is multiplied over the whole head
// instead, and answers as argmax() over those logits (NaN never wins).
//
// On CPUs without native bf16 products (AVX512_BF16) the screen would cost more than it saves:
// the caller then passes its packed f32 head, and each choice is argmax() over its product.
#pragma once
#include <atomic>
#include <memory>
#include <vector>

#include "kernels/matmul.h"

namespace emot5::kernels {

class HeadArgmax {
 public:
  // w (V, D) row-major f32; it is referenced afterwards and must outlive this. With `full` (w
  // packed as an f32 PackedMatrix, which must outlive this too) there is no screen: each choice
  // is argmax() over full's product.
  HeadArgmax(const float* w, int rows, int cols, const PackedMatrix* full = nullptr);
  ~HeadArgmax();

  // best[m] = argmax_v x_m · w_v for the M rows of x (M, D, dense); rows with skip[m] set are
  // left as they are. Safe to call from several threads at once.
  void argmax(int M, const float* x, int* best, const char* skip = nullptr) const;

  bool screens() const { return screen_ != nullptr; }
  // Rows multiplied after the screen, and rows of x screened, since construction.
  long long rechecked() const { return rechecked_.load(); }
  long long screened() const { return screened_.load(); }

 private:
  int full_row(const float* x) const;  // the whole head for one row of x, unpacked

  const float* w_;
  int rows_, cols_;
  std::unique_ptr<PackedMatrix> screen_;  // bf16
  const PackedMatrix* full_ = nullptr;    // f32, the caller's, when not screening
  std::vector<float> round_err_;          // ‖w_v - bf16(w_v)‖, rounded up
  std::vector<float> norm_;               // max(‖w_v‖, ‖bf16(w_v)‖), rounded up
  mutable std::atomic<long long> rechecked_{0}, screened_{0};
};

}  // namespace emot5::kernels
