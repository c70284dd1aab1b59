// The training run (see trainer.h): open the model, read the data, restore a checkpoint, run the
// steps, finish. Data order and dropout are functions of (seed, step), so a checkpoint holding the
// model, AdamW's moments and the step resumes to exactly the weights of an uninterrupted run.
#include "train/trainer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "eval/chart.h"
#include "eval/dataset.h"
#include "io/checkpoint.h"
#include "io/error.h"
#include "io/file_util.h"
#include "io/progress.h"
#include "io/safetensors.h"
#include "text/labels.h"
#include "text/tokenizer.h"
#include "train/batches.h"
#include "train/checkpoint_io.h"
#include "train/distill.h"
#include "train/evaluation.h"
#include "train/local_heads.h"
#include "train/optimizer.h"

namespace emot5::train {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted = true; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// An evaluation's fields in metrics.jsonl, and its line on stderr.
void add_scores(nlohmann::ordered_json& j, const EvalReport& r) {
  j["eval_accuracy"] = r.accuracy;
  j["eval_macro_f1"] = r.macro_f1;
  j["eval_weighted_f1"] = r.weighted_f1;
  j["eval_ece"] = r.ece;
}
std::string score_line(const EvalReport& r) {
  return "accuracy " + std::to_string(r.accuracy) + " macro-F1 " + std::to_string(r.macro_f1);
}

// T5's spiece.model: in the source tree emot5 was built from, else where `cmake --install` put it.
std::string default_tokenizer() {
  const std::string source = std::string(EMOT5_DATA_DIR) + "/t5-tokenizer/spiece.model";
  if (!file_exists(source)) return std::string(EMOT5_INSTALLED_DATA_DIR) + "/t5-tokenizer/spiece.model";
  return source;
}

class Run {
 public:
  explicit Run(const TrainOptions& cli);
  int train();

 private:
  void open_model();
  void read_data();
  void restore();
  bool run_steps();  // false when stopped before the end
  void evaluate(int64_t at);
  void checkpoint(int64_t at);
  int finish();
  double lr_at(int64_t at) const { return o_.lr * lr_factor(at, total_, o_.warmup_steps); }

  TrainOptions o_;
  std::string resume_dir_;
  nlohmann::json resume_state_;
  torch::Device dev_{torch::kCPU};
  // The model, its tokenizer, labels and the files a model directory gets.
  T5Config config_;
  std::unique_ptr<TorchT5> model_;
  std::optional<Tokenizer> tok_;
  LabelSet labels_;
  ModelFiles files_;
  // The data and the loss.
  EncodedData train_, eval_;
  LossOptions loss_;
  int64_t per_epoch_ = 0, total_ = 0;
  // Where the run is.
  std::unique_ptr<torch::optim::AdamW> opt_;
  int64_t step_ = 0, start_step_ = 0;
  double best_metric_ = -1, last_eval_ = -1e300;
  int64_t best_step_ = -1;
  std::shared_ptr<MemoryTensors> best_;
  WeightAverage average_;
  double loss_sum_ = 0;  // the training loss since the last log window
  int64_t loss_n_ = 0;
  std::ofstream metrics_log_;
  std::chrono::steady_clock::time_point t0_;
};

// A resumed run takes its saved options, and from this command line only the run's own.
Run::Run(const TrainOptions& cli) : o_(cli) {
  if (!cli.resume.empty()) {
    resume_dir_ = latest_checkpoint(cli.resume);
    resume_state_ = read_trainer_state(resume_dir_);
    o_ = options_from_json(resume_state_["options"], resume_dir_ + "/trainer_state.json");
    o_.out = cli.resume;
    o_.threads = cli.threads;
    o_.device = cli.device;
    o_.stop_after = cli.stop_after;
    const auto at = resume_state_["step"].get<int64_t>();
    if (o_.stop_after > 0 && o_.stop_after <= at)
      throw std::invalid_argument("--stop-after " + std::to_string(o_.stop_after) + ": the run in " + cli.resume +
                                  " is at step " + std::to_string(at) + " already (steps count from the run's start)");
  }
  validate(o_);
  if (o_.threads > 0) torch::set_num_threads(o_.threads);
  dev_ = torch::Device(o_.device);
  if (dev_.is_cuda() && !torch::cuda::is_available()) throw Error("--device cuda: no CUDA device is available");
}

int Run::train() {
  open_model();
  read_data();
  restore();
  fs::create_directories(o_.out);
  write_file_atomic(o_.out + "/training_args.json", options_to_json(o_).dump(2) + "\n");
  metrics_log_.open(o_.out + "/metrics.jsonl", std::ios::app);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (!run_steps()) {
    std::cerr << (g_interrupted ? "interrupted" : "stopped") << " at step " << step_ << " of " << total_
              << "; resume with: emot5 train --resume " << o_.out << "\n";
    return g_interrupted ? 130 : 0;
  }
  return finish();
}

// The checkpoint's weights (--resume), --init's, or a fresh model's (--config or --preset); the
// tokenizer, the dropout rate and, for a fresh model, --local-heads' start.
void Run::open_model() {
  std::string spiece = o_.tokenizer;
  if (!resume_dir_.empty()) {
    config_ = load_t5_config(resume_dir_ + "/config.json");
    model_ = std::make_unique<TorchT5>(config_, SafetensorsFile(resume_dir_ + "/model.safetensors"));
  } else if (!o_.init.empty()) {
    const Checkpoint ck = open_checkpoint(o_.init);
    config_ = ck.config;
    if (spiece.empty()) spiece = ck.spiece_path;
    model_ = std::make_unique<TorchT5>(config_, *ck.weights);
  } else {
    config_ = o_.config_file.empty() ? t5_preset(o_.preset.empty() ? "emot5-small" : o_.preset)
                                     : load_t5_config(o_.config_file);
    model_ = std::make_unique<TorchT5>(config_, o_.seed);
  }
  if (spiece.empty()) spiece = default_tokenizer();
  o_.tokenizer = fs::absolute(spiece).string();
  if (o_.dropout >= 0) {
    config_.dropout_rate = static_cast<float>(o_.dropout);
    model_->set_dropout(config_.dropout_rate);
  }
  model_->to(dev_);
  tok_.emplace(spiece);
  if (!o_.local_heads.empty() && resume_dir_.empty()) {  // a resumed run has its heads already
    set_local_heads(model_->param(kEncoderPositionBias), o_.local_heads, o_.local_bias,
                    config_.relative_attention_num_buckets, config_.relative_attention_max_distance);
    std::cerr << "--local-heads: encoder heads 0-" << o_.local_heads.size() - 1 << " start at bias " << o_.local_bias
              << " on their offsets\n";
  }
  const std::vector<std::string> names = o_.labels.empty() ? default_emotion_labels() : o_.labels;
  labels_ = load_label_set(label_set_json(names, o_.prefix), "labels", *tok_);
  files_ = model_files(spiece, labels_.names, labels_.prefix, default_tokenizer());
}

// The training and evaluation texts, tokenized once; the teachers' targets; the loss's options.
void Run::read_data() {
  const std::vector<Checkpoint> teachers = open_teachers(o_.teachers, o_.tokenizer, labels_);
  const DatasetOptions dopt{o_.text_field, o_.label_field, o_.skip_bad_rows};
  const Dataset train_ds = load_dataset(o_.data, labels_.names, dopt);
  if (train_ds.bad_rows) std::cerr << "skipped " << train_ds.bad_rows << " bad row(s) of " << o_.data << "\n";
  train_ = encode_dataset(train_ds, *tok_, labels_.prefix, o_.max_input_tokens);
  if (!o_.eval_data.empty())
    eval_ = encode_dataset(load_dataset(o_.eval_data, labels_.names, dopt), *tok_, labels_.prefix, o_.max_input_tokens);
  loss_.label_smoothing = o_.label_smoothing;
  if (!teachers.empty()) {
    train_.soft = teacher_targets(teachers, o_.distill_temperature, train_, labels_, dev_);
    loss_.distill_ids = torch::tensor(first_tokens(labels_), torch::kInt64).to(dev_);
    loss_.distill_weight = o_.distill_weight;
    loss_.distill_temperature = o_.distill_temperature;
  }
  if (o_.class_weights == "balanced") {  // each label's first token weighs N / (K · its count)
    std::vector<float> w(static_cast<size_t>(config_.vocab_size), 1.0f);
    std::vector<int> count(labels_.names.size(), 0);
    for (int l : train_.labels) count[static_cast<size_t>(l)]++;
    for (size_t k = 0; k < labels_.names.size(); ++k)
      w[static_cast<size_t>(labels_.tokens[k][0])] =
          static_cast<float>(train_.labels.size()) / static_cast<float>(labels_.names.size() * std::max(1, count[k]));
    loss_.class_weight = torch::tensor(w).to(dev_);
  }
  const auto N = static_cast<int64_t>(train_.inputs.size());
  per_epoch_ = (N + o_.batch_size - 1) / o_.batch_size;
  total_ = o_.max_steps > 0 ? o_.max_steps : per_epoch_ * o_.epochs;
}

// AdamW, and with --resume its moments, the step, the best evaluation and the weight average.
void Run::restore() {
  opt_ = make_adamw(*model_, o_);
  if (resume_dir_.empty()) return;
  load_optimizer_state(resume_dir_, *model_, *opt_);
  step_ = resume_state_["step"].get<int64_t>();
  best_metric_ = resume_state_.value("best_metric", -1.0);
  best_step_ = resume_state_.value("best_step", int64_t{-1});
  average_.count = resume_state_.value("average_count", int64_t{0});
  if (average_.count > 0)
    average_.mean = TorchT5(config_, SafetensorsFile(resume_dir_ + "/average.safetensors")).state_dict();
  if (file_exists(resume_dir_ + "/best.safetensors"))
    best_ = TorchT5(config_, SafetensorsFile(resume_dir_ + "/best.safetensors")).state_dict();
  std::cerr << "resuming " << resume_dir_ << " at step " << step_ << " of " << total_ << "\n";
}

bool Run::run_steps() {
  Progress progress("train", static_cast<size_t>(total_), true, 30.0);
  progress.set_done(static_cast<size_t>(step_));
  start_step_ = step_;
  t0_ = std::chrono::steady_clock::now();
  std::vector<size_t> order;
  int64_t order_epoch = -1;
  bool stopped = false;
  while (step_ < total_) {
    const int64_t epoch = step_ / per_epoch_;
    if (epoch != order_epoch) {
      order = epoch_order(train_, o_, epoch);
      order_epoch = epoch;
    }
    const auto batch = make_batch(train_, batch_rows(order, step_ % per_epoch_, o_.batch_size), labels_,
                                  config_.decoder_start_token_id, dev_);
    torch::manual_seed(o_.seed * 7919ull + static_cast<uint64_t>(step_));  // dropout: a function of (seed, step)
    const double lr = lr_at(step_);
    const auto s = optimizer_step(*model_, *opt_, batch, {.lr = lr, .max_grad_norm = o_.max_grad_norm, .loss = loss_});
    if (!std::isfinite(s.loss)) throw Error("training diverged at step " + std::to_string(step_) + " (loss is not finite)");
    ++step_;
    loss_sum_ += s.loss;
    ++loss_n_;
    char note[96];
    std::snprintf(note, sizeof note, "loss %.4f lr %.2e %.0f samples/s", loss_sum_ / static_cast<double>(loss_n_), lr,
                  static_cast<double>(step_ * o_.batch_size) / std::max(1e-9, seconds_since(t0_)));
    progress.add(1, note);
    if (o_.average_from_epoch > 0 && step_ % per_epoch_ == 0 && step_ / per_epoch_ >= o_.average_from_epoch)
      average_.add(*model_->state_dict());
    if (o_.eval_every > 0 && step_ % o_.eval_every == 0 && step_ < total_) evaluate(step_);
    // (Not at the last step: the final evaluation reports the loss since the last reset.)
    if (o_.log_every > 0 && step_ % o_.log_every == 0 && step_ < total_) loss_sum_ = 0, loss_n_ = 0;
    if (o_.save_every > 0 && step_ % o_.save_every == 0 && step_ < total_) checkpoint(step_);
    if ((o_.stop_after > 0 && step_ >= o_.stop_after && step_ < total_) || g_interrupted) {
      checkpoint(step_);
      stopped = true;
      break;
    }
  }
  progress.finish();
  if (const int64_t steps = step_ - start_step_; steps > 0)
    std::cerr << steps << " steps in " << seconds_since(t0_) << " s: " << seconds_since(t0_) / static_cast<double>(steps)
              << " s/step at batch " << o_.batch_size << "\n";
  return !stopped;
}

// One line of metrics.jsonl and its plot; with --keep-best, the weights when macro-F1 is the best.
void Run::evaluate(int64_t at) {
  if (eval_.inputs.empty()) return;
  nlohmann::ordered_json j;
  j["step"] = at;
  j["epoch"] = static_cast<double>(at) / static_cast<double>(per_epoch_);
  j["lr"] = lr_at(at);
  if (loss_n_ > 0) j["train_loss"] = loss_sum_ / static_cast<double>(loss_n_);
  const auto r = evaluate_model(*model_, eval_, labels_, dev_);
  add_scores(j, r);
  last_eval_ = r.macro_f1;
  j["elapsed_s"] = seconds_since(t0_);
  metrics_log_ << j.dump() << "\n" << std::flush;
  write_file_atomic(o_.out + "/metrics.svg", training_curves_svg(o_.out + "/metrics.jsonl", "emot5 train: " + o_.out));
  std::cerr << "\neval step " << at << ": " << score_line(r) << "\n";
  if (o_.keep_best && r.macro_f1 > best_metric_) {
    best_metric_ = r.macro_f1;
    best_step_ = at;
    best_ = model_->state_dict();
  }
}

void Run::checkpoint(int64_t at) {
  save_checkpoint(o_.out, at, *model_, *opt_, o_,
                  {{"best_metric", best_metric_}, {"best_step", best_step_}, {"total_steps", total_},
                   {"average_count", average_.count}},
                  best_.get(), average_.mean.get(), files_);
}

// The last evaluation and checkpoint, then the model directory: the last weights, the best
// evaluation's (--keep-best), or the weight average when validation prefers it.
int Run::finish() {
  evaluate(step_);
  checkpoint(step_);
  auto final_weights = (o_.keep_best && best_) ? best_ : model_->state_dict();
  if (average_.mean && !eval_.inputs.empty()) {
    TorchT5 avg_model(config_, *average_.mean);
    avg_model.to(dev_);
    const auto r = evaluate_model(avg_model, eval_, labels_, dev_);
    nlohmann::ordered_json j;
    j["step"] = step_;
    j["average_of_epochs"] = average_.count;
    add_scores(j, r);
    metrics_log_ << j.dump() << "\n" << std::flush;
    std::cerr << "weight average of " << average_.count << " epochs: " << score_line(r) << "\n";
    const double final_metric = o_.keep_best && best_ ? best_metric_ : last_eval_;
    if (r.macro_f1 > final_metric) {
      final_weights = average_.mean;
      std::cerr << "using the weight average (validation macro-F1 " << r.macro_f1 << " > " << final_metric << ")\n";
    }
  }
  write_model_dir(o_.out, config_, *final_weights, o_.save_dtype, files_);
  std::cerr << "trained " << step_ << " steps in " << seconds_since(t0_) << " s; model written to " << o_.out;
  if (o_.keep_best && best_) std::cerr << " (best evaluation at step " << best_step_ << ", macro-F1 " << best_metric_ << ")";
  std::cerr << "\n";
  return 0;
}

}  // namespace

int run_training(const TrainOptions& options) {
  Run run(options);
  return run.train();
}

}  // namespace emot5::train
