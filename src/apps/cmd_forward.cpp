// `emot5 train ARGS` runs `emot5-train train ARGS` (beside the running executable), so that
// classification never loads libtorch.
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "apps/commands.h"
#include "io/file_util.h"

namespace emot5::app {

void add_train_forwarder(CLI::App& app, Runner* run, int argc, char** argv) {
  auto* cmd = app.add_subcommand("train", kTrainHelp);
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

}  // namespace emot5::app
