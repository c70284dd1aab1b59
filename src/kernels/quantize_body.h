// The int8 quantization of one row, as always-inline pieces for the loops that produce rows
// (matmul.cpp's quantize_row_s8, and ops.cpp's RMSNorm and gated activation, which quantize
// their output in the same pass). Symmetric, one scale a row: x ≈ q · scale, scale =
// max|x| / 127 (1 for an all-zero row), q rounded to nearest, ties to even.
#pragma once
#include <cstdint>

#include "kernels/simd.h"

namespace emot5::kernels {

// f32 → bf16, rounding to nearest even (NaN not kept apart: activations are finite here), as
// every bf16 product rounds its inputs.
EMOT5_INLINE uint16_t bf16_round(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, sizeof u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

EMOT5_INLINE float s8_scale_for(float max_abs) { return max_abs > 0 ? max_abs / 127.0f : 1.0f; }

// The row's largest magnitude; NaN never wins.
EMOT5_INLINE float max_abs_body(const float* x, int n) {
  float mx = 0.0f;
#pragma omp simd reduction(max : mx)
  for (int i = 0; i < n; ++i) {
    const float a = x[i] < 0 ? -x[i] : x[i];
    mx = a > mx ? a : mx;
  }
  return mx;
}

// v = x / scale: |v| <= 127 up to the last place, since every caller's scale is its row's largest
// magnitude over 127. Adding and taking away 1.5 · 2^23 rounds it to the nearest integer, ties to
// even, as nearbyint does in the default rounding mode, and (unlike nearbyint) vectorizes; the
// clamp is on integers (a min and a max), where comparisons of floats before the conversion cost
// a third of the row's time.
EMOT5_INLINE int8_t s8_round(float v) {
  constexpr float kRound = 12582912.0f;
  int i = static_cast<int>((v + kRound) - kRound);
  i = i < -127 ? -127 : i;
  i = i > 127 ? 127 : i;
  return static_cast<int8_t>(i);
}

EMOT5_INLINE float quantize_s8_body(const float* __restrict x, int K, int8_t* __restrict out) {
  const float s = s8_scale_for(max_abs_body(x, K));
  const float inv = 1.0f / s;
#pragma omp simd
  for (int k = 0; k < K; ++k) out[k] = s8_round(x[k] * inv);
  return s;
}

}  // namespace emot5::kernels
