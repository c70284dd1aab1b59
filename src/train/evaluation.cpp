// Evaluation during training (see evaluation.h).
#include "train/evaluation.h"

#include <algorithm>
#include <numeric>

namespace emot5::train {

std::vector<int64_t> first_tokens(const LabelSet& ls) {
  std::vector<int64_t> first;
  for (const auto& t : ls.tokens) first.push_back(t[0]);
  return first;
}

torch::Tensor label_probabilities(TorchT5& model, const EncodedData& data, const LabelSet& ls, torch::Device dev,
                                  double temperature) {
  torch::NoGradGuard no_grad;
  const auto label_ids = torch::tensor(first_tokens(ls), torch::kInt64).to(dev);
  std::vector<size_t> order(data.inputs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return data.inputs[a].size() < data.inputs[b].size(); });
  auto out = torch::zeros({static_cast<int64_t>(order.size()), label_ids.size(0)}, torch::kFloat32);
  const size_t bs = 64;
  for (size_t s = 0; s < order.size(); s += bs) {
    const std::vector<size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(s),
                                  order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + bs)));
    const auto b = make_batch(data, idx, ls, model.config().decoder_start_token_id, dev);
    const auto logits = model.first_step_logits(b.input_ids, b.attention_mask).index_select(1, label_ids);
    const std::vector<int64_t> rows(idx.begin(), idx.end());
    out.index_copy_(0, torch::tensor(rows, torch::kInt64),
                    torch::softmax(logits.to(torch::kFloat32) / temperature, -1).to(torch::kCPU));
  }
  return out;
}

EvalReport evaluate_probabilities(const torch::Tensor& probs, const std::vector<int>& gold,
                                  const std::vector<std::string>& labels) {
  const auto [mx, am] = probs.to(torch::kCPU).max(1);
  const auto pred64 = am.contiguous();
  const auto conf32 = mx.to(torch::kFloat32).contiguous();
  std::vector<int> pred(pred64.data_ptr<int64_t>(), pred64.data_ptr<int64_t>() + pred64.numel());
  std::vector<float> conf(conf32.data_ptr<float>(), conf32.data_ptr<float>() + conf32.numel());
  return evaluate(labels, gold, pred, conf);
}

EvalReport evaluate_model(TorchT5& model, const EncodedData& data, const LabelSet& ls, torch::Device dev) {
  return evaluate_probabilities(label_probabilities(model, data, ls, dev), data.labels, ls.names);
}

void WeightAverage::add(const MemoryTensors& weights) {
  if (!mean || count == 0) {
    mean = std::make_shared<MemoryTensors>(weights);
    count = 1;
    return;
  }
  ++count;
  auto next = std::make_shared<MemoryTensors>();
  for (const auto& n : weights.names()) {
    const auto a = to_f32(*mean->find(n)), b = to_f32(*weights.find(n));
    std::vector<float> m(a.size());
    for (size_t i = 0; i < a.size(); ++i) m[i] = a[i] + (b[i] - a[i]) / static_cast<float>(count);
    next->add_f32(n, weights.find(n)->shape, m);
  }
  mean = next;
}

}  // namespace emot5::train
