// Knowledge distillation from fine-tuned teachers (--teacher): each teacher reads the training
// texts once at the start, and its label distributions become the batches' soft targets
// (LossOptions::distill_weight mixes them into the loss).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "text/labels.h"
#include "train/batches.h"

namespace emot5::train {

// The teachers' checkpoints, opened before the data is read. Throws std::invalid_argument when
// two labels share a first token (distillation compares the first decoder step's distributions
// over the label words' first tokens), and emot5::Error when a teacher lacks spiece.model or reads
// the texts with other pieces than the student's `spiece`.
std::vector<Checkpoint> open_teachers(const std::vector<std::string>& dirs, const std::string& spiece,
                                      const LabelSet& ls);

// The mean of the teachers' label distributions on `train` at `temperature`: (N, K) f32 on the CPU.
torch::Tensor teacher_targets(const std::vector<Checkpoint>& teachers, double temperature, const EncodedData& train,
                              const LabelSet& ls, torch::Device dev);

}  // namespace emot5::train
