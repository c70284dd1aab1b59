// emot5 train (emot5-train's command): its flags come from train/options.h's lists, so that each
// option is written once.
#include <type_traits>
#include <vector>

#include "apps/commands.h"
#include "train/options.h"
#include "train/trainer.h"

namespace emot5::app {

namespace {

template <class T>
constexpr bool is_vector = false;
template <class T>
constexpr bool is_vector<std::vector<T>> = true;

template <class T>
void add_field(CLI::App* cmd, const char* flag, T& value, const char* help, const char* group) {
  if (flag[0] == '\0') return;  // saved, but not offered on the command line
  CLI::Option* opt = nullptr;
  if constexpr (std::is_same_v<T, bool>)
    opt = cmd->add_flag(flag, value, help);
  else if constexpr (is_vector<T>)
    opt = cmd->add_option(flag, value, help);
  else
    opt = cmd->add_option(flag, value, help)->capture_default_str();
  opt->group(group);
}

}  // namespace

void add_train(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("train", kTrainHelp);
  auto o = std::make_shared<train::TrainOptions>();
  const char* group = "Model";
#define EMOT5_FLAG(type, name, def, flag, help) add_field(cmd, flag, o->name, help, group);
  EMOT5_TRAIN_MODEL_OPTIONS(EMOT5_FLAG)
  group = "Data";
  EMOT5_TRAIN_DATA_OPTIONS(EMOT5_FLAG)
  group = "Recipe";
  EMOT5_TRAIN_RECIPE_OPTIONS(EMOT5_FLAG)
  group = "Output";
  EMOT5_TRAIN_OUTPUT_OPTIONS(EMOT5_FLAG)
  group = "Run";
  EMOT5_TRAIN_RUN_OPTIONS(EMOT5_FLAG)
#undef EMOT5_FLAG
  cmd->get_option("--labels")->delimiter(',');
  cmd->get_option("--local-heads")->delimiter(',');
  cmd->callback([o, run] { *run = [o]() -> int { return train::run_training(*o); }; });
}

}  // namespace emot5::app
