// Packed-weight products through oneDNN's matmul (see matmul.h).
#include "kernels/matmul.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <map>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "io/tensor.h"
#include "kernels/foreign.h"
#include "kernels/quantize_body.h"
#include "kernels/simd.h"
#include "kernels/threads.h"

namespace emot5::kernels {

namespace {

EMOT5_INLINE void f32_to_bf16_body(const float* x, long n, uint16_t* out) {
#pragma omp simd
  for (long i = 0; i < n; ++i) out[i] = bf16_round(x[i]);
}
EMOT5_VERSIONS(void, f32_to_bf16, (const float* x, long n, uint16_t* out), (x, n, out))

EMOT5_VERSIONS(float, quantize_s8, (const float* x, int K, int8_t* out), (x, K, out))

// y = t · s + beta · y (t may be y itself when beta is 0).
EMOT5_INLINE void scale_row_body(const float* t, int n, float s, float beta, float* y) {
  if (beta == 0.0f) {
#pragma omp simd
    for (int i = 0; i < n; ++i) y[i] = t[i] * s;
  } else {
#pragma omp simd
    for (int i = 0; i < n; ++i) y[i] = t[i] * s + beta * y[i];
  }
}
EMOT5_VERSIONS(void, scale_row, (const float* t, int n, float s, float beta, float* y), (t, n, s, beta, y))

const dnnl::engine& cpu_engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

using dt = dnnl::memory::data_type;

}  // namespace

void f32_to_bf16_row(const float* x, long n, uint16_t* out) { f32_to_bf16(x, n, out); }

namespace {

// One matmul per (type, N, K, M, accumulate, threads), shared by every weight of that shape
// (weights are an execution argument) and made on first use: oneDNN's primitives have fixed
// shapes, and split their work for the thread count current when they are made, which they then
// keep (two classifiers with different --threads in one process must not share one). Shared, so
// that a model's many layers of a few shapes hold one primitive per batch shape rather than one
// each: primitives hold JIT code. Most batch shapes want the layout the weight was packed in at
// load; oneDNN picks another for some (M, threads), and the matrix then keeps a copy in that one.
struct Kernel {
  dnnl::matmul prim;
  dnnl::memory::desc src, wei, dst, scratch_desc;
  size_t scratch = 0;
};

// Dense rows only (ldx = K, ldy = N): the packed layout is oneDNN's choice for those. With s8,
// the product's output stage multiplies each column by its weight row's scale (a binary post-op
// of shape (1, N), given at run time); oneDNN 2.6's brgemm kernels take neither run-time output
// scales nor an (M, 1) operand (it falls back to its reference code for those), so the
// activations' row scales are applied by multiply_quantized as it stores the rows.
dnnl::matmul::primitive_desc describe(dt type, int M, int N, int K, bool accumulate) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops po;
  if (type == dt::s8) po.append_binary(dnnl::algorithm::binary_mul, dnnl::memory::desc({1, N}, dt::f32, {N, 1}));
  if (accumulate) po.append_sum(1.0f);
  attr.set_post_ops(po);
  const dnnl::memory::desc src({M, K}, type, {K, 1});
  const dnnl::memory::desc wei({K, N}, type, dnnl::memory::format_tag::any);
  const dnnl::memory::desc dst({M, N}, dt::f32, {N, 1});
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), attr, cpu_engine());
}

struct KernelCache {
  std::mutex mu;
  std::map<std::tuple<int, int, int, int, bool, int>, std::shared_ptr<const Kernel>> kernels;
};
KernelCache& kernel_cache() {
  static KernelCache c;
  return c;
}

std::shared_ptr<const Kernel> shared_kernel(dt type, int M, int N, int K, bool accumulate) {
  auto& [mu, cache] = kernel_cache();
  const auto key = std::make_tuple(static_cast<int>(type), N, K, M, accumulate, num_threads());
  {
    std::lock_guard<std::mutex> lock(mu);
    const auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  const auto pd = describe(type, M, N, K, accumulate);
  auto k = std::make_shared<const Kernel>(Kernel{dnnl::matmul(pd), pd.src_desc(), pd.weights_desc(), pd.dst_desc(),
                                                 pd.scratchpad_desc(), pd.scratchpad_desc().get_size()});
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 1024) cache.clear();  // very many distinct batch shapes: start over
  cache.emplace(key, k);
  return k;
}

// Copies `from` into `to`'s layout (oneDNN's reorder), waiting for it to finish.
void reorder_into(const dnnl::memory& from, const dnnl::memory& to) {
  dnnl::stream s(cpu_engine());
  auto src = from, dst = to;  // handles to the same memory: execute takes non-const references
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
}

}  // namespace

size_t matmul_kernels_cached() {
  auto& [mu, cache] = kernel_cache();
  std::lock_guard<std::mutex> lock(mu);
  return cache.size();
}

struct PackedMatrix::Impl {
  dt type;
  dnnl::memory::desc packed_desc;
  dnnl::memory packed;
  // Int8: the weight's row scales (N), and the plain (K, N) weight: oneDNN reorders an s8 weight
  // into another layout only from a plain one (the packed one carries its s8·s8 compensation).
  std::vector<float> row_scale;
  std::vector<int8_t> plain_s8;
  // Copies in the other layouts that some batch shapes' kernels want, made on first use from
  // `packed` (or plain_s8); never removed, so references to them stay valid.
  mutable std::mutex mu;
  mutable std::vector<std::unique_ptr<dnnl::memory>> other_layouts;

  // Runs the cached kernel for (M, N, K, accumulate) from dense src rows into dense dst rows
  // (with s8, the weight's row scales as the post-op's operand), and waits for it.
  void run(int M, int N, int K, bool accumulate, const void* src_data, float* dst_data) const;

  dnnl::memory plain(int N, int K) const {  // the (N, K) row-major weight as the (K, N) matrix
    return dnnl::memory({{K, N}, type, {1, K}}, cpu_engine(), const_cast<int8_t*>(plain_s8.data()));
  }
  const dnnl::memory& weights_for(const dnnl::memory::desc& want, int N, int K) const {
    if (want == packed_desc) return packed;
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& m : other_layouts)
      if (m->get_desc() == want) return *m;
    auto copy = std::make_unique<dnnl::memory>(want, cpu_engine());
    reorder_into(type == dt::s8 ? plain(N, K) : packed, *copy);
    other_layouts.push_back(std::move(copy));
    return *other_layouts.back();
  }
};

PackedMatrix::PackedMatrix(const float* w, int rows, int cols, WeightType type)
    : impl_(std::make_unique<Impl>()), rows_(rows), cols_(cols), type_(type) {
  const int N = rows, K = cols;
  if (type == WeightType::Int8) throw std::invalid_argument("PackedMatrix: int8 weights come quantized (q, row_scale)");
  impl_->type = type == WeightType::Bf16 ? dt::bf16 : dt::f32;
  try {
    impl_->packed_desc = describe(impl_->type, 1, N, K, false).weights_desc();
    impl_->packed = dnnl::memory(impl_->packed_desc, cpu_engine());
    // The (N, K) row-major weight is the (K, N) matrix with strides (1, K).
    std::vector<uint16_t> bf16;
    void* plain_data = const_cast<float*>(w);
    if (type == WeightType::Bf16) {
      bf16.resize(static_cast<size_t>(N) * K);
      f32_to_bf16(w, static_cast<long>(bf16.size()), bf16.data());
      plain_data = bf16.data();
    }
    reorder_into(dnnl::memory({{K, N}, impl_->type, {1, K}}, cpu_engine(), plain_data), impl_->packed);
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN cannot pack a ") + (type == WeightType::Bf16 ? "bf16" : "f32") +
                             " " + std::to_string(N) + "x" + std::to_string(K) + " weight: " + e.what());
  }
}

PackedMatrix::PackedMatrix(const int8_t* q, const float* row_scale, int rows, int cols)
    : impl_(std::make_unique<Impl>()), rows_(rows), cols_(cols), type_(WeightType::Int8) {
  const int N = rows, K = cols;
  impl_->type = dt::s8;
  impl_->row_scale.assign(row_scale, row_scale + N);
  impl_->plain_s8.assign(q, q + static_cast<size_t>(N) * K);
  try {
    impl_->packed_desc = describe(dt::s8, 1, N, K, false).weights_desc();
    impl_->packed = dnnl::memory(impl_->packed_desc, cpu_engine());
    reorder_into(impl_->plain(N, K), impl_->packed);
  } catch (const dnnl::error& e) {
    throw std::runtime_error("oneDNN cannot pack an int8 " + std::to_string(N) + "x" + std::to_string(K) +
                             " weight: " + e.what());
  }
}

PackedMatrix::~PackedMatrix() = default;

size_t PackedMatrix::bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  size_t n = impl_->packed_desc.get_size() + impl_->plain_s8.size() + impl_->row_scale.size() * sizeof(float);
  for (const auto& m : impl_->other_layouts) n += m->get_desc().get_size();
  return n;
}

void PackedMatrix::Impl::run(int M, int N, int K, bool accumulate, const void* src_data, float* dst_data) const {
  thread_local std::vector<uint8_t> scratch;
  thread_local dnnl::stream stream(cpu_engine());
  const ForeignCall foreign;
  const auto k = shared_kernel(type, M, N, K, accumulate);
  const dnnl::memory& weights = weights_for(k->wei, N, K);
  if (scratch.size() < std::max<size_t>(1, k->scratch)) scratch.resize(std::max<size_t>(1, k->scratch));
  const auto& eng = cpu_engine();
  const dnnl::memory src(k->src, eng, const_cast<void*>(src_data)), dst(k->dst, eng, dst_data);
  const dnnl::memory pad(k->scratch_desc, eng, scratch.data());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, pad}};
  if (type == dt::s8)
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                 dnnl::memory({{1, N}, dt::f32, {N, 1}}, eng, const_cast<float*>(row_scale.data())));
  k->prim.execute(stream, args);
  stream.wait();
}

void PackedMatrix::multiply(int M, const float* x, int ldx, float* y, int ldy, float beta) const {
  if (M == 0 || rows_ == 0) return;
  if (beta != 0.0f && beta != 1.0f) throw std::invalid_argument("PackedMatrix::multiply: beta must be 0 or 1");
  const int K = cols_;
  if (type_ == WeightType::Int8) {
    thread_local std::vector<int8_t> xq;
    thread_local std::vector<float> xs;
    xq.resize(static_cast<size_t>(M) * K);
    xs.resize(static_cast<size_t>(M));
    quantize_rows_s8(x, M, K, ldx, xq.data(), xs.data());
    multiply_quantized(M, xq.data(), xs.data(), y, ldy, beta);
    return;
  }
  if (type_ == WeightType::Bf16) {
    thread_local std::vector<uint16_t> xb;
    xb.resize(static_cast<size_t>(M) * K);
    f32_to_bf16_rows(x, M, K, ldx, xb.data());
    multiply_bf16(M, xb.data(), y, ldy, beta);
    return;
  }
  thread_local std::vector<float> xf;
  // The packed layout serves dense rows only (oneDNN picks another layout for strided ones):
  // strided x is gathered, and a strided y goes through a dense buffer.
  const void* src_data = x;
  if (ldx != K) {
    xf.resize(static_cast<size_t>(M) * K);
    for (int m = 0; m < M; ++m) std::copy_n(x + static_cast<size_t>(m) * ldx, K, &xf[static_cast<size_t>(m) * K]);
    src_data = xf.data();
  }
  run_dense(M, src_data, y, ldy, beta);
}

void PackedMatrix::multiply_bf16(int M, const uint16_t* xb, float* y, int ldy, float beta) const {
  if (M == 0 || rows_ == 0) return;
  if (type_ != WeightType::Bf16) throw std::invalid_argument("PackedMatrix::multiply_bf16: the weight is not bf16");
  if (beta != 0.0f && beta != 1.0f) throw std::invalid_argument("PackedMatrix::multiply_bf16: beta must be 0 or 1");
  run_dense(M, xb, y, ldy, beta);
}

void PackedMatrix::run_dense(int M, const void* src_data, float* y, int ldy, float beta) const {
  const int N = rows_, K = cols_;
  thread_local std::vector<float> yf;
  float* dst_data = y;
  if (ldy != N) {
    yf.resize(static_cast<size_t>(M) * N);
    dst_data = yf.data();
  }
  impl_->run(M, N, K, beta != 0.0f && ldy == N, src_data, dst_data);
  if (ldy != N)
    for (int m = 0; m < M; ++m) {
      float* yr = y + static_cast<size_t>(m) * ldy;
      const float* tr = &yf[static_cast<size_t>(m) * N];
      for (int n = 0; n < N; ++n) yr[n] = tr[n] + (beta != 0.0f ? yr[n] : 0.0f);
    }
}

void PackedMatrix::multiply_quantized(int M, const int8_t* xq, const float* x_scale, float* y, int ldy,
                                      float beta) const {
  if (M == 0 || rows_ == 0) return;
  if (type_ != WeightType::Int8) throw std::invalid_argument("PackedMatrix::multiply_quantized: the weight is not int8");
  if (beta != 0.0f && beta != 1.0f) throw std::invalid_argument("PackedMatrix::multiply_quantized: beta must be 0 or 1");
  const int N = rows_, K = cols_;
  thread_local std::vector<float> yf;
  // oneDNN writes acc · w_scale; the rows are then scaled by x_scale, in place when y is dense
  // and not accumulated into, else from a dense buffer into y.
  const bool in_place = beta == 0.0f && ldy == N;
  float* dst_data = y;
  if (!in_place) {
    yf.resize(static_cast<size_t>(M) * N);
    dst_data = yf.data();
  }
  impl_->run(M, N, K, false, xq, dst_data);
  if (in_place && x_scale == nullptr) return;
  const float* t = dst_data;
  parallel_chunks(M, std::max(1, 4096 / N), std::max(1, 32768 / N), [&](long m0, long m1) {
    for (long m = m0; m < m1; ++m)
      scale_row(t + static_cast<size_t>(m) * N, N, x_scale ? x_scale[m] : 1.0f, beta, y + static_cast<size_t>(m) * ldy);
  });
}

float quantize_row_s8(const float* x, int K, int8_t* out) { return quantize_s8(x, K, out); }

void quantize_rows_s8(const float* x, int rows, int K, int ldx, int8_t* q, float* scale) {
  parallel_chunks(rows, std::max(1, 4096 / K), std::max(1, 32768 / K), [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r)
      scale[r] = quantize_s8(x + static_cast<size_t>(r) * ldx, K, q + static_cast<size_t>(r) * K);
  });
}

void f32_to_bf16_rows(const float* x, int rows, int K, int ldx, uint16_t* out) {
  parallel_chunks(rows, std::max(1, 4096 / K), std::max(1, 32768 / K), [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) f32_to_bf16(x + static_cast<size_t>(r) * ldx, K, out + static_cast<size_t>(r) * K);
  });
}

namespace naive {

void gemm_nt_typed(int M, int N, int K, const float* x, int ldx, const float* w, WeightType type, float* y, int ldy,
                   float beta) {
  // io's scalar conversions, independent of the vectorized one under test.
  auto round = [&](float v) { return type == WeightType::Bf16 ? emot5::bf16_to_f32(emot5::f32_to_bf16(v)) : v; };
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double acc = 0;
      for (int k = 0; k < K; ++k)
        acc += static_cast<double>(round(x[static_cast<size_t>(m) * ldx + k])) * round(w[static_cast<size_t>(n) * K + k]);
      float& out = y[static_cast<size_t>(m) * ldy + n];
      out = static_cast<float>(acc) + (beta == 0.0f ? 0.0f : beta * out);
    }
}

}  // namespace naive
}  // namespace emot5::kernels
