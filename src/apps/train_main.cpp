// emot5-train: the trainer's executable (links libtorch). `emot5 train ARGS` runs
// `emot5-train train ARGS`.
#include "apps/commands.h"
#include "train/blas_core.h"

int main(int argc, char** argv) {
  using namespace emot5::app;
  emot5::train::restart_with_better_openblas_core(argv);
  CLI::App app{"emot5 train: fine-tune T5 classifiers with libtorch", "emot5"};
  app.require_subcommand(1);
  Runner run;
  add_train(app, &run);
  return parse_and_run(app, run, argc, argv);
}
