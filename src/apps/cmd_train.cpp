// emot5 train: fine-tune or train from scratch with libtorch (see src/train/trainer.h).
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "io/file_util.h"
#ifdef EMOT5_HAVE_TRAINER
#include "train/bilstm.h"
#include "train/trainer.h"
#endif

namespace emot5::app {

namespace {
const char* const kTrainHelp = "Fine-tune a T5 classifier (defaults: the original recipe)";
const char* const kBilstmHelp =
    "Cross-fitted label distributions of a word-level BiLSTM for each training row (a teacher for "
    "train --teacher-scores)";
}

void add_train_forwarder(CLI::App& app, Runner* run, int argc, char** argv) {
  for (const auto& [name, help] : {std::pair{"train", kTrainHelp}, std::pair{"bilstm-scores", kBilstmHelp}}) {
    auto* cmd = app.add_subcommand(name, help);
    cmd->set_help_flag();  // emot5-train prints the help
    cmd->allow_extras();
    cmd->callback([run, argc, argv] {
    *run = [argc, argv]() -> int {
      const auto dir = executable_dir();
      const auto trainer = std::filesystem::path(dir.empty() ? "." : dir) / "emot5-train";
      if (!std::filesystem::exists(trainer))
        throw std::runtime_error("this build has no trainer (" + trainer.string() +
                                 " is missing: libtorch was not found at build time)");
      std::vector<char*> args;
      args.push_back(const_cast<char*>("emot5-train"));
      for (int i = 1; i < argc; ++i) args.push_back(argv[i]);  // "train" and its options
      args.push_back(nullptr);
      ::execv(trainer.c_str(), args.data());
      throw std::runtime_error("cannot run " + trainer.string());
    };
    });
  }
}

void add_train(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("train", kTrainHelp);
#ifdef EMOT5_HAVE_TRAINER
  auto o = std::make_shared<train::TrainOptions>();
  auto* g_model = "Model";
  cmd->add_option("--init", o->init, "Start from this checkpoint directory")->group(g_model);
  cmd->add_option("--config", o->config_file, "Fresh model from this config.json (HF init)")->group(g_model);
  cmd->add_option("--preset", o->preset, "Fresh model preset: emot5-small, t5-tiny, flan-t5-small")->group(g_model);
  cmd->add_option("--tokenizer", o->tokenizer, "spiece.model (default: --init's, else data/t5-tokenizer)")->group(g_model);
  auto* g_data = "Data";
  cmd->add_option("--data", o->data, "Training data (.jsonl or .csv)")->group(g_data);
  cmd->add_option("--eval-data", o->eval_data, "Evaluation data (.jsonl or .csv)")->group(g_data);
  cmd->add_option("--text-field", o->text_field, "Text field / column")->capture_default_str()->group(g_data);
  cmd->add_option("--label-field", o->label_field, "Label field / column")->capture_default_str()->group(g_data);
  cmd->add_option("--labels", o->labels, "Label words (default: the six emotions)")->delimiter(',')->group(g_data);
  cmd->add_option("--prefix", o->prefix, "Text prepended to every input")->group(g_data);
  cmd->add_flag("--skip-bad-rows", o->skip_bad_rows, "Skip and count bad rows instead of stopping")->group(g_data);
  cmd->add_option("--max-input-tokens", o->max_input_tokens, "Truncate inputs")->capture_default_str()->group(g_data);
  auto* g_rec = "Recipe";
  cmd->add_option("--lr", o->lr, "Peak learning rate")->capture_default_str()->group(g_rec);
  cmd->add_option("--batch-size", o->batch_size, "Batch size")->capture_default_str()->check(CLI::PositiveNumber)->group(g_rec);
  cmd->add_option("--epochs", o->epochs, "Epochs")->capture_default_str()->check(CLI::PositiveNumber)->group(g_rec);
  cmd->add_option("--max-steps", o->max_steps, "Plan the schedule over this many steps instead")->group(g_rec);
  cmd->add_option("--stop-after", o->stop_after, "Stop at step N as if interrupted (schedule unchanged; steps count from the run's start, also with --resume)")->group(g_rec);
  cmd->add_option("--warmup-steps", o->warmup_steps, "Linear warm-up steps")->capture_default_str()->group(g_rec);
  cmd->add_option("--weight-decay", o->weight_decay, "AdamW weight decay")->capture_default_str()->group(g_rec);
  cmd->add_option("--seed", o->seed, "Seed (init, data order, dropout)")->capture_default_str()->group(g_rec);
  cmd->add_option("--dropout", o->dropout, "Dropout (default: config.json's dropout_rate)")->group(g_rec);
  cmd->add_option("--label-smoothing", o->label_smoothing, "Label smoothing")->capture_default_str()->group(g_rec);
  cmd->add_option("--smooth-over", o->smooth_over,
                  "Where label smoothing goes: vocab (HF: the whole vocabulary, every target token) or labels "
                  "(the label words, at the label's token)")
      ->capture_default_str()->check(CLI::IsMember({"vocab", "labels"}))->group(g_rec);
  cmd->add_option("--class-weights", o->class_weights, "none or balanced")->capture_default_str()->group(g_rec);
  cmd->add_option("--max-grad-norm", o->max_grad_norm, "Gradient clipping")->capture_default_str()->group(g_rec);
  cmd->add_flag("--no-shuffle", o->no_shuffle, "Batches in file order")->group(g_rec);
  cmd->add_flag("--group-by-length", o->group_by_length, "Batches of similar lengths (less padding)")->group(g_rec);
  cmd->add_option("--average-from-epoch", o->average_from_epoch,
                  "Average the weights of every epoch from this one on; used when validation prefers it")->group(g_rec);
  cmd->add_option("--swa-lr", o->swa_lr,
                  "With --average-from-epoch: decay the rate to this value by that epoch and hold it there "
                  "(SWA's constant rate; 0: decay to 0 as planned)")
      ->capture_default_str()->check(CLI::NonNegativeNumber)->group(g_rec);
  cmd->add_option("--objective", o->objective,
                  "classify (label words); denoise (T5 span corruption) or prefix-lm (continue a text cut at a "
                  "random point), on the texts alone, to pre-train a fresh model before fine-tuning it with --init")
      ->capture_default_str()->check(CLI::IsMember({"classify", "denoise", "prefix-lm"}))->group(g_rec);
  cmd->add_flag("--reinit-decoder", o->reinit_decoder,
                "With --init: fresh decoder weights (keep the encoder and embedding), e.g. after --objective denoise")
      ->group(g_model);
  cmd->add_flag("--reinit-encoder", o->reinit_encoder,
                "With --init: fresh encoder layers too (keep the shared embedding only)")
      ->group(g_model);
  cmd->add_option("--noise-density", o->noise_density, "denoise: share of tokens hidden")
      ->capture_default_str()->check(CLI::Range(0.01, 0.99))->group(g_rec);
  cmd->add_option("--mean-noise-span", o->mean_noise_span, "denoise: mean length of a hidden span")
      ->capture_default_str()->check(CLI::Range(1.0, 100.0))->group(g_rec);
  cmd->add_option("--token-dropout", o->token_dropout,
                  "classify: delete each input token with this probability while training (regularizer)")
      ->capture_default_str()->check(CLI::Range(0.0, 0.9))->group(g_rec);
  cmd->add_option("--unk-below", o->unk_below,
                  "classify: read tokens seen fewer than N times in the training texts as <unk>; the saved model "
                  "gives them <unk>'s embedding (0: off)")
      ->capture_default_str()->check(CLI::NonNegativeNumber)->group(g_rec);
  cmd->add_option("--unk-dropout", o->unk_dropout,
                  "classify: replace each input token by <unk> with this probability while training")
      ->capture_default_str()->check(CLI::Range(0.0, 0.9))->group(g_rec);
  cmd->add_option("--subword-nbest", o->subword_nbest,
                  "classify: subword regularization, training on segmentations drawn from each word's N best "
                  "(0: off)")
      ->capture_default_str()->check(CLI::Range(0, 64))->group(g_rec);
  cmd->add_option("--subword-alpha", o->subword_alpha,
                  "classify: with --subword-nbest, draw a segmentation with probability proportional to p^alpha")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0))->group(g_rec);
  cmd->add_option("--word-vectors", o->word_vectors,
                  "Fresh model: whole-word pieces start from these word vectors (GloVe/word2vec text format)")
      ->group(g_model);
  cmd->add_option("--local-heads", o->local_heads,
                  "Fresh model: encoder head h starts attending to the token at the h-th relative offset, "
                  "e.g. --local-heads=-2,-1,0,1,2")
      ->delimiter(',')->group(g_model);
  cmd->add_option("--local-bias", o->local_bias, "With --local-heads: the starting bias of each head's offset")
      ->capture_default_str()->group(g_model);
  cmd->add_flag("--freeze-embedding", o->freeze_embedding, "Do not train the shared embedding (nor a tied head)")
      ->group(g_rec);
  cmd->add_option("--embedding-lr-scale", o->embedding_lr_scale,
                  "The shared embedding (and a tied head) learns at lr times this")
      ->capture_default_str()->check(CLI::Range(0.0, 1000.0))->group(g_rec);
  cmd->add_option("--sam-rho", o->sam_rho,
                  "Sharpness-aware minimization: step with the gradient at the weights moved this far "
                  "along the batch's gradient (0: off; twice the compute)")
      ->capture_default_str()->check(CLI::Range(0.0, 10.0))->group(g_rec);
  cmd->add_option("--teacher", o->teachers,
                  "Knowledge distillation from this trained model (a checkpoint directory with the same "
                  "spiece.model); repeat it to average several")
      ->check(CLI::ExistingDirectory)->group(g_rec);
  cmd->add_option("--teacher-scores", o->teacher_scores,
                  "Knowledge distillation from label distributions in this JSONL file, one line per row of "
                  "--data in order, as 'emot5 classify --no-generate -i DATA' writes them; repeat it to average "
                  "several")
      ->check(CLI::ExistingFile)->group(g_rec);
  cmd->add_option("--distill-weight", o->distill_weight,
                  "With --teacher or --teacher-scores: the teacher's share of the loss (the label loss has the rest)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0))->group(g_rec);
  cmd->add_option("--distill-temperature", o->distill_temperature,
                  "With --teacher or --teacher-scores: both label distributions are softened by this temperature")
      ->capture_default_str()->check(CLI::Range(0.05, 100.0))->group(g_rec);
  auto* g_run = "Run";
  cmd->add_option("--out", o->out, "Output directory (model, checkpoints, metrics.jsonl)")->group(g_run);
  cmd->add_option("--resume", o->resume, "Resume the run in this output directory")->group(g_run);
  cmd->add_option("--eval-every", o->eval_every, "Evaluate every N steps (and at the end)")->group(g_run);
  cmd->add_option("--save-every", o->save_every, "Checkpoint every N steps (and at the end)")->capture_default_str()->group(g_run);
  cmd->add_flag("--keep-best", o->keep_best, "Save the weights of the best evaluation (macro-F1)")->group(g_run);
  cmd->add_option("--save-dtype", o->save_dtype, "f32, bf16 or f16")->capture_default_str()->group(g_run);
  cmd->add_option("--threads", o->threads, "Intra-op threads (0: libtorch's default)")->group(g_run);
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str()->group(g_run);
  cmd->callback([o, run] { *run = [o]() -> int { return train::run_training(*o); }; });
#else
  (void)cmd;
  (void)run;
#endif
}

void add_bilstm_scores(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("bilstm-scores", kBilstmHelp);
#ifdef EMOT5_HAVE_TRAINER
  auto o = std::make_shared<train::BilstmOptions>();
  cmd->add_option("--data", o->data, "Training data (.jsonl or .csv)")->required();
  cmd->add_option("--out", o->out, "The scores file to write (JSON lines, one per row of --data, or of --score)")
      ->required();
  cmd->add_option("--eval-data", o->eval_data, "Data to evaluate each fold's model on after every epoch");
  cmd->add_option("--score", o->score,
                  "No folds: train one model on all of --data and write the scores of this file's texts to --out");
  cmd->add_option("--text-field", o->text_field, "Text field / column")->capture_default_str();
  cmd->add_option("--label-field", o->label_field, "Label field / column")->capture_default_str();
  cmd->add_option("--labels", o->labels, "Label words (default: the six emotions)")->delimiter(',');
  cmd->add_option("--folds", o->folds, "Folds (each row is scored by the model trained on the others)")
      ->capture_default_str()->check(CLI::Range(2, 100));
  cmd->add_option("--epochs", o->epochs, "Epochs per fold")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--batch-size", o->batch_size, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--embedding-dim", o->embedding_dim, "Word embedding size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--hidden", o->hidden, "LSTM size per direction")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--dropout", o->dropout, "Dropout on the embeddings and the pooled states")
      ->capture_default_str()->check(CLI::Range(0.0, 0.95));
  cmd->add_option("--lr", o->lr, "Adam's learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "Weights, dropout and batch order (the same for every fold)")->capture_default_str();
  cmd->add_option("--fold-seed", o->fold_seed, "Which rows go to which fold")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Intra-op threads (the scores are reproducible for a given count)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([o, run] { *run = [o]() -> int { return train::run_bilstm_scores(*o); }; });
#else
  (void)cmd;
  (void)run;
#endif
}

}  // namespace emot5::app
