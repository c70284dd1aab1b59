// See head_argmax.h for the screen and its bound.
#include "kernels/head_argmax.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

#include "io/tensor.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace emot5::kernels {

namespace {

// The candidates' logits: products of floats are exact in double, and the sum's error is far
// below f32's rounding, so near-ties are decided as exact arithmetic decides them.
EMOT5_INLINE double dot_double_body(const float* a, const float* b, int n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}
EMOT5_VERSIONS(double, dot_double, (const float* a, const float* b, int n), (a, b, n))

// The largest a_v - E_v, E_v = err_v·ca + norm_v·cb + cc; -inf when some a_v is not finite.
EMOT5_INLINE float screen_floor_body(const float* a, const float* err, const float* norm, int n, float ca, float cb,
                                     float cc) {
  float lo = -FLT_MAX;
  int bad = 0;
#pragma omp simd reduction(max : lo) reduction(| : bad)
  for (int v = 0; v < n; ++v) {
    lo = std::max(lo, a[v] - (err[v] * ca + norm[v] * cb + cc));
    bad |= !(std::fabs(a[v]) <= FLT_MAX);
  }
  return bad ? -std::numeric_limits<float>::infinity() : lo;
}
EMOT5_VERSIONS(float, screen_floor,
               (const float* a, const float* err, const float* norm, int n, float ca, float cb, float cc),
               (a, err, norm, n, ca, cb, cc))

// How many of a[v0, v1) may still hold the maximum (a_v + E_v ≥ lo): a vectorized count, so that
// the caller scans only the blocks that hold one.
EMOT5_INLINE int screen_count_body(const float* a, const float* err, const float* norm, int v0, int v1, float ca,
                                   float cb, float cc, float lo) {
  int n = 0;
#pragma omp simd reduction(+ : n)
  for (int v = v0; v < v1; ++v) n += a[v] + (err[v] * ca + norm[v] * cb + cc) >= lo;
  return n;
}
EMOT5_VERSIONS(int, screen_count,
               (const float* a, const float* err, const float* norm, int v0, int v1, float ca, float cb, float cc,
                float lo),
               (a, err, norm, v0, v1, ca, cb, cc, lo))

// Rounds a non-negative double up to the next float at or above it.
float round_up(double x) {
  const auto f = static_cast<float>(x);
  return static_cast<double>(f) >= x ? f : std::nextafter(f, std::numeric_limits<float>::infinity());
}

}  // namespace

HeadArgmax::HeadArgmax(const float* w, int rows, int cols, const PackedMatrix* full)
    : w_(w), rows_(rows), cols_(cols), full_(full) {
  if (full_) return;
  screen_ = std::make_unique<PackedMatrix>(w, rows, cols, WeightType::Bf16);
  round_err_.resize(static_cast<size_t>(rows));
  norm_.resize(static_cast<size_t>(rows));
  bool finite = true;
#pragma omp parallel reduction(&& : finite)
  {
    std::vector<uint16_t> b(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int v = 0; v < rows; ++v) {
      const float* wr = w + static_cast<size_t>(v) * cols;
      f32_to_bf16_row(wr, cols, b.data());
      double err = 0, nw = 0, nb = 0;
      for (int i = 0; i < cols; ++i) {
        const double x = wr[i], r = bf16_to_f32(b[static_cast<size_t>(i)]);
        err += (r - x) * (r - x);
        nw += x * x;
        nb += r * r;
      }
      round_err_[static_cast<size_t>(v)] = round_up(std::sqrt(err) * (1 + 1e-12));
      norm_[static_cast<size_t>(v)] = round_up(std::sqrt(std::max(nw, nb)) * (1 + 1e-12));
      finite = finite && std::isfinite(round_err_[static_cast<size_t>(v)]) && std::isfinite(norm_[static_cast<size_t>(v)]);
    }
  }
  if (!finite) {  // a weight near FLT_MAX: no bound holds, so every row goes to full_row
    screen_.reset();
    round_err_.clear();
    norm_.clear();
  }
}

HeadArgmax::~HeadArgmax() = default;

int HeadArgmax::full_row(const float* x) const {
  std::vector<float> z(static_cast<size_t>(rows_));
  for (int v = 0; v < rows_; ++v)
    z[static_cast<size_t>(v)] = static_cast<float>(dot_double(w_ + static_cast<size_t>(v) * cols_, x, cols_));
  return kernels::argmax(z.data(), rows_);
}

void HeadArgmax::argmax(int M, const float* x, int* best, const char* skip) const {
  if (M <= 0) return;
  const int V = rows_, D = cols_;
  if (!screen_ && !full_) {  // weights whose bound does not hold
#pragma omp parallel for schedule(static) if (M > 1)
    for (int m = 0; m < M; ++m)
      if (!(skip && skip[m])) best[m] = full_row(x + static_cast<size_t>(m) * D);
    return;
  }
  thread_local std::vector<float> a;
  a.resize(static_cast<size_t>(M) * V);
  float* const ap = a.data();  // not the thread_local name inside the parallel loop
  if (full_) {
    full_->multiply(M, x, D, ap, V);
#pragma omp parallel for schedule(static) if (M > 1)
    for (int m = 0; m < M; ++m)
      if (!(skip && skip[m])) best[m] = kernels::argmax(ap + static_cast<size_t>(m) * V, V);
    return;
  }
  screen_->multiply(M, x, D, ap, V);
  // γ for D products summed in f32 in any order (with the pairwise steps of a bf16 dot product).
  const double gamma = 2.0 * (D + 2) * std::ldexp(1.0, -24);
  long long rechecked = 0;
#pragma omp parallel for schedule(static) if (M > 1) reduction(+ : rechecked)
  for (int m = 0; m < M; ++m) {
    if (skip && skip[m]) continue;
    const float* xm = x + static_cast<size_t>(m) * D;
    const float* am = ap + static_cast<size_t>(m) * V;
    std::vector<uint16_t> xb(static_cast<size_t>(D));
    f32_to_bf16_row(xm, D, xb.data());
    double nb = 0, eb = 0;
    for (int i = 0; i < D; ++i) {
      const double r = bf16_to_f32(xb[static_cast<size_t>(i)]), d = r - xm[i];
      nb += r * r;
      eb += d * d;
    }
    nb = std::sqrt(nb);
    eb = std::sqrt(eb);
    // The bound's coefficients, rounded up with a margin for the float arithmetic of E_v itself;
    // cc covers bf16 products' flushing of subnormals.
    const float ca = round_up(nb * (1 + 1e-5)), cb = round_up((eb + gamma * nb) * (1 + 1e-5)),
                cc = round_up(std::ldexp(1.0, -100) * D * (1 + nb));
    const float lo = std::isfinite(ca) && std::isfinite(cb)
                         ? screen_floor(am, round_err_.data(), norm_.data(), V, ca, cb, cc)
                         : -std::numeric_limits<float>::infinity();
    if (!std::isfinite(lo)) {
      best[m] = full_row(xm);
      rechecked += V;
      continue;
    }
    int pick = -1;
    double top = 0.0;
    const float* err = round_err_.data();
    const float* nrm = norm_.data();
    constexpr int kBlock = 128;
    for (int v0 = 0; v0 < V; v0 += kBlock) {
      const int v1 = std::min(V, v0 + kBlock);
      if (screen_count(am, err, nrm, v0, v1, ca, cb, cc, lo) == 0) continue;
      for (int v = v0; v < v1; ++v) {
        if (am[v] + (err[v] * ca + nrm[v] * cb + cc) < lo) continue;
        const double z = dot_double(w_ + static_cast<size_t>(v) * D, xm, D);
        ++rechecked;
        if (pick < 0 ? !std::isnan(z) : z > top) {
          pick = v;
          top = z;
        }
      }
    }
    best[m] = pick >= 0 ? pick : 0;
  }
  rechecked_ += rechecked;
  screened_ += M;
}

}  // namespace emot5::kernels
