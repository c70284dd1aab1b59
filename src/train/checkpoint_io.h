// Training checkpoints and the final model directory. A checkpoint holds the model, AdamW's
// moments, and trainer_state.json (step, options, best metric): with the data order derived from
// (seed, epoch) and dropout from (seed, step), that is all a resumed run needs to end with the
// same weights. Directories are written under a temporary name and renamed into place.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "train/t5_torch.h"
#include "train/options.h"

namespace emot5::train {

struct ResumeState {
  int64_t step = 0;
  double best_metric = -1;
  int64_t best_step = -1;
  std::string dir;  // the checkpoint directory
};

// What makes weights a model directory besides config.json and model.safetensors: the tokenizer
// (spiece.model, and tokenizer.json and special_tokens_map.json where tokenizer_dir has them) and
// the label set.
struct ModelFiles {
  std::string spiece;
  std::string tokenizer_dir;
  std::vector<std::string> labels;
  std::string prefix;
};
// tokenizer_dir is beside `spiece`, or beside `standard_spiece` when `spiece` lacks a
// tokenizer.json and has the same bytes (T5's model, whose fast-tokenizer file the project ships).
// Resolved once per run, not at every checkpoint.
ModelFiles model_files(const std::string& spiece, const std::vector<std::string>& labels, const std::string& prefix,
                       const std::string& standard_spiece);

// A checkpoint is also a model directory (f32 weights) that emot5 classify and eval load, so an
// interrupted run can be measured before it is resumed.
void save_checkpoint(const std::string& out, int64_t step, const TorchT5& model, torch::optim::AdamW& opt,
                     const TrainOptions& o, const nlohmann::json& extra, const MemoryTensors* best,
                     const MemoryTensors* average, const ModelFiles& files);
// The newest complete checkpoint under `out`; throws emot5::Error when there is none.
std::string latest_checkpoint(const std::string& out);
nlohmann::json read_trainer_state(const std::string& ckpt_dir);
void load_optimizer_state(const std::string& ckpt_dir, TorchT5& model, torch::optim::AdamW& opt);

// config.json, model.safetensors (in `save_dtype`), generation_config.json, the tokenizer's files,
// tokenizer_config.json and emot5.json (labels, prefix).
void write_model_dir(const std::string& dir, const T5Config& config, const TensorSource& weights,
                     const std::string& save_dtype, const ModelFiles& files);
// All of that but config.json and model.safetensors.
void write_model_files(const std::string& dir, const T5Config& config, const ModelFiles& files);

}  // namespace emot5::train
