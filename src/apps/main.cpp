// emot5: the command-line front end. `emot5 train` runs the emot5-train executable beside it,
// so that classification never loads libtorch.
#include "apps/commands.h"

int main(int argc, char** argv) {
  using namespace emot5::app;
  CLI::App app{"emot5: T5 emotion classifiers in C++ (classify, eval, calibrate, trends, serve, train, generate, tokenize, ...)", "emot5"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "emot5 0.1.0");
  Runner run;
  add_classify(app, &run);
  add_eval(app, &run);
  add_calibrate(app, &run);
  add_trends(app, &run);
  add_serve(app, &run);
  add_plot_metrics(app, &run);
  add_bench(app, &run, argc, argv);
  add_train_forwarder(app, &run, argc, argv);
  add_generate(app, &run);
  add_tokenize(app, &run);
  add_make_formula_model(app, &run);
  return parse_and_run(app, run, argc, argv);
}
