// TorchT5 (see t5_torch.h). Each function names the modeling_t5.py module it reproduces.
#include "train/t5_torch.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "io/error.h"
#include "io/layout.h"
#include "model/relative_position.h"

namespace emot5::train {

namespace F = torch::nn::functional;

void TorchT5::init_names() {
  for (const auto& s : t5_parameter_specs(config_)) names_.push_back(s.name);
}

TorchT5::TorchT5(const T5Config& config, uint64_t seed) : config_(config) {
  init_names();
  torch::manual_seed(seed);
  const double f = 1.0;  // initializer_factor
  const double D = config_.d_model, dk = config_.d_kv, H = config_.num_heads, Fd = config_.d_ff;
  torch::NoGradGuard no_grad;
  for (const auto& s : t5_parameter_specs(config_)) {
    const auto& n = s.name;
    auto t = torch::empty(s.shape, torch::kFloat32);
    auto ends = [&](const char* suf) {
      const size_t m = std::strlen(suf);
      return n.size() >= m && n.compare(n.size() - m, m, suf) == 0;
    };
    double std = 0;
    if (n.find("layer_norm") != std::string::npos) {
      t.fill_(f);
    } else {
      if (n == "shared.weight" || n == "lm_head.weight") std = f * 1.0;
      else if (ends(".q.weight")) std = f * std::pow(D * dk, -0.5);
      else if (ends(".k.weight") || ends(".v.weight")) std = f * std::pow(D, -0.5);
      else if (ends(".o.weight")) std = f * std::pow(H * dk, -0.5);
      else if (ends("relative_attention_bias.weight")) std = f * std::pow(D, -0.5);
      else if (ends(".wi.weight") || ends(".wi_0.weight") || ends(".wi_1.weight")) std = f * std::pow(D, -0.5);
      else if (ends(".wo.weight")) std = f * std::pow(Fd, -0.5);
      t.normal_(0.0, std);
    }
    params_[n] = t.set_requires_grad(true);
  }
}

TorchT5::TorchT5(const T5Config& config, const TensorSource& weights) : config_(config) {
  init_names();
  for (const auto& s : t5_parameter_specs(config_)) {
    auto v = weights.find(s.name);
    if (!v && s.name == "shared.weight") v = weights.find("encoder.embed_tokens.weight");
    if (!v) throw Error(weights.origin(s.name) + ": missing tensor '" + s.name + "'");
    if (v->shape != s.shape)
      throw Error(weights.origin(s.name) + ": tensor '" + s.name + "' has shape " + shape_str(v->shape) +
                  ", expected " + shape_str(s.shape));
    const auto f32 = to_f32(*v);
    params_[s.name] = torch::from_blob(const_cast<float*>(f32.data()), s.shape, torch::kFloat32).clone().set_requires_grad(true);
  }
}

std::vector<torch::Tensor> TorchT5::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& n : names_) out.push_back(params_.at(n));
  return out;
}

void TorchT5::to(torch::Device device) {
  torch::NoGradGuard no_grad;
  for (auto& [n, t] : params_) t = t.to(device).detach().set_requires_grad(true);
}

std::shared_ptr<MemoryTensors> TorchT5::state_dict() const {
  auto out = std::make_shared<MemoryTensors>();
  for (const auto& n : names_) {
    const auto t = params_.at(n).detach().to(torch::kCPU, torch::kFloat32).contiguous();
    std::vector<float> v(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    out->add_f32(n, t.sizes().vec(), v);
  }
  return out;
}

// T5LayerNorm: weight * x / sqrt(mean(x²) + eps), the variance in float32.
torch::Tensor TorchT5::rms_norm(const torch::Tensor& x, const std::string& w) const {
  const auto var = x.pow(2).mean(-1, true);
  return p(w) * (x * torch::rsqrt(var + config_.layer_norm_epsilon));
}

// T5Attention.compute_bias: (1, H, q_len, k_len) from the bucket table.
torch::Tensor TorchT5::position_bias(const std::string& table, int q_len, int k_len, bool bidirectional) const {
  std::vector<int64_t> buckets(static_cast<size_t>(q_len) * k_len);
  const int offset = k_len - q_len;  // queries are the last q_len positions
  for (int i = 0; i < q_len; ++i)
    for (int j = 0; j < k_len; ++j)
      buckets[static_cast<size_t>(i) * k_len + j] = relative_position_bucket(
          j - (i + offset), bidirectional, config_.relative_attention_num_buckets, config_.relative_attention_max_distance);
  const auto idx = torch::tensor(buckets, torch::kInt64).to(p(table).device()).view({q_len, k_len});
  return F::embedding(idx, p(table)).permute({2, 0, 1}).unsqueeze(0);  // (1, H, q, k)
}

// T5Attention.forward without cache: no 1/sqrt(dk) scaling; softmax in float32; dropout on weights.
torch::Tensor TorchT5::attention(const std::string& pre, const torch::Tensor& x, const torch::Tensor& kv,
                                 const torch::Tensor& bias, bool train) const {
  const int64_t B = x.size(0), Lq = x.size(1), Lk = kv.size(1), H = config_.num_heads, dk = config_.d_kv;
  auto shape = [&](const torch::Tensor& t, int64_t L) { return t.view({B, L, H, dk}).transpose(1, 2); };
  const auto q = shape(F::linear(x, p(pre + ".q.weight")), Lq);
  const auto k = shape(F::linear(kv, p(pre + ".k.weight")), Lk);
  const auto v = shape(F::linear(kv, p(pre + ".v.weight")), Lk);
  auto scores = torch::matmul(q, k.transpose(3, 2)) + bias;
  auto w = torch::softmax(scores.to(torch::kFloat32), -1).to(scores.scalar_type());
  w = F::dropout(w, F::DropoutFuncOptions().p(config_.dropout_rate).training(train));
  const auto out = torch::matmul(w, v).transpose(1, 2).contiguous().view({B, Lq, H * dk});
  return F::linear(out, p(pre + ".o.weight"));
}

// T5LayerFF: x + dropout(wo(dropout(act(wi_0 x) * wi_1 x))), x normed first.
torch::Tensor TorchT5::feed_forward(const std::string& pre, const torch::Tensor& x, bool train) const {
  const auto n = rms_norm(x, pre + ".layer_norm.weight");
  auto act = [&](const torch::Tensor& t) {
    const auto& a = config_.dense_act_fn;
    if (a == "relu") return torch::relu(t);
    if (a == "gelu") return F::gelu(t);
    if (a == "silu" || a == "swish") return F::silu(t);
    return 0.5 * t * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (t + 0.044715 * torch::pow(t, 3.0))));
  };
  torch::Tensor h;
  if (config_.is_gated_act)
    h = act(F::linear(n, p(pre + ".DenseReluDense.wi_0.weight"))) * F::linear(n, p(pre + ".DenseReluDense.wi_1.weight"));
  else
    h = act(F::linear(n, p(pre + ".DenseReluDense.wi.weight")));
  h = F::dropout(h, F::DropoutFuncOptions().p(config_.dropout_rate).training(train));
  h = F::linear(h, p(pre + ".DenseReluDense.wo.weight"));
  return x + F::dropout(h, F::DropoutFuncOptions().p(config_.dropout_rate).training(train));
}

namespace {
// (B, 1, 1, L) additive mask: 0 where attended, float32 min where masked (HF's extended mask).
torch::Tensor extended_mask(const torch::Tensor& mask) {
  return (1.0 - mask.to(torch::kFloat32)).unsqueeze(1).unsqueeze(1) * std::numeric_limits<float>::lowest();
}
}  // namespace

// T5Stack (encoder).
torch::Tensor TorchT5::encode(const torch::Tensor& ids, const torch::Tensor& mask, bool train) const {
  const auto drop = F::DropoutFuncOptions().p(config_.dropout_rate).training(train);
  auto x = F::dropout(F::embedding(ids, p("shared.weight")), drop);
  const int L = static_cast<int>(ids.size(1));
  const auto bias = position_bias(kEncoderPositionBias, L, L, true) + extended_mask(mask);
  for (int i = 0; i < config_.num_layers; ++i) {
    const std::string b = "encoder.block." + std::to_string(i) + ".layer.";
    const auto n = rms_norm(x, b + "0.layer_norm.weight");
    x = x + F::dropout(attention(b + "0.SelfAttention", n, n, bias, train), drop);
    x = feed_forward(b + "1", x, train);
  }
  return F::dropout(rms_norm(x, "encoder.final_layer_norm.weight"), drop);
}

// T5Stack (decoder) and the head.
torch::Tensor TorchT5::decode(const torch::Tensor& dec_ids, const torch::Tensor& enc, const torch::Tensor& mask,
                              bool train) const {
  const auto drop = F::DropoutFuncOptions().p(config_.dropout_rate).training(train);
  auto x = F::dropout(F::embedding(dec_ids, p("shared.weight")), drop);
  const int T = static_cast<int>(dec_ids.size(1));
  const auto causal = torch::triu(torch::full({T, T}, std::numeric_limits<float>::lowest(),
                                              torch::TensorOptions().device(x.device())), 1);
  const auto self_bias = position_bias(kDecoderPositionBias, T, T, false) + causal;
  const auto cross_bias = extended_mask(mask);
  for (int i = 0; i < config_.num_decoder_layers; ++i) {
    const std::string b = "decoder.block." + std::to_string(i) + ".layer.";
    auto n = rms_norm(x, b + "0.layer_norm.weight");
    x = x + F::dropout(attention(b + "0.SelfAttention", n, n, self_bias, train), drop);
    n = rms_norm(x, b + "1.layer_norm.weight");
    x = x + F::dropout(attention(b + "1.EncDecAttention", n, enc, cross_bias, train), drop);
    x = feed_forward(b + "2", x, train);
  }
  x = F::dropout(rms_norm(x, "decoder.final_layer_norm.weight"), drop);
  if (config_.scale_decoder_outputs) x = x * std::pow(static_cast<double>(config_.d_model), -0.5);
  const auto& head = params_.count("lm_head.weight") ? p("lm_head.weight") : p("shared.weight");
  return F::linear(x, head);
}

torch::Tensor TorchT5::forward(const TorchBatch& b, bool train) {
  const auto enc = encode(b.input_ids, b.attention_mask, train);
  return decode(b.decoder_input_ids, enc, b.attention_mask, train);
}

namespace {

// The token cross-entropy part of TorchT5::loss: HF's label smoothing over the vocabulary, and
// class weights as torch's cross_entropy(weight=) (a weighted mean).
torch::Tensor token_loss(const torch::Tensor& logits, const TorchBatch& b, const LossOptions& o) {
  auto opts = F::CrossEntropyFuncOptions().ignore_index(-100).label_smoothing(o.label_smoothing);
  if (o.class_weight.defined()) opts = opts.weight(o.class_weight);
  return F::cross_entropy(logits.view({-1, logits.size(-1)}), b.labels.view({-1}), opts);
}

}  // namespace

torch::Tensor TorchT5::loss(const TorchBatch& b, bool train, const LossOptions& o) {
  const auto logits = forward(b, train).to(torch::kFloat32);
  const auto hard = token_loss(logits, b, o);
  if (o.distill_weight <= 0.0) return hard;
  if (!b.soft_targets.defined() || !o.distill_ids.defined())
    throw std::logic_error("distillation needs the batch's soft targets and the label ids");
  const double T = o.distill_temperature, w = o.distill_weight;
  const auto student = torch::log_softmax(logits.select(1, 0).index_select(1, o.distill_ids) / T, -1);
  const auto& teacher = b.soft_targets;
  const auto per_row = (torch::xlogy(teacher, teacher) - teacher * student).sum(-1);
  auto kl = per_row.mean();
  if (o.class_weight.defined()) {  // each row's KL weighed by its gold label's weight, as the label loss is
    const auto rw = o.class_weight.index({b.labels.select(1, 0).clamp_min(0)});
    kl = (per_row * rw).sum() / rw.sum();
  }
  return (1.0 - w) * hard + (w * T * T) * kl;
}

torch::Tensor TorchT5::first_step_logits(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  const auto enc = encode(input_ids, attention_mask, false);
  const auto start = torch::full({input_ids.size(0), 1}, config_.decoder_start_token_id,
                                 torch::TensorOptions().dtype(torch::kInt64).device(input_ids.device()));
  return decode(start, enc, attention_mask, false).select(1, 0);
}

}  // namespace emot5::train
