// T5 parameter layout (see layout.h).
#include "io/layout.h"

namespace emot5 {

std::vector<ParamSpec> t5_parameter_specs(const T5Config& c) {
  const int64_t D = c.d_model, I = static_cast<int64_t>(c.num_heads) * c.d_kv, F = c.d_ff, V = c.vocab_size;
  std::vector<ParamSpec> out;
  out.push_back({"shared.weight", {V, D}});
  auto ff = [&](const std::string& p) {
    if (c.is_gated_act) {
      out.push_back({p + "DenseReluDense.wi_0.weight", {F, D}});
      out.push_back({p + "DenseReluDense.wi_1.weight", {F, D}});
    } else {
      out.push_back({p + "DenseReluDense.wi.weight", {F, D}});
    }
    out.push_back({p + "DenseReluDense.wo.weight", {D, F}});
    out.push_back({p + "layer_norm.weight", {D}});
  };
  auto attn = [&](const std::string& p, const char* kind, bool bias) {
    for (const char* m : {"q", "k", "v"}) out.push_back({p + kind + "." + m + ".weight", {I, D}});
    out.push_back({p + kind + ".o.weight", {D, I}});
    if (bias)
      out.push_back({p + kind + ".relative_attention_bias.weight",
                     {c.relative_attention_num_buckets, c.num_heads}});
    out.push_back({p + "layer_norm.weight", {D}});
  };
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = "encoder.block." + std::to_string(i) + ".layer.";
    attn(p + "0.", "SelfAttention", i == 0);
    ff(p + "1.");
  }
  out.push_back({"encoder.final_layer_norm.weight", {D}});
  for (int i = 0; i < c.num_decoder_layers; ++i) {
    const std::string p = "decoder.block." + std::to_string(i) + ".layer.";
    attn(p + "0.", "SelfAttention", i == 0);
    attn(p + "1.", "EncDecAttention", false);
    ff(p + "2.");
  }
  out.push_back({"decoder.final_layer_norm.weight", {D}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {V, D}});
  return out;
}

}  // namespace emot5
