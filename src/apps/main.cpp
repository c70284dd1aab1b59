// emot5: the command-line front end. `emot5 train` runs the emot5-train executable beside it,
// so that classification never loads libtorch.
#include <unistd.h>

#include <cstdlib>

#include "apps/commands.h"

// OpenMP threads that wait at a barrier spin before they sleep: libgomp's default is 300,000
// spins, which on a machine whose cores other processes also use burns the time slices that the
// thread being waited for needs (20,000 texts took 8 times as long beside one busy process, where
// a fair share is 2 times). 1,000 spins (libgomp's own count when threads outnumber cores) keeps
// the idle speed and batch-1 latency and gives a fair share under contention (docs/benchmarks.md).
// libgomp reads its settings once, in its initializer, before main; and the C library resets the
// environment after an executable's pre-initializers run. So emot5 sets the variable and runs
// itself again, once. A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
void set_omp_wait_defaults(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  ::setenv("GOMP_SPINCOUNT", "1000", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: go on with libgomp's defaults
}

int main(int argc, char** argv) {
  set_omp_wait_defaults(argv);
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
