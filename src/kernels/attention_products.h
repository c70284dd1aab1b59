// Attention's two products for one head, by hand (see attention_products.cpp).
#pragma once

namespace emot5::kernels {

// q, k and v rows of stride ldqk or ldv, d_kv dk, L tokens:
// st[j·ld + i] = k_j · q_i for j < L and i < ld (0 for i ≥ L; ld a multiple of 16 and ≥ L), the
// transposed scores that attention_softmax (ops.h) takes; and
// out[i·ldo + d] = Σ_j st[j·ld + i] · v_j[d] for i < L (ld at least L rounded up to 8; st's
// columns L..ld-1 may hold anything).
void attention_scores_kq(const float* q, const float* k, int ldqk, int L, int dk, float* st, int ld);
void attention_context(const float* st, int ld, const float* v, int ldv, int L, int dk, float* out, int ldo);

}  // namespace emot5::kernels
