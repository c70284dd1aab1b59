// The matrix products of one flan-t5-small encoder layer (d_model 512, q|k|v 1152, gated FFN
// 2048, FFN output 512 from 1024) in f32 (oneDNN's sgemm, and the packed matmul the engine uses),
// bf16 (packed) and int8, at batch 1 (25 tokens, an average test
// sentence) and batch 32 (800 tokens); then the element-wise passes around them (RMSNorm and the
// gated activation, in f32 and fused with int8 quantization) and attention's scores. Prints the
// machine, ISA, threads and command.
//   build/bench/emot5_kernels_bench --threads 2
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/attention_products.h"
#include "kernels/ops.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/qgemm.h"
#include "kernels/simd.h"

namespace {

using namespace emot5::kernels;

std::vector<float> random_vec(size_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

enum Prec { F32Sgemm, F32, Bf16, Int8 };

void product(benchmark::State& state, Prec prec) {
  const int M = static_cast<int>(state.range(0)), N = static_cast<int>(state.range(1)), K = static_cast<int>(state.range(2));
  const auto x = random_vec(static_cast<size_t>(M) * K, 1, 1.0f), w = random_vec(static_cast<size_t>(N) * K, 2, 0.05f);
  std::vector<float> y(static_cast<size_t>(M) * N);
  const auto q = prec == Int8 ? quantize_rows(w.data(), N, K) : QuantizedMatrix{};
  const PackedMatrix packed(w.data(), N, K, prec == Bf16 ? WeightType::Bf16 : WeightType::F32);
  for (auto _ : state) {
    if (prec == F32Sgemm) gemm_nt(M, N, K, x.data(), K, w.data(), K, y.data(), N);
    if (prec == F32 || prec == Bf16) packed.multiply(M, x.data(), K, y.data(), N);
    if (prec == Int8) gemm_nt_int8(M, N, K, x.data(), K, q, y.data(), N);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * N * K / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int M : {25, 800})
    for (auto [N, K] : {std::pair{1152, 512}, {2048, 512}, {512, 1024}}) b->Args({M, N, K});
  b->ArgNames({"M", "N", "K"})->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(product, f32_sgemm_unpacked, F32Sgemm)->Apply(shapes);
BENCHMARK_CAPTURE(product, f32_packed, F32)->Apply(shapes);
BENCHMARK_CAPTURE(product, bf16_packed, Bf16)->Apply(shapes);
BENCHMARK_CAPTURE(product, int8, Int8)->Apply(shapes);

// The element-wise passes around the products, over one FFN block (256 rows) or one head's
// scores: the int8 path's fused producers beside their f32 forms.
enum Pass { RmsNorm, RmsNormQuantize, Gated, GatedQuantize };

void elementwise(benchmark::State& state, Pass pass) {
  const int rows = 256, D = 512, F = 1024;
  const auto x = random_vec(static_cast<size_t>(rows) * 2 * F, 3, 1.0f), w = random_vec(D, 4, 1.0f);
  const std::vector<float> scale(rows, 0.01f);
  std::vector<float> out(static_cast<size_t>(rows) * F), s(rows);
  std::vector<int8_t> q(out.size());
  for (auto _ : state) {
    if (pass == RmsNorm) rms_norm(x.data(), w.data(), rows, D, 1e-6f, out.data());
    if (pass == RmsNormQuantize) rms_norm_quantize(x.data(), w.data(), rows, D, 1e-6f, q.data(), s.data());
    if (pass == Gated) gated_activate_rows(x.data(), rows, F, Act::GeluNew, out.data());
    if (pass == GatedQuantize) gated_activate_quantize_rows(x.data(), scale.data(), rows, F, Act::GeluNew, q.data(), s.data());
    benchmark::DoNotOptimize(q.data());
    benchmark::DoNotOptimize(out.data());
  }
  const long values = pass == RmsNorm || pass == RmsNormQuantize ? static_cast<long>(rows) * D : static_cast<long>(rows) * F;
  state.counters["values/s"] = benchmark::Counter(static_cast<double>(values), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(elementwise, rms_norm_f32, RmsNorm)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(elementwise, rms_norm_quantize, RmsNormQuantize)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(elementwise, gated_gelu_f32, Gated)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(elementwise, gated_gelu_quantize, GatedQuantize)->Unit(benchmark::kMicrosecond);

// One head's attention scores for a text of L tokens: bias, softmax by query (stored transposed,
// columns padded to 16, as the encoder runs it).
void attention_scores(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0)), ld = (L + 15) / 16 * 16;
  const auto s0 = random_vec(static_cast<size_t>(L) * ld, 5, 4.0f), bias = random_vec(2 * L, 6, 1.0f);
  std::vector<float> s(s0.size());
  for (auto _ : state) {
    s = s0;
    attention_softmax(s.data(), L, ld, bias.data() + L, nullptr);
    benchmark::DoNotOptimize(s.data());
  }
}
BENCHMARK(attention_scores)->Arg(25)->Arg(64)->ArgName("L")->Unit(benchmark::kMicrosecond);

// One head's whole attention for a text of L tokens (d_kv 64, rows of q, k, v with the encoder's
// stride 3·384): scores k·q^T, the softmax, then p·v; by hand (attention_scores_kq,
// attention_context), and through oneDNN's sgemm twice.
enum class HeadProducts { Hand, Sgemm };
void attention_head(benchmark::State& state, HeadProducts how) {
  const int L = static_cast<int>(state.range(0)), ld = (L + 15) / 16 * 16, dk = 64, I = 384, ldqkv = 3 * I;
  const auto qkv = random_vec(static_cast<size_t>(L) * ldqkv, 7, 1.0f), bias = random_vec(2 * L, 6, 1.0f);
  std::vector<float> s(static_cast<size_t>(L) * ld), out(static_cast<size_t>(L) * I);
  const float *q = qkv.data(), *k = q + I, *v = q + 2 * I;
  for (auto _ : state) {
    if (how == HeadProducts::Hand)
      attention_scores_kq(q, k, ldqkv, L, dk, s.data(), ld);
    else
      gemm_nt(L, L, dk, k, ldqkv, q, ldqkv, s.data(), ld);
    attention_softmax(s.data(), L, ld, bias.data() + L, nullptr);
    if (how == HeadProducts::Hand)
      attention_context(s.data(), ld, v, ldqkv, L, dk, out.data(), I);
    else
      gemm_tn(L, dk, L, s.data(), ld, v, ldqkv, out.data(), I);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK_CAPTURE(attention_head, hand, HeadProducts::Hand)->Arg(25)->Arg(64)->ArgName("L")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(attention_head, sgemm, HeadProducts::Sgemm)->Arg(25)->Arg(64)->ArgName("L")->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i) command += ' ';
    command += argv[i];
  }
  // --threads N (ours), before Google Benchmark parses the rest.
  int threads = 0;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
      continue;
    }
    rest.push_back(argv[i]);
  }
  if (threads > 0) omp_set_num_threads(threads);
  const auto& cpu = cpu_info();
  benchmark::AddCustomContext("cpu_model", cpu.model);
  benchmark::AddCustomContext("isa", cpu.best_isa() + " (element-wise loops: " + isa_name(active_isa()) + ")");
  benchmark::AddCustomContext("threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("command", command);
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
