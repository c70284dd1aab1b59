// Each optimized kernel against its naive reference, on random data and awkward shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/head_argmax.h"
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "model/relative_position.h"

namespace emot5::kernels {
namespace {

std::vector<float> random_vec(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol) << "index " << i;
}

// Symmetric int8 of one row, written independently of quantize_body.h: scale = max|x| / 127,
// q = nearbyint(x / scale).
void reference_s8(const float* x, int n, int8_t* q, float* scale) {
  float mx = 0;
  for (int i = 0; i < n; ++i) mx = std::max(mx, std::fabs(x[i]));
  *scale = mx > 0 ? mx / 127.0f : 1.0f;
  for (int i = 0; i < n; ++i) q[i] = static_cast<int8_t>(std::nearbyint(std::clamp(x[i] / *scale, -127.0f, 127.0f)));
}

// q and scale (a fused kernel's) against reference_s8 of the f32 rows `want`: the scales within
// 1e-5 relative, each q within one step (the f32 rows may differ from the fused kernel's in
// their last place, and a value on a rounding boundary may then go either way).
void expect_quantized(const std::vector<float>& want, int rows, int cols, const std::vector<int8_t>& q,
                      const std::vector<float>& scale, const std::string& what) {
  std::vector<int8_t> rq(static_cast<size_t>(cols));
  for (int r = 0; r < rows; ++r) {
    float rs = 0;
    reference_s8(&want[static_cast<size_t>(r) * cols], cols, rq.data(), &rs);
    ASSERT_NEAR(scale[r], rs, 1e-5f * rs) << what << ", row " << r;
    for (int c = 0; c < cols; ++c)
      ASSERT_LE(std::abs(q[static_cast<size_t>(r) * cols + c] - rq[c]), 1) << what << ", row " << r << " col " << c;
  }
}

struct Shape {
  int M, N, K;
};

class GemmTest : public ::testing::TestWithParam<Shape> {};

TEST_P(GemmTest, NtMatchesNaiveWithStridesAndBeta) {
  const auto [M, N, K] = GetParam();
  const int lda = K + 3, ldb = K + 5, ldc = N + 2;
  const auto A = random_vec(static_cast<size_t>(M) * lda, 1), B = random_vec(static_cast<size_t>(N) * ldb, 2);
  auto C1 = random_vec(static_cast<size_t>(M) * ldc, 3), C2 = C1;
  gemm_nt(M, N, K, A.data(), lda, B.data(), ldb, C1.data(), ldc, 1.0f);
  naive::gemm_nt(M, N, K, A.data(), lda, B.data(), ldb, C2.data(), ldc, 1.0f);
  expect_close(C1, C2, 1e-4f * std::sqrt(static_cast<float>(K)));
}

TEST_P(GemmTest, TnMatchesNaiveWithStrides) {
  const auto [M, N, K] = GetParam();
  const int lda = M + 3, ldb = N + 1, ldc = N + 2;  // A is (K, M), B (K, N)
  const auto A = random_vec(static_cast<size_t>(K) * lda, 4), B = random_vec(static_cast<size_t>(K) * ldb, 5);
  auto C1 = random_vec(static_cast<size_t>(M) * ldc, 8), C2 = C1;
  gemm_tn(M, N, K, A.data(), lda, B.data(), ldb, C1.data(), ldc);
  naive::gemm_tn(M, N, K, A.data(), lda, B.data(), ldb, C2.data(), ldc);
  expect_close(C1, C2, 1e-4f * std::sqrt(static_cast<float>(K)));
  // The naive reference itself, against a product written out here.
  for (int m = 0; m < std::min(M, 3); ++m)
    for (int n = 0; n < std::min(N, 3); ++n) {
      double want = 0;
      for (int k = 0; k < K; ++k) want += static_cast<double>(A[static_cast<size_t>(k) * lda + m]) * B[static_cast<size_t>(k) * ldb + n];
      ASSERT_NEAR(C2[static_cast<size_t>(m) * ldc + n], want, 1e-4 * std::sqrt(K));
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(Shape{1, 1, 1}, Shape{1, 384, 512}, Shape{25, 1024, 512},
                                           Shape{7, 13, 64}, Shape{64, 6, 512}, Shape{3, 32128, 64}));

TEST(Ops, RmsNormMatchesNaive) {
  const int rows = 9, cols = 512;
  const auto x = random_vec(static_cast<size_t>(rows) * cols, 6, 3.0f), w = random_vec(cols, 7);
  std::vector<float> a(x.size()), b(x.size());
  rms_norm(x.data(), w.data(), rows, cols, 1e-6f, a.data());
  naive::rms_norm(x.data(), w.data(), rows, cols, 1e-6f, b.data());
  expect_close(a, b, 1e-5f);
}

TEST(Ops, SoftmaxMatchesNaiveAndSumsToOne) {
  for (int n : {1, 5, 77, 1000}) {
    auto a = random_vec(static_cast<size_t>(n), 8, 20.0f), b = a;
    softmax(a.data(), n);
    naive::softmax(b.data(), n);
    expect_close(a, b, 1e-6f);
    double s = 0;
    for (float v : a) s += v;
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
}

TEST(Ops, LogSoftmaxIsLogOfSoftmax) {
  for (int n : {100, 32128}) {  // a head's row too
    auto x = random_vec(static_cast<size_t>(n), 9, 10.0f), p = x;
    std::vector<float> lp(static_cast<size_t>(n));
    const double lse = log_softmax(x.data(), n, lp.data());
    naive::softmax(p.data(), n);
    double want = 0;  // logsumexp in double
    for (float v : x) want += std::exp(static_cast<double>(v));
    EXPECT_NEAR(lse, std::log(want), 1e-6 * std::fabs(std::log(want))) << n;
    for (int i = 0; i < n; ++i) ASSERT_NEAR(std::exp(lp[i]), p[i], 1e-6f) << n;
  }
}

TEST(Ops, ArgmaxTakesTheFirstLargestAndSkipsNaN) {
  std::vector<float> x = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
  EXPECT_EQ(argmax(x.data(), 5), 1);
  x[0] = NAN;
  EXPECT_EQ(argmax(x.data(), 5), 1);
  auto big = random_vec(32128, 10, 5.0f);
  big[20000] = 6.0f;
  EXPECT_EQ(argmax(big.data(), 32128), 20000);
  const float neg_inf[3] = {-INFINITY, -INFINITY, -INFINITY};
  EXPECT_EQ(argmax(neg_inf, 3), 0);
}

// The exact argmax over a head (double sums), and the gap to the runner-up relative to the
// largest |logit|: rows whose gap is below f32's rounding have no single right answer.
std::pair<int, double> exact_argmax(const std::vector<float>& w, int V, int D, const float* x) {
  int best = 0;
  double top = -INFINITY, second = -INFINITY, scale = 0;
  for (int v = 0; v < V; ++v) {
    double z = 0;
    for (int i = 0; i < D; ++i) z += static_cast<double>(w[static_cast<size_t>(v) * D + i]) * x[i];
    scale = std::max(scale, std::fabs(z));
    if (z > top) {
      second = top;
      top = z;
      best = v;
    } else if (z > second) {
      second = z;
    }
  }
  return {best, (top - second) / std::max(scale, 1e-30)};
}

// A head like a trained one's: rows of different norms, hidden states near some rows, so that
// the winner stands out as in greedy decoding, and near-duplicate rows (noise at bf16's
// resolution), whose order the bf16 screen alone gets wrong.
TEST(HeadArgmax, ScreenFindsTheExactArgmax) {
  for (const int D : {64, 256}) {
    const int V = 5000, M = 40;  // V not a multiple of the screen's blocks
    std::mt19937 rng(7 + D);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> w(static_cast<size_t>(V) * D);
    for (int v = 0; v < V; ++v) {
      const float norm = 0.5f + static_cast<float>(v % 7) * 0.25f;
      for (int i = 0; i < D; ++i) w[static_cast<size_t>(v) * D + i] = norm * nd(rng) / std::sqrt(static_cast<float>(D));
    }
    std::vector<float> x(static_cast<size_t>(M) * D);
    for (int m = 0; m < M; ++m) {
      const int near = (m * 997) % (V - 8);
      const float mix = m % 4 == 3 ? 0.0f : 0.2f + 0.2f * static_cast<float>(m % 4);  // m % 4 == 3: no clear winner
      for (int i = 0; i < D; ++i)
        x[static_cast<size_t>(m) * D + i] = 4.0f * (mix * w[static_cast<size_t>(near) * D + i] + 0.3f * nd(rng) / std::sqrt(static_cast<float>(D)));
      if (m % 2 == 0) {  // near's 7 followers become near plus noise at bf16's resolution
        for (int k = 1; k <= 7; ++k)
          for (int i = 0; i < D; ++i) {
            const size_t at = static_cast<size_t>(near) * D + i;
            w[at + static_cast<size_t>(k) * D] = w[at] * (1.0f + 4e-3f * nd(rng));
          }
      }
    }
    const PackedMatrix packed(w.data(), V, D, WeightType::F32);
    for (const bool screen : {true, false}) {
      if (screen && !cpu_info().avx512f) continue;  // bf16 products need AVX-512
      const HeadArgmax head(w.data(), V, D, screen ? nullptr : &packed);
      std::vector<int> best(M, -1);
      head.argmax(M, x.data(), best.data());
      int decided = 0;
      for (int m = 0; m < M; ++m) {
        const auto [want, gap] = exact_argmax(w, V, D, &x[static_cast<size_t>(m) * D]);
        // The screen's candidates are summed in double: it must follow exact arithmetic down to
        // far below f32's rounding, where the f32 product alone cannot.
        if (gap < (screen ? 1e-9 : 1e-5)) continue;
        ++decided;
        EXPECT_EQ(best[m], want) << "D " << D << ", row " << m << ", gap " << gap;
      }
      EXPECT_GE(decided, M - 2) << D;
      if (screen) {
        ASSERT_TRUE(head.screens());
        EXPECT_EQ(head.screened(), M);
        // The screen must leave few rows to multiply in f32, or it saves nothing.
        EXPECT_LT(head.rechecked(), static_cast<long long>(M) * V / 20) << D;
      }
    }
  }
}

TEST(HeadArgmax, SkipsRowsAndFallsBackOnOverflowAndNaN) {
  const int V = 300, D = 32;
  const auto w = random_vec(static_cast<size_t>(V) * D, 11, 0.01f);
  auto x = random_vec(4 * D, 12);
  x[static_cast<size_t>(1) * D + 3] = 3.4e38f;  // rounds to inf in bf16: no bound, so f32 over the head
  for (int i = 0; i < D; ++i) x[static_cast<size_t>(2) * D + i] = NAN;  // every logit NaN: 0, as argmax()
  const PackedMatrix packed(w.data(), V, D, WeightType::F32);
  const HeadArgmax head(w.data(), V, D, cpu_info().avx512f ? nullptr : &packed);
  std::vector<int> best = {-1, -1, -1, -7};
  const char skip[4] = {0, 0, 0, 1};
  head.argmax(4, x.data(), best.data(), skip);
  EXPECT_EQ(best[0], exact_argmax(w, V, D, &x[0]).first);
  EXPECT_EQ(best[1], exact_argmax(w, V, D, &x[static_cast<size_t>(D)]).first);
  EXPECT_EQ(best[2], 0);
  EXPECT_EQ(best[3], -7);  // skipped: left as it was
}

TEST(Ops, ActivationsMatchNaive) {
  const auto x = random_vec(4000, 10, 6.0f);
  for (Act act : {Act::Relu, Act::Gelu, Act::GeluNew, Act::Silu}) {
    auto y = x;
    activate(y.data(), static_cast<long>(y.size()), act);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(y[i], naive::act(x[i], act), 2e-6f) << static_cast<int>(act);
  }
  // gated: act(g) * u, rows [g | u] of 2F floats (F = 200, 20 rows)
  const auto u = random_vec(4000, 11);
  const int F = 200, rows = 20;
  std::vector<float> gu(static_cast<size_t>(rows) * 2 * F), out(x.size());
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < F; ++i) {
      gu[static_cast<size_t>(r) * 2 * F + i] = x[static_cast<size_t>(r) * F + i];
      gu[static_cast<size_t>(r) * 2 * F + F + i] = u[static_cast<size_t>(r) * F + i];
    }
  gated_activate_rows(gu.data(), rows, F, Act::GeluNew, out.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(out[i], naive::act(x[i], Act::GeluNew) * u[i], 2e-6f);
  // Known values: gelu_new(1) = 0.8411920, gelu(1) = 0.8413447, silu(1) = 0.7310586.
  EXPECT_NEAR(naive::act(1.0f, Act::GeluNew), 0.8411920f, 1e-6f);
  EXPECT_NEAR(naive::act(1.0f, Act::Gelu), 0.8413447f, 1e-6f);
  EXPECT_NEAR(naive::act(1.0f, Act::Silu), 0.7310586f, 1e-6f);
  EXPECT_EQ(parse_act("gelu_pytorch_tanh"), Act::GeluNew);
  EXPECT_THROW(parse_act("tanh"), std::invalid_argument);
}

TEST(RelativePosition, BucketsMatchHfFormula) {
  // Expected values from modeling_t5.py's formula evaluated independently (32 buckets, 128).
  const std::pair<int, int> bidir[] = {{0, 0},   {1, 17},  {-1, 1},   {7, 23},   {8, 24},   {-8, 8},
                                       {15, 25}, {16, 26}, {40, 28},  {127, 31}, {200, 31}, {-200, 15}};
  for (auto [rel, want] : bidir) EXPECT_EQ(emot5::relative_position_bucket(rel, true, 32, 128), want) << rel;
  const std::pair<int, int> causal[] = {{0, 0},    {1, 0},    {-1, 1},    {-15, 15},  {-16, 16},
                                        {-17, 16}, {-40, 23}, {-127, 31}, {-1000, 31}};
  for (auto [rel, want] : causal) EXPECT_EQ(emot5::relative_position_bucket(rel, false, 32, 128), want) << rel;
}

}  // namespace
}  // namespace emot5::kernels

#include "kernels/attention_products.h"
#include "kernels/matmul.h"
#include "kernels/qgemm.h"
#include "kernels/simd.h"
#include "kernels/threads.h"

#include <omp.h>

namespace emot5::kernels {
namespace {

TEST(Int8Gemm, MatchesNaiveAndStaysNearF32) {
  for (const auto& [M, N, K] : {std::tuple{1, 384, 512}, std::tuple{25, 1024, 512}, std::tuple{7, 13, 64}}) {
    const auto x = random_vec(static_cast<size_t>(M) * K, 21, 2.0f), w = random_vec(static_cast<size_t>(N) * K, 22, 0.05f);
    const auto q = quantize_rows(w.data(), N, K);
    std::vector<float> fast(static_cast<size_t>(M) * N, 1.0f), ref = fast, f32(fast.size());
    gemm_nt_int8(M, N, K, x.data(), K, q, fast.data(), N, 0.5f);
    naive::gemm_nt_int8(M, N, K, x.data(), K, q, ref.data(), N, 0.5f);
    for (size_t i = 0; i < fast.size(); ++i) ASSERT_NEAR(fast[i], ref[i], 1e-5f * (1.0f + std::fabs(ref[i]))) << i;
    // Error budget against f32: per-row int8 on both sides, about 1% of the output's scale.
    naive::gemm_nt(M, N, K, x.data(), K, w.data(), K, f32.data(), N);
    float scale = 0, worst = 0;
    for (size_t i = 0; i < f32.size(); ++i) {
      scale = std::max(scale, std::fabs(f32[i]));
      worst = std::max(worst, std::fabs(fast[i] - 0.5f - f32[i]));
    }
    EXPECT_LE(worst, 0.02f * scale) << M << "x" << N << "x" << K;
  }
}

class PackedGemm : public ::testing::TestWithParam<WeightType> {};

TEST_P(PackedGemm, MatchesNaiveAndStaysNearF32) {
  const WeightType type = GetParam();
  for (const auto& [M, N, K] : {std::tuple{1, 384, 512}, std::tuple{25, 1152, 512}, std::tuple{7, 13, 64},
                                std::tuple{300, 64, 96}}) {
    const auto w = random_vec(static_cast<size_t>(N) * K, 32, 0.05f);
    const PackedMatrix packed(w.data(), N, K, type);
    EXPECT_GE(packed.bytes(), static_cast<size_t>(N) * K * (type == WeightType::Bf16 ? 2 : 4));
    for (const float beta : {0.0f, 1.0f}) {
      const int ldx = K + 3;  // strided input rows, as the gated FFN's output projection reads them
      const auto x = random_vec(static_cast<size_t>(M) * ldx, 31, 2.0f);
      const int ldy = N + 5;
      std::vector<float> fast(static_cast<size_t>(M) * ldy, 0.25f), ref = fast, f32 = fast;
      packed.multiply(M, x.data(), ldx, fast.data(), ldy, beta);
      naive::gemm_nt_typed(M, N, K, x.data(), ldx, w.data(), type, ref.data(), ldy, beta);
      naive::gemm_nt(M, N, K, x.data(), ldx, w.data(), K, f32.data(), ldy, beta);
      float scale = 0, worst = 0;
      for (int m = 0; m < M; ++m)
        for (int n = 0; n < ldy; ++n) {
          const size_t i = static_cast<size_t>(m) * ldy + n;
          if (n >= N) {  // outside the product: untouched
            ASSERT_EQ(fast[i], 0.25f);
            continue;
          }
          ASSERT_NEAR(fast[i], ref[i], 1e-4f * (1.0f + std::fabs(ref[i]))) << M << "x" << N << "x" << K << " at " << i;
          scale = std::max(scale, std::fabs(f32[i]));
          worst = std::max(worst, std::fabs(fast[i] - f32[i]));
        }
      // Error budget against f32: none for f32 weights beyond summation order; bf16 keeps 8
      // significant bits on both sides, about 1%.
      EXPECT_LE(worst, (type == WeightType::Bf16 ? 0.01f : 1e-5f) * scale) << M << "x" << N << "x" << K;
    }
  }
  const std::vector<float> one = {1.0f};
  std::vector<float> y = {0.0f};
  EXPECT_THROW(PackedMatrix(one.data(), 1, 1, type).multiply(1, one.data(), 1, y.data(), 1, 0.5f), std::invalid_argument);
}


// With many threads, oneDNN picks for larger batches another weight layout than the one the
// weight was packed in at load (seen from 8 threads and 41 rows on AVX-512); the product must still
// be right.
TEST_P(PackedGemm, AnyThreadCountAndBatchSize) {
  const WeightType type = GetParam();
  const int before = omp_get_max_threads();
  for (const auto& [threads, N, K] : {std::tuple{8, 320, 640}, std::tuple{16, 320, 320}, std::tuple{3, 200, 136}}) {
    set_num_threads(threads);
    const auto w = random_vec(static_cast<size_t>(N) * K, 41, 0.05f);
    const PackedMatrix packed(w.data(), N, K, type);
    const size_t bytes0 = packed.bytes();
    for (const int M : {1, 40, 41, 64, 231}) {
      const auto x = random_vec(static_cast<size_t>(M) * K, 43, 2.0f);
      std::vector<float> fast(static_cast<size_t>(M) * N), ref(fast.size());
      ASSERT_NO_THROW(packed.multiply(M, x.data(), K, fast.data(), N)) << threads << " threads, " << M << " rows";
      naive::gemm_nt_typed(M, N, K, x.data(), K, w.data(), type, ref.data(), N);
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_NEAR(fast[i], ref[i], 1e-4f * (1.0f + std::fabs(ref[i]))) << threads << " threads, " << M << " rows";
    }
    EXPECT_GE(packed.bytes(), bytes0);
  }
  set_num_threads(before);
}

// oneDNN's kernels keep the thread count current when they are made: a kernel made at one count
// must not serve a product asked for at another (two classifiers with different --threads).
TEST(PackedGemm, KernelsAreKeptPerThreadCount) {
  const int before = omp_get_max_threads();
  const int N = 72, K = 56, M = 13;  // a shape used nowhere else in this binary
  const auto w = random_vec(static_cast<size_t>(N) * K, 47, 0.05f);
  const auto x = random_vec(static_cast<size_t>(M) * K, 48, 1.0f);
  std::vector<float> y1(static_cast<size_t>(M) * N), y2(y1.size());
  set_num_threads(1);
  const PackedMatrix packed(w.data(), N, K, WeightType::F32);
  packed.multiply(M, x.data(), K, y1.data(), N);
  const size_t one = matmul_kernels_cached();
  set_num_threads(2);
  packed.multiply(M, x.data(), K, y2.data(), N);
  EXPECT_EQ(matmul_kernels_cached(), one + 1) << "the kernel made at 1 thread served a product at 2";
  set_num_threads(1);
  packed.multiply(M, x.data(), K, y2.data(), N);
  EXPECT_EQ(matmul_kernels_cached(), one + 1) << "the kernel made at 1 thread was not reused";
  for (size_t i = 0; i < y1.size(); ++i) ASSERT_NEAR(y1[i], y2[i], 1e-5f * (1.0f + std::fabs(y1[i])));
  set_num_threads(before);
}

INSTANTIATE_TEST_SUITE_P(Types, PackedGemm, ::testing::Values(WeightType::F32, WeightType::Bf16));

// Lanes: every item runs once, each on one thread (so that the kernels' own loops and oneDNN's
// products inside it run serially), the lanes share the items, and the first exception stops
// them and reaches the caller.
TEST(Threads, LanesRunEachItemOnceOnOneThread) {
  const int before = omp_get_max_threads();
  set_num_threads(2);
  std::vector<std::atomic<int>> runs(40);
  std::atomic<int> widest{0};
  std::mutex mu;
  std::set<int> lanes;
  for_each_on_lanes(runs.size(), 2, [&](size_t i) {
    ++runs[i];
    int w = widest.load();
    while (omp_get_max_threads() > w && !widest.compare_exchange_weak(w, omp_get_max_threads())) {
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      lanes.insert(omp_get_thread_num());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << "item " << i;
  EXPECT_EQ(widest.load(), 1) << "an item saw more than one thread for its own loops";
  EXPECT_EQ(lanes.size(), 2u) << "one lane took every item";
  EXPECT_EQ(omp_get_max_threads(), 2) << "the lanes' one thread leaked out to the caller";
  std::atomic<int> after_error{0};
  try {
    for_each_on_lanes(1000, 2, [&](size_t i) {
      if (i == 3) throw std::runtime_error("item 3");
      if (i > 100) ++after_error;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
    FAIL() << "the exception was lost";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "item 3");
  }
  EXPECT_EQ(after_error.load(), 0) << "the lanes went on after the exception";
  set_num_threads(before);
}

// multiply_quantized from rows quantized elsewhere: x_scale applied as the rows are stored, or
// (null) left for the reader, with beta 0 and 1; against the int32 sums written out.
TEST(PackedGemm, QuantizedRowsScaledOrLeftUnscaled) {
  const int M = 9, N = 40, K = 64;
  const auto x = random_vec(static_cast<size_t>(M) * K, 51, 2.0f), w = random_vec(static_cast<size_t>(N) * K, 52, 0.05f);
  const auto qw = quantize_rows(w.data(), N, K);
  std::vector<int8_t> qx(x.size());
  std::vector<float> sx(M);
  for (int m = 0; m < M; ++m) reference_s8(&x[static_cast<size_t>(m) * K], K, &qx[static_cast<size_t>(m) * K], &sx[m]);
  std::vector<double> acc(static_cast<size_t>(M) * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      long sum = 0;
      for (int k = 0; k < K; ++k) sum += qx[static_cast<size_t>(m) * K + k] * qw.q[static_cast<size_t>(n) * K + k];
      acc[static_cast<size_t>(m) * N + n] = static_cast<double>(sum) * qw.scale[n];
    }
  for (const bool scaled : {true, false})
    for (const float beta : {0.0f, 1.0f}) {
      std::vector<float> y(static_cast<size_t>(M) * N, 0.25f);
      qw.packed->multiply_quantized(M, qx.data(), scaled ? sx.data() : nullptr, y.data(), N, beta);
      for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
          const size_t i = static_cast<size_t>(m) * N + n;
          const double want = acc[i] * (scaled ? sx[m] : 1.0) + 0.25 * beta;
          ASSERT_NEAR(y[i], want, 1e-5 * (1 + std::fabs(want))) << "scaled " << scaled << " beta " << beta;
        }
    }
}

// The weights' quantization equals lrint(clamp(w / scale, ±127)) to the bit, in every ISA
// version: ties, a zero row, NaN (to 0) and infinity.
TEST(Int8Weights, QuantizeRowsMatchesLrintOfTheClampedQuotient) {
  const int rows = 7, cols = 300;
  auto w = random_vec(static_cast<size_t>(rows) * cols, 61, 1.0f);
  for (int c = 0; c < cols; ++c) w[static_cast<size_t>(1) * cols + c] = 0.0f;  // a zero row
  w[2 * cols + 0] = 127.0f;  // row 2: scale 1, so halves are ties
  for (int c = 1; c < 20; ++c) w[2 * cols + c] = static_cast<float>(c) - 10.5f;
  w[3 * cols + 5] = NAN;
  w[4 * cols + 9] = INFINITY;
  const Isa best = active_isa();
  for (Isa cap : {Isa::Avx512, Isa::Avx2, Isa::Base}) {
    if (static_cast<int>(cap) > static_cast<int>(best)) continue;
    set_isa_cap(cap);
    const auto m = quantize_rows(w.data(), rows, cols);
    for (int r = 0; r < rows; ++r) {
      float mx = 0;
      for (int c = 0; c < cols; ++c) mx = std::max(mx, std::fabs(w[static_cast<size_t>(r) * cols + c]));
      const float s = mx > 0 ? mx / 127.0f : 1.0f;
      ASSERT_EQ(m.scale[r], s) << "row " << r << " " << isa_name(cap);
      for (int c = 0; c < cols; ++c) {
        const auto want = static_cast<int8_t>(std::lrint(std::clamp(w[static_cast<size_t>(r) * cols + c] / s, -127.0f, 127.0f)));
        ASSERT_EQ(m.q[static_cast<size_t>(r) * cols + c], want) << "row " << r << " col " << c << " " << isa_name(cap);
      }
    }
  }
  set_isa_cap(best);
}

TEST(Bf16Gemm, RoundedRowsGiveTheSameProduct) {
  const int M = 37, N = 70, K = 96;
  const auto w = random_vec(static_cast<size_t>(N) * K, 51, 0.1f), x = random_vec(static_cast<size_t>(M) * K, 52);
  const PackedMatrix p(w.data(), N, K, WeightType::Bf16);
  std::vector<uint16_t> xb(x.size());
  f32_to_bf16_row(x.data(), static_cast<long>(x.size()), xb.data());
  {  // the rows' version, from strided rows, rounds the same
    const int ld = K + 3;
    std::vector<float> strided(static_cast<size_t>(M) * ld, NAN);
    for (int m = 0; m < M; ++m) std::copy_n(&x[static_cast<size_t>(m) * K], K, &strided[static_cast<size_t>(m) * ld]);
    std::vector<uint16_t> rows(xb.size());
    f32_to_bf16_rows(strided.data(), M, K, ld, rows.data());
    ASSERT_EQ(rows, xb);
  }
  for (const float beta : {0.0f, 1.0f})
    for (const int ldy : {N, N + 5}) {
      auto want = random_vec(static_cast<size_t>(M) * ldy, 53), got = want;
      p.multiply(M, x.data(), K, want.data(), ldy, beta);
      p.multiply_bf16(M, xb.data(), got.data(), ldy, beta);
      ASSERT_EQ(got, want) << "beta " << beta << ", ldy " << ldy;
    }
  const PackedMatrix f(w.data(), N, K, WeightType::F32);
  std::vector<float> y(static_cast<size_t>(M) * N);
  EXPECT_THROW(f.multiply_bf16(M, xb.data(), y.data(), N), std::invalid_argument);
}

TEST(Bf16Gemm, RoundsToNearestEven) {
  // 1 + 2^-8 is halfway between two bf16 values and rounds to even (1.0); 1 + 3·2^-8 rounds up.
  const float x[4] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -2.5f, 0.0f};
  uint16_t out[4];
  f32_to_bf16_row(x, 4, out);
  EXPECT_EQ(out[0], 0x3f80);
  EXPECT_EQ(out[1], 0x3f82);
  EXPECT_EQ(out[2], 0xc020);
  EXPECT_EQ(out[3], 0x0000);
}

// Every compiled version of the element-wise loops this CPU can run (AVX-512, AVX2+FMA, baseline)
// against the naive references: RMSNorm, gelu_new, the gated product, activation quantization
// (through the int8 product) and bf16 rounding.
TEST(IsaVersions, EveryVersionMatchesTheReferences) {
  const Isa best = active_isa();
  for (Isa cap : {Isa::Avx512, Isa::Avx2, Isa::Base}) {
    if (static_cast<int>(cap) > static_cast<int>(best)) continue;
    set_isa_cap(cap);
    ASSERT_EQ(active_isa(), cap);
    const int rows = 37, cols = 200;
    const auto x = random_vec(static_cast<size_t>(rows) * cols, 41, 3.0f), w = random_vec(cols, 42, 1.0f);
    std::vector<float> fast(x.size()), ref(x.size());
    rms_norm(x.data(), w.data(), rows, cols, 1e-6f, fast.data());
    naive::rms_norm(x.data(), w.data(), rows, cols, 1e-6f, ref.data());
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(fast[i], ref[i], 1e-5f * (1 + std::fabs(ref[i]))) << isa_name(cap);
    std::vector<float> gu(static_cast<size_t>(rows) * 2 * cols), out(static_cast<size_t>(rows) * cols);
    for (size_t i = 0; i < gu.size(); ++i) gu[i] = x[i % x.size()] * (i % 3 ? 1.0f : -0.7f);
    gated_activate_rows(gu.data(), rows, cols, Act::GeluNew, out.data());
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const float g = gu[static_cast<size_t>(r) * 2 * cols + c], u = gu[static_cast<size_t>(r) * 2 * cols + cols + c];
        const float want = naive::act(g, Act::GeluNew) * u;
        ASSERT_NEAR(out[static_cast<size_t>(r) * cols + c], want, 1e-5f * (1 + std::fabs(want))) << isa_name(cap);
      }
    const int N = 48;
    const auto wq = random_vec(static_cast<size_t>(N) * cols, 43, 0.05f);
    const auto q = quantize_rows(wq.data(), N, cols);
    std::vector<float> yq(static_cast<size_t>(rows) * N), yr(yq.size());
    gemm_nt_int8(rows, N, cols, x.data(), cols, q, yq.data(), N);
    naive::gemm_nt_int8(rows, N, cols, x.data(), cols, q, yr.data(), N);
    for (size_t i = 0; i < yq.size(); ++i) ASSERT_NEAR(yq[i], yr[i], 1e-5f * (1 + std::fabs(yr[i]))) << isa_name(cap);
    // The producers that quantize their own rows, against f32 rows quantized by reference_s8.
    std::vector<int8_t> q8(static_cast<size_t>(rows) * cols);
    std::vector<float> s8(rows);
    rms_norm_quantize(x.data(), w.data(), rows, cols, 1e-6f, q8.data(), s8.data());
    expect_quantized(ref, rows, cols, q8, s8, std::string("rms_norm_quantize ") + isa_name(cap));
    std::vector<float> in_scale(rows), gu_scaled(gu.size());
    for (int r = 0; r < rows; ++r) {
      in_scale[r] = 0.5f + 0.01f * static_cast<float>(r);
      for (int c = 0; c < 2 * cols; ++c)
        gu_scaled[static_cast<size_t>(r) * 2 * cols + c] = gu[static_cast<size_t>(r) * 2 * cols + c] * in_scale[r];
    }
    std::vector<float> gated_ref(out.size());
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const float* g = &gu_scaled[static_cast<size_t>(r) * 2 * cols];
        gated_ref[static_cast<size_t>(r) * cols + c] = naive::act(g[c], Act::GeluNew) * g[cols + c];
      }
    for (Act act : {Act::GeluNew, Act::Relu}) {
      if (act == Act::Relu)
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c) {
            const float* g = &gu_scaled[static_cast<size_t>(r) * 2 * cols];
            gated_ref[static_cast<size_t>(r) * cols + c] = naive::act(g[c], Act::Relu) * g[cols + c];
          }
      gated_activate_quantize_rows(gu.data(), in_scale.data(), rows, cols, act, q8.data(), s8.data());
      expect_quantized(gated_ref, rows, cols, q8, s8, std::string("gated_activate_quantize_rows ") + isa_name(cap));
    }
    // The producers that round their own rows to bf16: bit for bit the f32 rows rounded.
    for (Act act : {Act::GeluNew, Act::Relu}) {
      std::vector<float> f32_rows(out.size());
      std::vector<uint16_t> want_b(out.size()), got_b(out.size());
      gated_activate_rows(gu.data(), rows, cols, act, f32_rows.data());
      f32_to_bf16_row(f32_rows.data(), static_cast<long>(f32_rows.size()), want_b.data());
      gated_activate_bf16_rows(gu.data(), rows, cols, act, got_b.data());
      ASSERT_EQ(got_b, want_b) << "gated_activate_bf16_rows " << isa_name(cap);
    }
    {
      std::vector<uint16_t> want_b(x.size()), got_b(x.size());
      f32_to_bf16_row(fast.data(), static_cast<long>(fast.size()), want_b.data());
      rms_norm_bf16(x.data(), w.data(), rows, cols, 1e-6f, got_b.data());
      ASSERT_EQ(got_b, want_b) << "rms_norm_bf16 " << isa_name(cap);
    }
    // Attention's scores: bias by distance, softmax by query; with scales c, as if q, k and v had
    // been scaled by row first.
    for (int L : {1, 5, 16, 25, 40}) {
      const auto scores = random_vec(static_cast<size_t>(L) * L, 44, 4.0f), bias = random_vec(2 * L - 1, 45, 2.0f);
      const auto c = random_vec(static_cast<size_t>(L), 46, 1.0f);
      for (bool scaled : {false, true}) {
        auto want = scores;
        // Stored transposed, with padding columns that start as garbage.
        const int ld = (L + 15) / 16 * 16 + (L % 2) * 16;
        std::vector<float> got(static_cast<size_t>(L) * ld, NAN);
        for (int i = 0; i < L; ++i)
          for (int j = 0; j < L; ++j) got[static_cast<size_t>(j) * ld + i] = scores[static_cast<size_t>(i) * L + j];
        attention_softmax(got.data(), L, ld, bias.data() + (L - 1), scaled ? c.data() : nullptr);
        for (int i = 0; i < L; ++i) {
          float* row = &want[static_cast<size_t>(i) * L];
          for (int j = 0; j < L; ++j) row[j] = row[j] * (scaled ? c[i] * c[j] : 1.0f) + bias[L - 1 + j - i];
          naive::softmax(row, L);
          if (scaled)
            for (int j = 0; j < L; ++j) row[j] *= c[j];
        }
        for (int i = 0; i < L; ++i)
          for (int j = 0; j < L; ++j)
            ASSERT_NEAR(got[static_cast<size_t>(j) * ld + i], want[static_cast<size_t>(i) * L + j], 1e-6f)
                << "attention_softmax L " << L << " " << isa_name(cap);
      }
    }
    // Attention's two products, by hand: against naive sums in double, for lengths around the
    // 8-row and 16-column blocks, d_kv that are and are not multiples of 16, rows of q, k and v
    // strided as the encoder's qkv rows, and padding columns of the scores that start as NaN.
    for (int dk : {64, 16, 40}) {
      for (int L : {1, 7, 8, 16, 25, 33, 64}) {
        const int ldqkv = 3 * dk + 8, ld = (L + 15) / 16 * 16 + (L % 2) * 16, ldo = dk + 5;
        const auto qkv = random_vec(static_cast<size_t>(L) * ldqkv, 47, 1.0f);
        const float *qh = qkv.data(), *k = qh + dk, *v = qh + 2 * dk;
        std::vector<float> st(static_cast<size_t>(L) * ld, NAN), want(static_cast<size_t>(L) * L);
        attention_scores_kq(qh, k, ldqkv, L, dk, st.data(), ld);
        naive::gemm_nt(L, L, dk, k, ldqkv, qh, ldqkv, want.data(), L);
        for (int j = 0; j < L; ++j)
          for (int i = 0; i < ld; ++i)
            ASSERT_NEAR(st[static_cast<size_t>(j) * ld + i], i < L ? want[static_cast<size_t>(j) * L + i] : 0.0f, 1e-4f)
                << "attention_scores_kq L " << L << " dk " << dk << " j " << j << " i " << i << " " << isa_name(cap);
        const auto p = random_vec(static_cast<size_t>(L) * ld, 48, 1.0f);
        std::vector<float> got(static_cast<size_t>(L) * ldo, -7.0f), want_ctx(static_cast<size_t>(L) * ldo, -7.0f);
        attention_context(p.data(), ld, v, ldqkv, L, dk, got.data(), ldo);
        naive::gemm_tn(L, dk, L, p.data(), ld, v, ldqkv, want_ctx.data(), ldo);
        for (int i = 0; i < L; ++i)
          for (int d = 0; d < ldo; ++d)
            ASSERT_NEAR(got[static_cast<size_t>(i) * ldo + d], want_ctx[static_cast<size_t>(i) * ldo + d], 1e-4f)
                << "attention_context L " << L << " dk " << dk << " i " << i << " d " << d << " " << isa_name(cap);
      }
    }
    {  // a row stride the blocks would overrun: refused, not read past
      std::vector<float> buf(64 * 64, 0.0f), st(25 * 32);
      EXPECT_THROW(attention_scores_kq(buf.data(), buf.data(), 64, 25, 64, st.data(), 24), std::invalid_argument);
      EXPECT_THROW(attention_scores_kq(buf.data(), buf.data(), 64, 25, 64, st.data(), 30), std::invalid_argument);
      EXPECT_THROW(attention_context(st.data(), 30, buf.data(), 64, 25, 64, buf.data(), 64), std::invalid_argument);
    }
    const float halfway[2] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256};
    uint16_t h[2];
    f32_to_bf16_row(halfway, 2, h);
    EXPECT_EQ(h[0], 0x3f80) << isa_name(cap);
    EXPECT_EQ(h[1], 0x3f82) << isa_name(cap);
  }
  set_isa_cap(Isa::Avx512);
}

}  // namespace
}  // namespace emot5::kernels
