// emot5 train's options: JSON and checks (see options.h).
#include "train/options.h"

#include <filesystem>
#include <stdexcept>

#include "io/error.h"

namespace emot5::train {

namespace {

// Options that earlier versions saved and this one no longer has, each with the value at which
// it did nothing. A checkpoint holding another value was shaped by it and cannot be resumed the
// same way; research/EXPERIMENTS.md records each and the commit where its code last lived.
struct RemovedOption {
  const char* key;
  const char* flag;
  nlohmann::json inert;
};
const RemovedOption kRemoved[] = {
    {"objective", "--objective", "classify"},      {"noise_density", "--noise-density", 0.15},
    {"mean_noise_span", "--mean-noise-span", 3.0}, {"reinit_decoder", "--reinit-decoder", false},
    {"reinit_encoder", "--reinit-encoder", false}, {"word_vectors", "--word-vectors", ""},
    {"freeze_embedding", "--freeze-embedding", false}, {"embedding_lr_scale", "--embedding-lr-scale", 1.0},
    {"token_dropout", "--token-dropout", 0.0},     {"unk_dropout", "--unk-dropout", 0.0},
    {"unk_below", "--unk-below", 0},               {"subword_nbest", "--subword-nbest", 0},
    {"subword_alpha", "--subword-alpha", 0.2},     {"sam_rho", "--sam-rho", 0.0},
    {"swa_lr", "--swa-lr", 0.0},                   {"teacher_scores", "--teacher-scores", nlohmann::json::array()},
    {"smooth_over", "--smooth-over", "vocab"},
};

void refuse_removed(const std::string& key, const nlohmann::json& value, const std::string& origin) {
  for (const auto& r : kRemoved) {
    if (key != r.key) continue;
    if (value == r.inert) return;
    throw Error(origin + ": this run was started with " + r.flag + " " + value.dump() +
                ", an experimental option that emot5 no longer has (research/EXPERIMENTS.md); it cannot be "
                "resumed as it was started. Start a new run, or resume it with the emot5 version that started it");
  }
  throw Error(origin + ": unknown training option '" + key + "'");
}

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

nlohmann::json options_to_json(const TrainOptions& o) {
  nlohmann::json j;
#define EMOT5_TO_JSON(type, name, def, flag, help) j[#name] = o.name;
  EMOT5_TRAIN_SAVED_OPTIONS(EMOT5_TO_JSON)
#undef EMOT5_TO_JSON
  return j;
}

TrainOptions options_from_json(const nlohmann::json& j, const std::string& origin) {
  TrainOptions o;
  for (const auto& [key, value] : j.items()) {
    try {
#define EMOT5_FROM_JSON(type, name, def, flag, help) \
  if (key == #name) {                                \
    o.name = value.get<type>();                      \
    continue;                                        \
  }
      EMOT5_TRAIN_SAVED_OPTIONS(EMOT5_FROM_JSON)
#undef EMOT5_FROM_JSON
    } catch (const nlohmann::json::exception& e) {
      throw Error(origin + ": training option '" + key + "' is " + value.dump() + ": " + e.what());
    }
    refuse_removed(key, value, origin);
  }
  return o;
}

void validate(TrainOptions& o) {
  require(!o.out.empty(), "--out DIR is required");
  require(!o.data.empty(), "--data FILE is required");
  require(o.batch_size >= 1, "--batch-size must be at least 1");
  require(o.epochs >= 1, "--epochs must be at least 1");
  require(o.max_steps >= 0, "--max-steps must not be negative");
  require(o.stop_after >= 0, "--stop-after must not be negative");
  require(o.warmup_steps >= 0, "--warmup-steps must not be negative");
  require(o.max_input_tokens >= 1, "--max-input-tokens must be at least 1");
  require(o.threads >= 0, "--threads must not be negative");
  require(o.class_weights == "none" || o.class_weights == "balanced", "--class-weights must be none or balanced");
  require(o.save_dtype == "f32" || o.save_dtype == "bf16" || o.save_dtype == "f16",
          "--save-dtype must be f32, bf16 or f16");
  require(o.label_smoothing >= 0.0 && o.label_smoothing < 1.0, "--label-smoothing must be in [0, 1)");
  require(o.average_from_epoch >= 0, "--average-from-epoch must not be negative");
  // A fresh model's start: --init's checkpoint already has its position bias.
  require(o.local_heads.empty() || o.init.empty(),
          "--local-heads starts a fresh model's heads (--preset or --config); with --init it would overwrite the "
          "checkpoint's position bias");
  // Options that only one setting reads must keep their defaults without it.
  const TrainOptions defaults;
  require(!o.local_heads.empty() || o.local_bias == defaults.local_bias, "--local-bias needs --local-heads");
  if (o.teachers.empty()) {
    require(o.distill_weight == defaults.distill_weight, "--distill-weight needs --teacher");
    require(o.distill_temperature == defaults.distill_temperature, "--distill-temperature needs --teacher");
  }
  require(o.distill_weight >= 0.0 && o.distill_weight <= 1.0, "--distill-weight must be in [0, 1]");
  require(o.distill_temperature >= 0.05 && o.distill_temperature <= 100.0,
          "--distill-temperature must be in [0.05, 100]");
  for (auto& t : o.teachers) {
    require(std::filesystem::is_directory(t), "--teacher " + t + ": not a directory");
    t = std::filesystem::absolute(t).string();
  }
}

}  // namespace emot5::train
