// Element-wise and row-wise kernels of T5 on row-major f32 buffers:
// rows × cols, one row per token. Each fast kernel has a naive:: reference for the unit tests.
#pragma once
#include <string>

namespace emot5::kernels {

enum class Act { Relu, Gelu, GeluNew, Silu };
Act parse_act(const std::string& name);  // relu, gelu, gelu_new, gelu_pytorch_tanh, silu, swish

// T5LayerNorm (RMSNorm, no mean, no bias): out = w · x / sqrt(mean(x²) + eps).
void rms_norm(const float* x, const float* w, int rows, int cols, float eps, float* out);
// In place: x = act(x).
void activate(float* x, long n, Act act);
// Fused gated FFN rows: gu is (rows, 2F), each row [g | u]; out (rows, F) = act(g) · u.
void gated_activate_rows(const float* gu, int rows, int F, Act act, float* out);
// In place softmax of one row.
void softmax(float* x, int n);
// log-softmax of one row into out; returns the log of the normalizer (logsumexp).
double log_softmax(const float* x, int n, float* out);
// y += x
void add_inplace(float* y, const float* x, long n);
void scale_inplace(float* y, float s, long n);
int argmax(const float* x, int n);

namespace naive {
void rms_norm(const float* x, const float* w, int rows, int cols, float eps, float* out);
float act(float x, Act act);
void softmax(float* x, int n);
}  // namespace naive

}  // namespace emot5::kernels
