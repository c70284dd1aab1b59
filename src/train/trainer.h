// emot5's fine-tuning loop on libtorch: the original recipe by default (AdamW 5e-5, batch 8,
// seed 42, 3 epochs, linear decay without warm-up, clipping at 1.0, dropout from config.json),
// atomic checkpoints of everything needed to resume exactly, evaluation and a metrics log.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "classifier/dataset.h"
#include "classifier/metrics.h"
#include "train/t5_torch.h"

namespace emot5::train {

// The original recipe's peak learning rate and gradient-clipping norm: the defaults of both
// TrainOptions (a run) and StepOptions (one step).
inline constexpr double kRecipeLr = 5e-5, kRecipeMaxGradNorm = 1.0;

struct TrainOptions {
  // Model: --init DIR, or a fresh model from --config FILE or --preset NAME.
  std::string init, config_file, preset;
  std::string tokenizer;  // spiece.model for fresh models
  // Data.
  std::string data, eval_data;
  std::string text_field = "text", label_field = "label", prefix;
  std::vector<std::string> labels;  // default: the six emotions
  bool skip_bad_rows = false;
  int max_input_tokens = 512;
  // Recipe.
  double lr = kRecipeLr, weight_decay = 0.0, label_smoothing = 0.0, max_grad_norm = kRecipeMaxGradNorm;
  // Where --label-smoothing's mass goes: "vocab" (HF's trainer: the whole vocabulary, at every
  // target position) or "labels" (the label words, at the label's position; LossOptions).
  std::string smooth_over = "vocab";
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
  int batch_size = 8, epochs = 3, warmup_steps = 0;
  int64_t max_steps = 0;   // > 0: plans the schedule instead of epochs
  int64_t stop_after = 0;  // > 0: stop after this many steps as if interrupted
  uint64_t seed = 42;
  double dropout = -1;     // < 0: config.json's dropout_rate
  bool no_shuffle = false;
  // Shuffle, then sort each run of 50 batches by length and shuffle the batches: far less
  // padding (HF's group_by_length).
  bool group_by_length = false;
  // > 0: keep a running average of the weights at the end of every epoch from this one on
  // (stochastic weight averaging); at the end it replaces the final weights when its
  // evaluation is better.
  int average_from_epoch = 0;
  // > 0, with average_from_epoch: the learning rate decays linearly from its peak to this value
  // at the start of that epoch and then stays there, so the averaged weights come from a constant
  // rate (SWA's schedule, Izmailov et al., 2018) rather than from the tail of a decay to 0.
  double swa_lr = 0.0;
  std::string class_weights = "none";  // none | balanced
  // "classify": targets are label words. "denoise": T5's span corruption on the texts alone
  // (labels are not read), to pre-train a fresh model on the training texts before fine-tuning
  // it with --init; evaluation then reports the denoising loss. "prefix-lm": the same with T5's
  // prefix language modelling (continue a text cut at a random point), whose inputs are plain
  // text, as a classifier's are.
  std::string objective = "classify";
  // With --init: draw the decoder's weights afresh (HF init, --seed), keeping the encoder and the
  // shared embedding; e.g. after --objective denoise, whose decoder opens every answer with
  // <extra_id_0>. (On emot5-small, fine-tuning stayed at the majority class with or without a
  // fresh decoder; see the model card.)
  bool reinit_decoder = false;
  // With --init: draw the encoder's layers afresh too, keeping only the shared embedding (word
  // vectors learned by pre-training).
  bool reinit_encoder = false;
  double noise_density = 0.15, mean_noise_span = 3.0;
  // classify: delete each input token with this probability (a fresh draw every step, a function
  // of (seed, step) so a resumed run stays exact); 0 = off.
  double token_dropout = 0.0;
  // classify: tokens seen fewer than this many times in the training texts are read as <unk>
  // (training and evaluation), and the saved model gives them <unk>'s embedding; 0 = off.
  int unk_below = 0;
  // classify: replace each input token by <unk> with this probability at every step (a function
  // of (seed, step)); 0 = off.
  double unk_dropout = 0.0;
  // classify: subword regularization (train/subword_sampling.h): each training text's words are
  // re-cut at every step by a draw from their `subword_nbest` most likely segmentations, with
  // probability proportional to p^subword_alpha (a function of (seed, step)); 0 = off.
  int subword_nbest = 0;
  double subword_alpha = 0.2;
  // Whole-word pieces of the embedding start from these word vectors (GloVe/word2vec text
  // format; train/word_vectors.h), replacing their rows of a fresh model or of --init's (not on
  // --resume). Empty = off.
  std::string word_vectors;
  // Fresh model (not on --resume): encoder head h starts with `local_bias` at the relative
  // position bucket of offset local_heads[h] (train/local_heads.h). Empty = off.
  std::vector<int> local_heads;
  double local_bias = 6.0;
  // The shared embedding (and a tied head) is not trained: words the training texts lack keep
  // their place among the ones they hold.
  bool freeze_embedding = false;
  // The shared embedding (and a tied head) learns at lr × this. T5 draws it with std 1 (the
  // layers with std ~d_model^-0.5) for Adafactor, whose steps scale with a weight's size; AdamW's
  // steps do not, so at 1 the embedding hardly moves from its random start.
  double embedding_lr_scale = 1.0;
  // > 0: sharpness-aware minimization (see optimizer_step), twice the compute per step.
  double sam_rho = 0.0;
  // classify: knowledge distillation from these trained models (checkpoint directories with the
  // student's spiece.model; several: their label probabilities averaged), read once on the
  // training texts at the start. The loss mixes the label loss with the teacher's distribution
  // (LossOptions::distill_weight, distill_temperature).
  std::vector<std::string> teachers;
  // classify: distillation from label distributions in files (read_teacher_scores), e.g. another
  // kind of model's; averaged with the teachers above, if any.
  std::vector<std::string> teacher_scores;
  double distill_weight = 0.5, distill_temperature = 2.0;
  // Bookkeeping.
  int64_t eval_every = 0, save_every = 500, log_every = 50;
  bool keep_best = false;  // final weights: the best evaluation's macro-F1 instead of the last
  int threads = 0;
  std::string out, resume, save_dtype = "f32", device = "cpu";
};

// Linear warm-up then linear decay to 0 (transformers' get_linear_schedule_with_warmup). With
// hold_from >= 0 the decay reaches `hold` (a factor of the peak) at step hold_from instead and
// stays there (--swa-lr).
double lr_factor(int64_t step, int64_t total, int64_t warmup, int64_t hold_from = -1, double hold = 0.0);

// --teacher-scores FILE: line k holds the label distribution of `data`'s k-th row, as `emot5
// classify --no-generate -i DATA` writes it: {"text": ..., "scores": {"<label>": p, ...}}, one
// probability for each of `labels` (other keys are ignored). A "text", where present, must be
// the row's. Returns (rows, labels) f32: each row's probabilities softened by `temperature`,
// p^(1/T) renormalized (the softmax of the teacher's log-probabilities / T). Throws emot5::Error
// naming FILE:LINE for a malformed line, a missing or invalid score, a text that differs from the
// row's, and FILE for a count of lines other than the rows'.
torch::Tensor read_teacher_scores(const std::string& path, const Dataset& data, const std::vector<std::string>& labels,
                                  double temperature);

// emot5::evaluate's report for (rows, labels) probabilities: each row's most probable label and
// its probability against `gold`.
EvalReport evaluate_probabilities(const torch::Tensor& probs, const std::vector<int>& gold,
                                  const std::vector<std::string>& labels);

struct StepStats {
  double loss = 0, grad_norm = 0;
};

struct StepOptions {
  double lr = kRecipeLr;
  double max_grad_norm = kRecipeMaxGradNorm;
  LossOptions loss = {};
  double embedding_lr_scale = 1.0;  // the shared embedding's group, when make_adamw made one
  double sam_rho = 0.0;             // > 0: sharpness-aware minimization with this radius
};

// One optimizer step: forward, backward, clip the global norm, AdamW at `lr` (the shared
// embedding's group at `lr` × `embedding_lr_scale`). With `sam_rho` > 0 (Foret et al., 2021,
// "Sharpness-Aware Minimization"), the gradient that is clipped and stepped is the one at the
// weights moved by sam_rho along the batch's normalized gradient, a second forward and backward;
// the returned loss and norm are the first pass's (the loss is the second's when that one is not
// finite, so that the caller stops).
StepStats optimizer_step(TorchT5& model, torch::optim::AdamW& opt, const TorchBatch& batch, const StepOptions& so);

// AdamW with the recipe's hyper-parameters; layer norms and biases excluded from weight decay.
std::unique_ptr<torch::optim::AdamW> make_adamw(TorchT5& model, const TrainOptions& o);

// Named model presets for fresh models ("emot5-small", "t5-tiny", "flan-t5-small").
T5Config preset_config(const std::string& name);

// Runs a whole training (or resumes one). Returns the process exit code: 0 done, 130 when
// interrupted by a signal (a checkpoint was written first).
int run_training(const TrainOptions& o);

}  // namespace emot5::train
