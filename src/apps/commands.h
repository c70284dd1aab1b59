// The CLI's subcommands. Each add_* registers its options on `app` and sets `run` to the code
// that executes when that subcommand is chosen.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "apps/input.h"
#include "emot5/emot5.h"

namespace emot5::app {

using Runner = std::function<int()>;

// Parses, runs the chosen command and maps errors to exit codes (0 success, 2 usage error, 1 any
// other error): the shared top of emot5 and emot5-train.
int parse_and_run(CLI::App& app, const Runner& run, int argc, char** argv);

// Options every model-using command shares.
struct ModelOptions {
  std::string model;
  ClassifierOptions clf;
  void add_to(CLI::App* cmd);
  // --model, else $EMOT5_MODEL, else the built-in default model. Throws std::invalid_argument
  // when none exists.
  std::string resolve() const;
};

// --generate (sets *generate) and --no-generate, the default, kept so that older scripts still run.
void add_generate_flags(CLI::App* cmd, bool* generate, const std::string& help);

// Texts as arguments, or --input FILE with --text-field / --text-column, or stdin lines.
void add_input_options(CLI::App* cmd, InputSpec* spec);

void add_classify(CLI::App& app, Runner* run);
void add_generate(CLI::App& app, Runner* run);
void add_tokenize(CLI::App& app, Runner* run);
void add_make_formula_model(CLI::App& app, Runner* run);
void add_eval(CLI::App& app, Runner* run);
void add_calibrate(CLI::App& app, Runner* run);
void add_trends(CLI::App& app, Runner* run);
void add_serve(CLI::App& app, Runner* run);
void add_plot_metrics(CLI::App& app, Runner* run);
void add_bench(CLI::App& app, Runner* run, int argc, char** argv);
inline constexpr const char* kTrainHelp = "Fine-tune a T5 classifier (defaults: the original recipe)";
// emot5-train's command (apps/cmd_train.cpp).
void add_train(CLI::App& app, Runner* run);
// emot5's `train`: runs emot5-train (beside the running executable) with the same arguments.
void add_train_forwarder(CLI::App& app, Runner* run, int argc, char** argv);

}  // namespace emot5::app
