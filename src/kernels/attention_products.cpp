// Attention's two products for one head (see attention_products.h), written for its small sizes
// (L about 25, d_kv 64), where oneDNN's sgemm spends most of a call packing and dispatching.
#include "kernels/attention_products.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/simd.h"

namespace emot5::kernels {

namespace {

// Blocks of 16 or 32 columns are the vectors; each block keeps 8 rows of accumulators in
// registers. Rows of a block past the last row run on a repeated row (scores) or on padding
// columns (context), and are not stored.
constexpr int kAttW = 16, kAttR = 8;

// qt (dk × ld) = q's first L rows (stride ldq) transposed, zero in columns L..ld-1.
EMOT5_INLINE void transpose_q_loops_body(const float* q, int ldq, int L, int dk, float* qt, int ld) {
  for (int d = 0; d < dk; ++d) std::fill(qt + static_cast<long>(d) * ld + L, qt + static_cast<long>(d + 1) * ld, 0.0f);
  for (int i = 0; i < L; ++i) {
    const float* qi = q + static_cast<long>(i) * ldq;
    for (int d = 0; d < dk; ++d) qt[static_cast<long>(d) * ld + i] = qi[d];
  }
}
EMOT5_VERSIONS(void, transpose_q_loops, (const float* q, int ldq, int L, int dk, float* qt, int ld),
               (q, ldq, L, dk, qt, ld))

#if defined(__GNUC__) && defined(__x86_64__)
// The same through 16×16 blocks of AVX-512 shuffles (a scalar transpose costs as much as the
// product it feeds). GCC 12 warns inside its own unpack intrinsics (their unused merge operand).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
EMOT5_TARGET_AVX512 void transpose_q_avx512_blocks(const float* q, int ldq, int L, int dk, float* qt, int ld) {
  const int dk16 = dk / 16 * 16;
  for (int i0 = 0; i0 < ld; i0 += 16) {
    for (int d0 = 0; d0 < dk16; d0 += 16) {
      __m512 r[16], t[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i0 + i < L ? _mm512_loadu_ps(q + static_cast<long>(i0 + i) * ldq + d0) : _mm512_setzero_ps();
      for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
      }
      // r[4g + m], 128-bit lane l: rows 4g..4g+3 of column 4l + m.
      for (int g = 0; g < 4; ++g) {
        r[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        r[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        r[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        r[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
      }
      for (int m = 0; m < 4; ++m) {
        const __m512 w1 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x88), w2 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xDD);
        const __m512 w3 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x88),
                     w4 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xDD);
        float* out = qt + static_cast<long>(d0 + m) * ld + i0;
        _mm512_storeu_ps(out, _mm512_shuffle_f32x4(w1, w3, 0x88));             // column m
        _mm512_storeu_ps(out + 4L * ld, _mm512_shuffle_f32x4(w2, w4, 0x88));   // m + 4
        _mm512_storeu_ps(out + 8L * ld, _mm512_shuffle_f32x4(w1, w3, 0xDD));   // m + 8
        _mm512_storeu_ps(out + 12L * ld, _mm512_shuffle_f32x4(w2, w4, 0xDD));  // m + 12
      }
    }
    for (int d = dk16; d < dk; ++d)
      for (int i = i0; i < i0 + 16; ++i)
        qt[static_cast<long>(d) * ld + i] = i < L ? q[static_cast<long>(i) * ldq + d] : 0.0f;
  }
}
#pragma GCC diagnostic pop
#endif

void transpose_q(const float* q, int ldq, int L, int dk, float* qt, int ld) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (active_isa() == Isa::Avx512) return transpose_q_avx512_blocks(q, ldq, L, dk, qt, ld);
#endif
  transpose_q_loops(q, ldq, L, dk, qt, ld);
}

// st[j·ld + i] = k_j · q_i for i < ld, from qt (dk × ld, q transposed): W columns (a multiple
// of 16) from column i0, for all rows j < L.
template <int W>
EMOT5_INLINE void attention_qk_cols(const float* qt, const float* k, int ldk, int L, int dk, float* st, int ld,
                                    int i0) {
  for (int j = 0; j < L; j += kAttR) {
    const float* kr[kAttR];
    for (int r = 0; r < kAttR; ++r) kr[r] = k + static_cast<long>(std::min(j + r, L - 1)) * ldk;
    float a[kAttR][W] = {};
    for (int d = 0; d < dk; ++d) {
      const float* t = qt + static_cast<long>(d) * ld + i0;
      for (int r = 0; r < kAttR; ++r) {
        const float b = kr[r][d];
#pragma omp simd
        for (int w = 0; w < W; ++w) a[r][w] += b * t[w];
      }
    }
    // Stored element by element: a copy through memmove would take a's address and keep it out
    // of registers (and, under AddressSanitizer, checked on every update).
    for (int r = 0; r < kAttR && j + r < L; ++r) {
      float* out = st + static_cast<long>(j + r) * ld + i0;
#pragma omp simd
      for (int w = 0; w < W; ++w) out[w] = a[r][w];
    }
  }
}
EMOT5_INLINE void attention_qk_body(const float* qt, const float* k, int ldk, int L, int dk, float* st, int ld) {
  int i0 = 0;
  for (; i0 + 2 * kAttW <= ld; i0 += 2 * kAttW) attention_qk_cols<2 * kAttW>(qt, k, ldk, L, dk, st, ld, i0);
  if (i0 < ld) attention_qk_cols<kAttW>(qt, k, ldk, L, dk, st, ld, i0);
}
EMOT5_VERSIONS(void, attention_qk, (const float* qt, const float* k, int ldk, int L, int dk, float* st, int ld),
               (qt, k, ldk, L, dk, st, ld))

// out[i·ldo + d] = Σ_j st[j·ld + i] · v[j·ldv + d] for i < L and W columns from d0. Reads st's
// columns up to L rounded up to 8 (≤ ld).
template <int W>
EMOT5_INLINE void attention_pv_cols(const float* st, int ld, const float* v, int ldv, int L, float* out, int ldo,
                                    int d0) {
  for (int i = 0; i < L; i += kAttR) {
    float a[kAttR][W] = {};
    for (int j = 0; j < L; ++j) {
      const float* vj = v + static_cast<long>(j) * ldv + d0;
      const float* p = st + static_cast<long>(j) * ld + i;
      for (int r = 0; r < kAttR; ++r) {
        const float b = p[r];
#pragma omp simd
        for (int w = 0; w < W; ++w) a[r][w] += b * vj[w];
      }
    }
    for (int r = 0; r < kAttR && i + r < L; ++r) {  // element by element, as in attention_qk_cols
      float* o = out + static_cast<long>(i + r) * ldo + d0;
#pragma omp simd
      for (int w = 0; w < W; ++w) o[w] = a[r][w];
    }
  }
}
EMOT5_INLINE void attention_pv_body(const float* st, int ld, const float* v, int ldv, int L, int dk, float* out,
                                    int ldo) {
  int d0 = 0;
  for (; d0 + 2 * kAttW <= dk; d0 += 2 * kAttW) attention_pv_cols<2 * kAttW>(st, ld, v, ldv, L, out, ldo, d0);
  for (; d0 + kAttW <= dk; d0 += kAttW) attention_pv_cols<kAttW>(st, ld, v, ldv, L, out, ldo, d0);
  for (; d0 < dk; ++d0)  // a d_kv that is not a multiple of 16: the last columns one by one
    for (int i = 0; i < L; ++i) {
      float a = 0.0f;
      for (int j = 0; j < L; ++j) a += st[static_cast<long>(j) * ld + i] * v[static_cast<long>(j) * ldv + d0];
      out[static_cast<long>(i) * ldo + d0] = a;
    }
}
EMOT5_VERSIONS(void, attention_pv, (const float* st, int ld, const float* v, int ldv, int L, int dk, float* out, int ldo),
               (st, ld, v, ldv, L, dk, out, ldo))

}  // namespace

void attention_scores_kq(const float* q, const float* k, int ldqk, int L, int dk, float* st, int ld) {
  if (L <= 0) return;
  if (ld % kAttW != 0 || ld < L)
    throw std::invalid_argument("attention_scores_kq: ld must be a multiple of 16, at least L");
  thread_local std::vector<float> qt;
  if (qt.size() < static_cast<size_t>(dk) * ld) qt.resize(static_cast<size_t>(dk) * ld);
  transpose_q(q, ldqk, L, dk, qt.data(), ld);
  attention_qk(qt.data(), k, ldqk, L, dk, st, ld);
}

void attention_context(const float* st, int ld, const float* v, int ldv, int L, int dk, float* out, int ldo) {
  if (L <= 0) return;
  if (ld < (L + kAttR - 1) / kAttR * kAttR)
    throw std::invalid_argument("attention_context: ld must be at least L rounded up to 8");
  attention_pv(st, ld, v, ldv, L, dk, out, ldo);
}

}  // namespace emot5::kernels
