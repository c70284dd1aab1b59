// AdamW, the learning-rate schedule and one optimizer step, as transformers' Trainer does them
// (torch.optim.AdamW, get_linear_schedule_with_warmup, clip_grad_norm_).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "train/options.h"
#include "train/t5_torch.h"

namespace emot5::train {

// Linear warm-up over `warmup` steps, then linear decay to 0 at `total`.
double lr_factor(int64_t step, int64_t total, int64_t warmup);

// AdamW with the recipe's hyper-parameters; layer norms are excluded from weight decay.
std::unique_ptr<torch::optim::AdamW> make_adamw(TorchT5& model, const TrainOptions& o);

struct StepOptions {
  double lr = kRecipeLr;
  double max_grad_norm = kRecipeMaxGradNorm;
  LossOptions loss = {};
};

struct StepStats {
  double loss = 0, grad_norm = 0;  // grad_norm: before clipping
};

// One step: forward, backward, clip the global gradient norm, AdamW at `lr`.
StepStats optimizer_step(TorchT5& model, torch::optim::AdamW& opt, const TorchBatch& batch, const StepOptions& so);

}  // namespace emot5::train
