// T5Config: every config.json field that changes the computation, with Hugging Face's defaults
// and derivations (T5Config.__init__ in transformers' configuration_t5.py).
#pragma once
#include <string>

namespace emot5 {

struct T5Config {
  int vocab_size = 32128;
  int d_model = 512;
  int d_kv = 64;
  int d_ff = 2048;
  int num_layers = 6;
  int num_decoder_layers = 6;  // HF: defaults to num_layers when absent or null
  int num_heads = 8;
  int relative_attention_num_buckets = 32;
  int relative_attention_max_distance = 128;
  float layer_norm_epsilon = 1e-6f;
  std::string feed_forward_proj = "relu";
  // Derived as HF does: the part after "gated-", and "gated-gelu" means gelu_new.
  std::string dense_act_fn = "relu";
  bool is_gated_act = false;
  bool tie_word_embeddings = true;
  // Scale the decoder output by d_model^-0.5 before the head. When config.json does not say,
  // HF's rule applies: scale exactly when the embeddings are tied.
  bool scale_decoder_outputs = true;
  float dropout_rate = 0.1f;
  int decoder_start_token_id = 0;
  int eos_token_id = 1;
  int pad_token_id = 0;

  int inner_dim() const { return num_heads * d_kv; }
};

// Parses config.json text; `origin` names the file in errors. Throws emot5::Error naming the
// field on a wrong type or an unsupported value.
T5Config parse_t5_config(const std::string& json_text, const std::string& origin);
T5Config load_t5_config(const std::string& path);
// google/flan-t5-small's configuration: the one place it is written down.
T5Config flan_t5_small_config();
// A named configuration for a fresh model: "flan-t5-small", "emot5-small" (the built-in model's
// shape) or "t5-tiny" (for tests). Throws std::invalid_argument naming the choices.
T5Config t5_preset(const std::string& name);

// The config.json a model directory gets, as HF writes it for T5ForConditionalGeneration.
std::string t5_config_json(const T5Config& c);

}  // namespace emot5
