// T5ForConditionalGeneration in libtorch, for training. Parameters are kept by their Hugging Face
// names (the safetensors keys), and the forward pass is written functionally after
// modeling_t5.py, dropout included, so that loss, gradients and AdamW steps match transformers.
//
// Legend: B batch, L input length, T target length, D d_model, H heads, dk d_kv, I = H·dk, V vocab.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "io/config.h"
#include "io/tensor_source.h"

namespace emot5::train {

// The relative position bias tables: T5 gives them to layer 0 of each stack, and every layer of the
// stack reads layer 0's.
inline constexpr const char* kEncoderPositionBias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
inline constexpr const char* kDecoderPositionBias = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";

struct TorchBatch {
  torch::Tensor input_ids;       // (B, L) int64, right-padded with 0
  torch::Tensor attention_mask;  // (B, L) int64, 1 for real tokens
  torch::Tensor decoder_input_ids;  // (B, T) int64: [start, labels[:-1]] with -100 -> pad
  torch::Tensor labels;          // (B, T) int64, -100 where ignored
  // (B, K) f32: a teacher's distribution over the K label words for each row (knowledge
  // distillation, LossOptions::distill_weight); undefined without a teacher.
  torch::Tensor soft_targets;
};

// How TorchT5::loss weighs and smooths the token cross-entropy.
struct LossOptions {
  // HF's label smoothing: spread over the whole vocabulary at every target position.
  double label_smoothing = 0.0;
  // (V): a weight per target token id, as torch's cross_entropy(weight=): the mean is weighted.
  torch::Tensor class_weight;
  // Knowledge distillation (Hinton et al., 2015). With distill_weight w > 0 the loss is
  // (1-w)·the loss above + w·T²·mean over rows of KL(teacher ‖ student), both distributions over
  // `distill_ids` (the K label words' first tokens) at the first target position, the student's
  // at temperature T = distill_temperature; the teacher's is the batch's soft_targets. With
  // class_weight the mean over rows is weighted by class_weight[the row's first target token].
  torch::Tensor distill_ids;
  double distill_weight = 0.0, distill_temperature = 1.0;
};

class TorchT5 {
 public:
  // A fresh model initialized as HF's T5PreTrainedModel._init_weights does (factor 1.0).
  TorchT5(const T5Config& config, uint64_t seed);
  // Weights from a checkpoint (any dtype the engine reads); shapes checked against config.
  TorchT5(const T5Config& config, const TensorSource& weights);

  const T5Config& config() const { return config_; }
  // Parameters in HF's named_parameters() order.
  const std::vector<std::string>& names() const { return names_; }
  torch::Tensor& param(const std::string& name) { return params_.at(name); }
  std::vector<torch::Tensor> parameters() const;
  void to(torch::Device device);
  void set_dropout(float p) { config_.dropout_rate = p; }

  // Decoder logits (B, T, V). `train` enables dropout with probability config.dropout_rate.
  torch::Tensor forward(const TorchBatch& batch, bool train);
  // Mean token cross-entropy over labels != -100, as HF computes it (see LossOptions).
  torch::Tensor loss(const TorchBatch& batch, bool train, const LossOptions& options = {});
  // The first decoder step's logits (B, V): what classification needs.
  torch::Tensor first_step_logits(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  // Parameters as f32 tensors on the CPU, for saving.
  std::shared_ptr<MemoryTensors> state_dict() const;

 private:
  void init_names();
  torch::Tensor p(const std::string& name) const { return params_.at(name); }
  torch::Tensor rms_norm(const torch::Tensor& x, const std::string& weight) const;
  torch::Tensor attention(const std::string& prefix, const torch::Tensor& x, const torch::Tensor& kv,
                          const torch::Tensor& bias, bool train) const;
  torch::Tensor feed_forward(const std::string& prefix, const torch::Tensor& x, bool train) const;
  torch::Tensor position_bias(const std::string& table, int q_len, int k_len, bool bidirectional) const;
  torch::Tensor encode(const torch::Tensor& ids, const torch::Tensor& mask, bool train) const;
  torch::Tensor decode(const torch::Tensor& dec_ids, const torch::Tensor& enc, const torch::Tensor& mask,
                       bool train) const;

  T5Config config_;
  std::vector<std::string> names_;
  std::map<std::string, torch::Tensor> params_;
};

}  // namespace emot5::train
