// config.json parsing with HF's defaults and derivations.
#include "io/config.h"

#include <climits>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "io/error.h"
#include "io/file_util.h"
#include "io/json_util.h"

namespace emot5 {

namespace {

template <typename T>
void get_field(const nlohmann::json& j, const char* key, T* out, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    if constexpr (std::is_same_v<T, int>) {
      if (!it->is_number_integer()) throw Error("");
      const auto v = it->get<int64_t>();
      if (v < 0 || v > (int64_t{1} << 30)) throw Error("");
      *out = static_cast<int>(v);
    } else if constexpr (std::is_same_v<T, float>) {
      if (!it->is_number()) throw Error("");
      *out = it->get<float>();
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) throw Error("");
      *out = it->get<bool>();
    } else {
      if (!it->is_string()) throw Error("");
      *out = it->get<std::string>();
    }
  } catch (const Error&) {
    throw Error(origin + ": field '" + key + "' has an invalid value " + it->dump());
  }
}

// eos_token_id may be a list in some configs; HF uses the first for generation.
void get_token_id(const nlohmann::json& j, const char* key, int* out, const std::string& origin) {
  auto it = j.find(key);
  if (it != j.end() && it->is_array() && !it->empty()) {
    nlohmann::json first = {{key, (*it)[0]}};
    get_field(first, key, out, origin);
    return;
  }
  get_field(j, key, out, origin);
}

}  // namespace

T5Config parse_t5_config(const std::string& text, const std::string& origin) {
  const nlohmann::json j = parse_json_object(text, origin);
  if (j.contains("model_type") && j["model_type"].is_string()) {
    const auto mt = j["model_type"].get<std::string>();
    if (mt != "t5" && mt != "mt5" && mt != "umt5")
      throw Error(origin + ": field 'model_type' is '" + mt + "', expected 't5'");
  }
  T5Config c;
  get_field(j, "vocab_size", &c.vocab_size, origin);
  get_field(j, "d_model", &c.d_model, origin);
  get_field(j, "d_kv", &c.d_kv, origin);
  get_field(j, "d_ff", &c.d_ff, origin);
  get_field(j, "num_layers", &c.num_layers, origin);
  c.num_decoder_layers = c.num_layers;
  get_field(j, "num_decoder_layers", &c.num_decoder_layers, origin);
  get_field(j, "num_heads", &c.num_heads, origin);
  get_field(j, "relative_attention_num_buckets", &c.relative_attention_num_buckets, origin);
  get_field(j, "relative_attention_max_distance", &c.relative_attention_max_distance, origin);
  get_field(j, "layer_norm_epsilon", &c.layer_norm_epsilon, origin);
  get_field(j, "feed_forward_proj", &c.feed_forward_proj, origin);
  get_field(j, "tie_word_embeddings", &c.tie_word_embeddings, origin);
  c.scale_decoder_outputs = c.tie_word_embeddings;
  get_field(j, "scale_decoder_outputs", &c.scale_decoder_outputs, origin);
  get_field(j, "dropout_rate", &c.dropout_rate, origin);
  get_token_id(j, "decoder_start_token_id", &c.decoder_start_token_id, origin);
  get_token_id(j, "eos_token_id", &c.eos_token_id, origin);
  get_token_id(j, "pad_token_id", &c.pad_token_id, origin);

  // HF derives the activation from feed_forward_proj and ignores config.json's dense_act_fn.
  const auto& f = c.feed_forward_proj;
  const auto dash = f.find('-');
  const std::string head = dash == std::string::npos ? "" : f.substr(0, dash);
  const std::string act = dash == std::string::npos ? f : f.substr(dash + 1);
  if ((dash != std::string::npos && head != "gated") || f.find('-', dash + 1) != std::string::npos)
    throw Error(origin + ": field 'feed_forward_proj' is '" + f +
                "', expected 'ACT' or 'gated-ACT' (relu, gelu, gelu_new, silu)");
  c.is_gated_act = head == "gated";
  c.dense_act_fn = (f == "gated-gelu") ? "gelu_new" : act;
  if (c.dense_act_fn != "relu" && c.dense_act_fn != "gelu" && c.dense_act_fn != "gelu_new" &&
      c.dense_act_fn != "silu" && c.dense_act_fn != "swish" && c.dense_act_fn != "gelu_pytorch_tanh")
    throw Error(origin + ": field 'feed_forward_proj' names unsupported activation '" + act + "'");

  auto positive = [&](int v, const char* name) {
    if (v <= 0) throw Error(origin + ": field '" + std::string(name) + "' must be positive, got " + std::to_string(v));
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.d_model, "d_model");
  positive(c.d_kv, "d_kv");
  positive(c.d_ff, "d_ff");
  positive(c.num_heads, "num_heads");
  positive(c.relative_attention_num_buckets, "relative_attention_num_buckets");
  positive(c.relative_attention_max_distance, "relative_attention_max_distance");
  if (c.num_layers < 1 || c.num_decoder_layers < 1)
    throw Error(origin + ": num_layers and num_decoder_layers must be at least 1");
  if (!(std::isfinite(c.layer_norm_epsilon) && c.layer_norm_epsilon > 0 && c.layer_norm_epsilon < 1))
    throw Error(origin + ": field 'layer_norm_epsilon' must be a positive number below 1 (T5 uses 1e-6), got " +
                j["layer_norm_epsilon"].dump());
  if (!(c.dropout_rate >= 0 && c.dropout_rate < 1))
    throw Error(origin + ": field 'dropout_rate' must be in [0, 1), got " + std::to_string(c.dropout_rate));
  // Shapes in 64 bits: every weight matrix must hold fewer than 2^31 values, as the engine indexes them.
  auto fits = [&](int64_t rows, int64_t cols, const std::string& what) {
    if (rows * cols > INT32_MAX)
      throw Error(origin + ": " + what + " = " + std::to_string(rows) + " × " + std::to_string(cols) + " = " +
                  std::to_string(rows * cols) + " values, more than the 2147483647 a weight may hold");
  };
  const int64_t inner = static_cast<int64_t>(c.num_heads) * c.d_kv;
  fits(c.num_heads, c.d_kv, "num_heads × d_kv");
  fits(inner, c.d_model, "(num_heads × d_kv) × d_model");
  fits(c.d_ff, c.d_model, "d_ff × d_model");
  fits(c.vocab_size, c.d_model, "vocab_size × d_model");
  for (int id : {c.decoder_start_token_id, c.eos_token_id, c.pad_token_id})
    if (id >= c.vocab_size) throw Error(origin + ": a special token id is outside vocab_size");
  return c;
}

T5Config load_t5_config(const std::string& path) {
  if (!file_exists(path)) throw Error(path + ": missing (a model directory needs config.json)");
  return parse_t5_config(read_file(path), path);
}

std::string t5_config_json(const T5Config& c) {
  nlohmann::ordered_json j;
  j["architectures"] = {"T5ForConditionalGeneration"};
  j["model_type"] = "t5";
  j["vocab_size"] = c.vocab_size;
  j["d_model"] = c.d_model;
  j["d_kv"] = c.d_kv;
  j["d_ff"] = c.d_ff;
  j["num_layers"] = c.num_layers;
  j["num_decoder_layers"] = c.num_decoder_layers;
  j["num_heads"] = c.num_heads;
  j["relative_attention_num_buckets"] = c.relative_attention_num_buckets;
  j["relative_attention_max_distance"] = c.relative_attention_max_distance;
  j["layer_norm_epsilon"] = c.layer_norm_epsilon;
  j["feed_forward_proj"] = c.feed_forward_proj;
  j["dense_act_fn"] = c.dense_act_fn;
  j["is_gated_act"] = c.is_gated_act;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["scale_decoder_outputs"] = c.scale_decoder_outputs;
  j["dropout_rate"] = c.dropout_rate;
  j["decoder_start_token_id"] = c.decoder_start_token_id;
  j["eos_token_id"] = c.eos_token_id;
  j["pad_token_id"] = c.pad_token_id;
  j["is_encoder_decoder"] = true;
  j["initializer_factor"] = 1.0;
  j["use_cache"] = true;
  return j.dump(2) + "\n";
}

T5Config flan_t5_small_config() {
  T5Config c;
  c.vocab_size = 32128;
  c.d_model = 512;
  c.d_kv = 64;
  c.d_ff = 1024;
  c.num_layers = 8;
  c.num_decoder_layers = 8;
  c.num_heads = 6;
  c.feed_forward_proj = "gated-gelu";
  c.dense_act_fn = "gelu_new";
  c.is_gated_act = true;
  c.tie_word_embeddings = false;
  c.scale_decoder_outputs = false;
  c.dropout_rate = 0.1f;
  return c;
}

T5Config t5_preset(const std::string& name) {
  T5Config c = flan_t5_small_config();
  if (name == "flan-t5-small") return c;
  if (name == "emot5-small") {
    // The built-in model's shape: a wide-enough encoder, a one-layer decoder (it emits one word),
    // and a tied head, so that the vocabulary's cost is paid once.
    c.d_model = 256; c.d_kv = 32; c.num_heads = 8; c.d_ff = 768; c.num_layers = 4; c.num_decoder_layers = 1;
    c.tie_word_embeddings = true; c.scale_decoder_outputs = true;
    return c;
  }
  if (name == "t5-tiny") {
    c.d_model = 64; c.d_kv = 16; c.num_heads = 4; c.d_ff = 128; c.num_layers = 2; c.num_decoder_layers = 1;
    return c;
  }
  throw std::invalid_argument("unknown --preset '" + name + "' (emot5-small, t5-tiny, flan-t5-small)");
}

}  // namespace emot5
