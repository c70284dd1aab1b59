// Evaluation during training: the first decoder step's distribution over the labels, the eval
// report it gives, and the running weight average (--average-from-epoch).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "eval/metrics.h"
#include "io/tensor_source.h"
#include "text/labels.h"
#include "train/batches.h"
#include "train/t5_torch.h"

namespace emot5::train {

// Each label's first token, in label order: what the first decoder step scores.
std::vector<int64_t> first_tokens(const LabelSet& ls);

// The first decoder step's softmax over the labels' first tokens at `temperature`, for every
// text of `data`: (N, K) f32 on the CPU, in data order (batches of 64 texts of similar lengths).
torch::Tensor label_probabilities(TorchT5& model, const EncodedData& data, const LabelSet& ls, torch::Device dev,
                                  double temperature = 1.0);

// emot5::evaluate's report for (rows, labels) probabilities: each row's most probable label and
// its probability against `gold`.
EvalReport evaluate_probabilities(const torch::Tensor& probs, const std::vector<int>& gold,
                                  const std::vector<std::string>& labels);

// Accuracy, F1 and calibration of `model` on `data` (single-token labels).
EvalReport evaluate_model(TorchT5& model, const EncodedData& data, const LabelSet& ls, torch::Device dev);

// The running mean of the weights at the ends of epochs (stochastic weight averaging).
struct WeightAverage {
  std::shared_ptr<MemoryTensors> mean;
  int64_t count = 0;
  void add(const MemoryTensors& weights);
};

}  // namespace emot5::train
