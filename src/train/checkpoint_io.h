// Training checkpoints and the final model directory. A checkpoint holds the model, AdamW's
// moments, and trainer_state.json (step, options, best metric): with the data order derived from
// (seed, epoch) and dropout from (seed, step), that is all a resumed run needs to end with the
// same weights. Directories are written under a temporary name and renamed into place.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "train/t5_torch.h"
#include "train/trainer.h"

namespace emot5::train {

nlohmann::json options_to_json(const TrainOptions& o);
TrainOptions options_from_json(const nlohmann::json& j);

struct ResumeState {
  int64_t step = 0;
  double best_metric = -1;
  int64_t best_step = -1;
  std::string dir;  // the checkpoint directory
};

void save_checkpoint(const std::string& out, int64_t step, const TorchT5& model, torch::optim::AdamW& opt,
                     const TrainOptions& o, const nlohmann::json& extra, const MemoryTensors* best,
                     const MemoryTensors* average);
// The newest complete checkpoint under `out`; throws emot5::Error when there is none.
std::string latest_checkpoint(const std::string& out);
nlohmann::json read_trainer_state(const std::string& ckpt_dir);
void load_optimizer_state(const std::string& ckpt_dir, TorchT5& model, torch::optim::AdamW& opt);

// config.json, model.safetensors (in `save_dtype`), generation_config.json, spiece.model,
// tokenizer.json and special_tokens_map.json from beside `spiece`, or from beside
// `standard_spiece` when `spiece` has the same bytes (T5's model, whose fast-tokenizer file the
// project ships), and emot5.json (labels, prefix).
void write_model_dir(const std::string& dir, const T5Config& config, const TensorSource& weights,
                     const std::string& save_dtype, const std::string& spiece,
                     const std::vector<std::string>& labels, const std::string& prefix,
                     const std::string& standard_spiece);

}  // namespace emot5::train
