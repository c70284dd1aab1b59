// emot5 train's options. Each option is written once, in the lists below; the struct, its JSON
// (training_args.json and every checkpoint's trainer_state.json) and the command line's flags
// (apps/cmd_train.cpp) are derived from them. validate() checks the values and combinations.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace emot5::train {

// The original recipe's peak learning rate and gradient-clipping norm: the defaults of a run and
// of one optimizer step (train/optimizer.h).
inline constexpr double kRecipeLr = 5e-5, kRecipeMaxGradNorm = 1.0;

// X(type, name, default, flag, help). A field whose flag is "" is saved but not offered on the
// command line. The model's start:
#define EMOT5_TRAIN_MODEL_OPTIONS(X)                                                                          \
  X(std::string, init, "", "--init", "Start from this model directory (e.g. a fine-tuned or pretrained T5)") \
  X(std::string, config_file, "", "--config", "Fresh model from this config.json (HF init)")                 \
  X(std::string, preset, "", "--preset", "Fresh model preset: emot5-small (default), t5-tiny, flan-t5-small") \
  X(std::string, tokenizer, "", "--tokenizer", "spiece.model (default: --init's, else T5's)")                 \
  X(std::vector<int>, local_heads, {}, "--local-heads",                                                       \
    "Fresh model: encoder head h starts attending to the token at the h-th relative offset, e.g. "            \
    "--local-heads=-2,-1,0,1,2")                                                                              \
  X(double, local_bias, 6.0, "--local-bias", "With --local-heads: the starting bias of each head's offset")

// The data.
#define EMOT5_TRAIN_DATA_OPTIONS(X)                                                                  \
  X(std::string, data, "", "--data,--input", "Training data (.jsonl or .csv)")                      \
  X(std::string, eval_data, "", "--eval-data", "Evaluation data (.jsonl or .csv)")                   \
  X(std::string, text_field, "text", "--text-field,--text-column", "Text field / column")            \
  X(std::string, label_field, "label", "--label-field", "Label field / column")                      \
  X(std::vector<std::string>, labels, {}, "--labels", "Label words, comma-separated (default: the six emotions)") \
  X(std::string, prefix, "", "--prefix", "Text prepended to every input")                            \
  X(bool, skip_bad_rows, false, "--skip-bad-rows", "Skip and count bad rows instead of stopping")   \
  X(int, max_input_tokens, 512, "--max-input-tokens", "Truncate inputs to this many tokens")

// The recipe: optimization, regularization, weight averaging and distillation.
#define EMOT5_TRAIN_RECIPE_OPTIONS(X)                                                                       \
  X(double, lr, kRecipeLr, "--lr", "Peak learning rate")                                                    \
  X(int, batch_size, 8, "--batch-size", "Batch size")                                                       \
  X(int, epochs, 3, "--epochs", "Epochs")                                                                   \
  X(int64_t, max_steps, 0, "--max-steps", "Plan the schedule over this many steps instead (0: epochs)")      \
  X(int, warmup_steps, 0, "--warmup-steps", "Linear warm-up steps")                                         \
  X(double, weight_decay, 0.0, "--weight-decay", "AdamW weight decay (not on layer norms)")                 \
  X(uint64_t, seed, 42, "--seed", "Seed (init, data order, dropout)")                                       \
  X(double, dropout, -1.0, "--dropout", "Dropout (< 0: config.json's dropout_rate)")                        \
  X(double, label_smoothing, 0.0, "--label-smoothing", "Label smoothing over the vocabulary, as HF's")     \
  X(std::string, class_weights, "none", "--class-weights", "none, or balanced (rare labels weigh more)")    \
  X(double, max_grad_norm, kRecipeMaxGradNorm, "--max-grad-norm", "Gradient clipping (global norm)")       \
  X(bool, no_shuffle, false, "--no-shuffle", "Batches in file order")                                      \
  X(bool, group_by_length, false, "--group-by-length", "Batches of similar lengths (less padding)")        \
  X(double, adam_beta1, 0.9, "", "")                                                                        \
  X(double, adam_beta2, 0.999, "", "")                                                                      \
  X(double, adam_eps, 1e-8, "", "")                                                                         \
  X(int, average_from_epoch, 0, "--average-from-epoch",                                                     \
    "Average the weights of every epoch from this one on; used when validation prefers them")               \
  X(std::vector<std::string>, teachers, {}, "--teacher",                                                    \
    "Distil this fine-tuned model (a directory with the same spiece.model); repeat to average several")     \
  X(double, distill_weight, 0.5, "--distill-weight", "With --teacher: the teacher's share of the loss")     \
  X(double, distill_temperature, 2.0, "--distill-temperature", "With --teacher: the softening temperature")

// Evaluation, checkpoints and the saved model.
#define EMOT5_TRAIN_OUTPUT_OPTIONS(X)                                                                \
  X(int64_t, eval_every, 0, "--eval-every", "Evaluate every N steps (and at the end)")              \
  X(bool, keep_best, false, "--keep-best", "Keep the weights of the best evaluation (macro-F1)")    \
  X(int64_t, save_every, 500, "--save-every", "Checkpoint every N steps (and at the end)")          \
  X(int64_t, log_every, 50, "", "")                                                                 \
  X(std::string, save_dtype, "f32", "--save-dtype", "The final model's dtype: f32, bf16 or f16")

// This invocation only: not saved, so that a resumed run takes them from its own command line.
#define EMOT5_TRAIN_RUN_OPTIONS(X)                                                                  \
  X(std::string, out, "", "--out", "Output directory (model, checkpoints, metrics.jsonl)")          \
  X(std::string, resume, "", "--resume", "Resume the run in this output directory")                 \
  X(int64_t, stop_after, 0, "--stop-after",                                                         \
    "Stop at step N as if interrupted (steps count from the run's start, also with --resume)")      \
  X(int, threads, 0, "--threads", "Intra-op threads (0: libtorch's default)")                       \
  X(std::string, device, "cpu", "--device", "cpu or cuda")

#define EMOT5_TRAIN_SAVED_OPTIONS(X) \
  EMOT5_TRAIN_MODEL_OPTIONS(X) EMOT5_TRAIN_DATA_OPTIONS(X) EMOT5_TRAIN_RECIPE_OPTIONS(X) EMOT5_TRAIN_OUTPUT_OPTIONS(X)

struct TrainOptions {
#define EMOT5_FIELD(type, name, def, flag, help) type name = def;
  EMOT5_TRAIN_SAVED_OPTIONS(EMOT5_FIELD)
  EMOT5_TRAIN_RUN_OPTIONS(EMOT5_FIELD)
#undef EMOT5_FIELD
};

// The saved options, every field by its name.
nlohmann::json options_to_json(const TrainOptions& o);
// The saved options of `j` over the defaults. Throws emot5::Error naming `origin` and the option
// when `j` holds an option this version does not have with a value other than its inert one (a run
// that an option since removed shaped cannot go on the same way), or a key it does not know.
TrainOptions options_from_json(const nlohmann::json& j, const std::string& origin);

// Throws std::invalid_argument, naming the flag, for a value out of range or a combination that
// does not hold (e.g. --local-bias without --local-heads). Makes the teachers' paths absolute.
void validate(TrainOptions& o);

}  // namespace emot5::train
