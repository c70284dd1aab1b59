// T5ForConditionalGeneration for inference: the encoder, an incremental decoder with a
// self-attention cache and cross-attention keys/values computed once, the head and greedy
// generation. Types keep modeling_t5.py's module names; weights are looked up by their
// safetensors keys. A loaded model is immutable, so one instance serves many threads.
//
// Legend: B batch, T total real tokens of a packed batch (no padding), L one text's length,
// D d_model, H heads, dk d_kv, I = H·dk, F d_ff, V vocab, S decoder steps.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/config.h"
#include "io/tensor_source.h"
#include "kernels/head_argmax.h"
#include "kernels/ops.h"
#include "kernels/matmul.h"
#include "kernels/qgemm.h"

namespace emot5 {

// How the linear layers' weights are held (always packed once at load for the CPU's kernels).
// F32, Bf16 and Int8: every linear layer in that type (int8: per-row weight scales, activations
// quantized per row by the pass that makes them). All keep the embedding and the head in f32.
enum class Precision { F32, Bf16, Int8 };
Precision parse_precision(const std::string& s);  // "f32", "bf16" or "int8"

struct Linear {  // PyTorch nn.Linear without bias: y = x · w^T
  const kernels::PackedMatrix* p = nullptr;  // f32, bf16 or int8 weights, packed for oneDNN's matmul
  int out = 0, in = 0;
};

// y (rows, out) = x (rows, in) · w^T + beta·y, in the weight's precision; dense rows.
void linear(const Linear& l, const float* x, int rows, float* y, float beta = 0.0f);

// A linear layer's input rows: f32 (x); for int8 weights, already quantized (q with one scale
// a row, x ≈ q · scale) by the pass that made them; for bf16 weights, already rounded to bf16 (b)
// by the pass that made them.
struct LinearInput {
  const float* x = nullptr;
  const int8_t* q = nullptr;
  const float* scale = nullptr;
  const uint16_t* b = nullptr;
};
void linear(const Linear& l, const LinearInput& in, int rows, float* y, float beta = 0.0f);
// A residual add not made yet: x += t · scale by row, where t holds an int8 product's rows left
// unscaled, so that the norm after it makes the add in its own pass over x. None when t is null.
struct PendingResidual {
  const float* t = nullptr;
  const float* scale = nullptr;
};
// RMSNorm of x's rows (T5LayerNorm weight w) as the input of l: quantized (int8) or rounded
// (bf16) in the same pass when l's weights are of that type (into this thread's scratch, valid
// until the next call), else written to n_f32 (rows, cols). A pending residual is added into x first (in the same pass for int8) and
// then cleared.
LinearInput norm_input(const Linear& l, float* x, const float* w, int rows, int cols, float eps, float* n_f32,
                       PendingResidual* pending = nullptr);
// The encoder's output as the input of the cross-attention's k and v products (of weights like
// l's): for int8 or bf16, quantized or rounded once when `quantize` is true (the first layer)
// into this thread's scratch and then reused by every layer's two products; f32 rows otherwise.
LinearInput encoder_input(const Linear& l, const float* hidden, int rows, int cols, bool quantize);

struct T5LayerNorm {
  const float* weight = nullptr;  // (D)
};

struct T5Attention {
  Linear qkv;      // self-attention: q, k and v stacked (3I, D), one product
  Linear q, k, v;  // cross-attention: (I, D) each (k and v run once, on the encoder output)
  Linear o;        // (D, I)
  const float* relative_attention_bias = nullptr;  // (num_buckets, H); layer 0 only
};

struct T5LayerFF {  // T5DenseActDense or T5DenseGatedActDense
  Linear wi;  // (F, D), or wi_0 and wi_1 stacked (2F, D) when gated: one product
  Linear wo;              // (D, F)
  T5LayerNorm layer_norm;
};

struct T5Block {
  T5Attention self_attention;
  T5LayerNorm self_attention_norm;
  T5Attention cross_attention;  // decoder only (EncDecAttention)
  T5LayerNorm cross_attention_norm;
  T5LayerFF ff;
};

struct T5Stack {
  std::vector<T5Block> block;
  T5LayerNorm final_layer_norm;
};

// A batch of token sequences packed without padding: text b is ids[offsets[b] .. offsets[b+1]).
struct PackedBatch {
  std::vector<int> ids;      // (T)
  std::vector<int> offsets;  // (B + 1)
  int batch() const { return static_cast<int>(offsets.size()) - 1; }
  int length(int b) const { return offsets[b + 1] - offsets[b]; }
  static PackedBatch from(const std::vector<std::vector<int>>& seqs);
};

struct EncoderOutput {
  std::vector<float> hidden;  // (T, D), after the final RMSNorm
  std::vector<int> offsets;   // (B + 1)
  int batch() const { return static_cast<int>(offsets.size()) - 1; }
};

// Per-request decoder state: caches for one batch.
struct DecoderState {
  int batch = 0, step = 0, max_steps = 0;
  std::vector<int> enc_offsets;                 // (B + 1)
  std::vector<std::vector<float>> cross_k, cross_v;  // per layer (T, I); empty for a single step
  const float* enc_hidden = nullptr;  // single step: keys/values are made layer by layer from it
  std::vector<std::vector<float>> self_k, self_v;    // per layer (steps so far, B, I)
  std::vector<float> hidden;  // (B, D): the last step's output, normed (and scaled)
};

class T5Model {
 public:
  // Validates every tensor's presence and shape against `config` and throws emot5::Error
  // naming the tensor, its file and the expected and found shapes. F16/BF16 are widened to f32.
  T5Model(const T5Config& config, std::shared_ptr<const TensorSource> weights,
          Precision precision = Precision::F32);

  const T5Config& config() const { return config_; }

  EncoderOutput encode(const PackedBatch& batch) const;
  // With max_steps 1 (classification's one step) the cross-attention keys and values are made
  // layer by layer during the step instead of all at once here, and the state refers to `enc`,
  // which must outlive it.
  DecoderState start_decoder(const EncoderOutput& enc, int max_steps) const;
  // One decoder step for tokens (B). Leaves the final hidden state in state.hidden.
  void decode_step(DecoderState& state, const int* tokens) const;
  // Full-vocabulary logits (B, V) of state.hidden.
  void logits(const DecoderState& state, float* out) const;
  // The head's weight rows for `ids` (n, D); apply them to state.hidden (already scaled).
  std::vector<float> head_rows(const std::vector<int>& ids) const;

  // The greedy choice of each row of state.hidden over the whole vocabulary: the f32 head's
  // argmax, found through a screen (kernels/head_argmax.h) instead of the full logits. Rows with
  // skip[b] set are left as they are.
  void next_tokens(const DecoderState& state, int* best, const char* skip = nullptr) const;

  // HF's greedy generate: each row starts with decoder_start; after eos, pad; stops when every
  // row has ended or after max_new_tokens. `on_first_step`, when set, sees the state after the
  // first step, so that a caller can score labels from the same pass (head_rows, logits).
  std::vector<std::vector<int>> generate(
      const EncoderOutput& enc, int max_new_tokens,
      const std::function<void(const DecoderState&)>& on_first_step = {}) const;

  size_t weight_bytes() const { return weight_bytes_; }

 private:
  const float* take(const std::string& name, std::vector<int64_t> shape);
  // One Linear of the weights `names`, each (out_each, in), stacked by rows.
  Linear take_linear(const std::vector<std::string>& names, int out_each, int in);
  void release(const float* w, size_t n);
  // x += FFN(x); with `pending`, a residual add left by the sublayer before is made first, and
  // (int8) the FFN's own is left in *pending for the next norm to make.
  void feed_forward(const T5LayerFF& ff, float* x, int rows, PendingResidual* pending = nullptr) const;

  T5Config config_;
  std::shared_ptr<const TensorSource> source_;
  std::vector<std::vector<float>> owned_;  // widened or realigned weights
  std::vector<std::shared_ptr<const kernels::PackedMatrix>> packed_;
  Precision precision_ = Precision::F32;
  size_t weight_bytes_ = 0;
  kernels::Act act_;
  const float* shared_ = nullptr;  // (V, D)
  const float* lm_head_ = nullptr;  // (V, D)
  // The head packed for the matmul kernels, made on first use (log_probs, multi-token labels, and
  // generation on CPUs without bf16 products): scores-only classification never needs it, and it
  // costs V × D floats more.
  const kernels::PackedMatrix& head_packed() const;
  mutable std::once_flag head_once_;
  mutable std::unique_ptr<kernels::PackedMatrix> head_packed_;
  // Greedy generation's argmax over the head, made on its first use.
  mutable std::once_flag argmax_once_;
  mutable std::unique_ptr<kernels::HeadArgmax> head_argmax_;
  float head_scale_ = 1.0f;
  T5Stack encoder_, decoder_;
};

}  // namespace emot5
