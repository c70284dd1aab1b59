// AdamW, schedule and step (see optimizer.h).
#include "train/optimizer.h"

#include <algorithm>
#include <string>
#include <vector>

namespace emot5::train {

double lr_factor(int64_t step, int64_t total, int64_t warmup) {
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  return std::max(0.0, static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

std::unique_ptr<torch::optim::AdamW> make_adamw(TorchT5& model, const TrainOptions& o) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& n : model.names())
    (n.find("layer_norm") != std::string::npos ? no_decay : decay).push_back(model.param(n));
  auto opts = torch::optim::AdamWOptions(o.lr).betas({o.adam_beta1, o.adam_beta2}).eps(o.adam_eps);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(opts.weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(opts.weight_decay(0.0)));
  return std::make_unique<torch::optim::AdamW>(std::move(groups), opts);
}

StepStats optimizer_step(TorchT5& model, torch::optim::AdamW& opt, const TorchBatch& batch, const StepOptions& so) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(so.lr);
  opt.zero_grad();
  auto loss = model.loss(batch, true, so.loss);
  loss.backward();
  StepStats s;
  s.loss = loss.item<double>();
  s.grad_norm = torch::nn::utils::clip_grad_norm_(model.parameters(), so.max_grad_norm);
  opt.step();
  return s;
}

}  // namespace emot5::train
