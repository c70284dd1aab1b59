// bf16 matrix products through oneDNN's matmul (see bgemm.h).
#include "kernels/bgemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "kernels/simd.h"

namespace emot5::kernels {

namespace {

EMOT5_INLINE void f32_to_bf16_body(const float* x, long n, uint16_t* out) {
#pragma omp simd
  for (long i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &x[i], sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    out[i] = static_cast<uint16_t>(u >> 16);
  }
}
EMOT5_VERSIONS(void, f32_to_bf16, (const float* x, long n, uint16_t* out), (x, n, out))

float bf16_value(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

const dnnl::engine& cpu_engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

}  // namespace

// One matmul for any number of rows (M is a run-time dimension), with and without accumulation
// into y; scratchpads are the caller's, so that threads can run the same primitive at once.
struct Bf16Matrix::Kernels {
  dnnl::matmul::primitive_desc pd_set, pd_add;
  dnnl::matmul set, add;
  size_t scratch_bytes = 0;
};

namespace {

std::shared_ptr<Bf16Matrix::Kernels> make_kernels(int N, int K) {
  using dt = dnnl::memory::data_type;
  const auto R = DNNL_RUNTIME_DIM_VAL;
  const dnnl::memory::desc src({R, K}, dt::bf16, {R, 1});
  const dnnl::memory::desc wei({K, N}, dt::bf16, {1, K});  // the (N, K) row-major weight, transposed
  const dnnl::memory::desc dst({R, N}, dt::f32, {R, 1});
  auto make = [&](bool accumulate) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (accumulate) {
      dnnl::post_ops po;
      po.append_sum(1.0f);
      attr.set_post_ops(po);
    }
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), attr, cpu_engine());
  };
  auto k = std::make_shared<Bf16Matrix::Kernels>();
  k->pd_set = make(false);
  k->pd_add = make(true);
  k->set = dnnl::matmul(k->pd_set);
  k->add = dnnl::matmul(k->pd_add);
  k->scratch_bytes = std::max(k->pd_set.scratchpad_desc().get_size(), k->pd_add.scratchpad_desc().get_size());
  return k;
}

}  // namespace

void f32_to_bf16_row(const float* x, long n, uint16_t* out) { f32_to_bf16(x, n, out); }

Bf16Matrix to_bf16_matrix(const float* w, int rows, int cols) {
  Bf16Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.w.resize(static_cast<size_t>(rows) * cols);
  f32_to_bf16(w, static_cast<long>(m.w.size()), m.w.data());
  try {
    m.kernels = make_kernels(rows, cols);
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN bf16 matmul is not available: ") + e.what());
  }
  return m;
}

void gemm_nt_bf16(int M, int N, int K, const float* x, int ldx, const Bf16Matrix& w, float* y, int ldy,
                  float beta) {
  if (M == 0 || N == 0) return;
  if (beta != 0.0f && beta != 1.0f) throw std::invalid_argument("gemm_nt_bf16: beta must be 0 or 1");
  thread_local std::vector<uint16_t> xb;
  thread_local std::vector<uint8_t> scratch;
  thread_local dnnl::stream stream(cpu_engine());
  xb.resize(static_cast<size_t>(M) * K);
  uint16_t* const xb_p = xb.data();
  parallel_chunks(M, std::max(1, 4096 / K), std::max(1, 32768 / K), [&](long m0, long m1) {
    for (long m = m0; m < m1; ++m) f32_to_bf16(x + static_cast<size_t>(m) * ldx, K, xb_p + static_cast<size_t>(m) * K);
  });
  auto& k = *w.kernels;
  if (scratch.size() < k.scratch_bytes) scratch.resize(k.scratch_bytes);
  using dt = dnnl::memory::data_type;
  const auto& eng = cpu_engine();
  const dnnl::memory src({{M, K}, dt::bf16, {K, 1}}, eng, xb_p);
  const dnnl::memory wei({{K, N}, dt::bf16, {1, K}}, eng, const_cast<uint16_t*>(w.w.data()));
  const dnnl::memory dst({{M, N}, dt::f32, {ldy, 1}}, eng, y);
  const auto& pd = beta == 0.0f ? k.pd_set : k.pd_add;
  const dnnl::memory pad(pd.scratchpad_desc(), eng, scratch.data());
  (beta == 0.0f ? k.set : k.add)
      .execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, pad}});
  stream.wait();
}

namespace naive {

void gemm_nt_bf16(int M, int N, int K, const float* x, int ldx, const Bf16Matrix& w, float* y, int ldy,
                  float beta) {
  std::vector<uint16_t> xb(static_cast<size_t>(K));
  for (int m = 0; m < M; ++m) {
    f32_to_bf16_row(x + static_cast<size_t>(m) * ldx, K, xb.data());
    for (int n = 0; n < N; ++n) {
      double acc = 0;
      for (int k = 0; k < K; ++k)
        acc += static_cast<double>(bf16_value(xb[static_cast<size_t>(k)])) * bf16_value(w.w[static_cast<size_t>(n) * K + k]);
      float& out = y[static_cast<size_t>(m) * ldy + n];
      out = static_cast<float>(acc) + (beta == 0.0f ? 0.0f : beta * out);
    }
  }
}

}  // namespace naive
}  // namespace emot5::kernels
