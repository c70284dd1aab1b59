// emot5: the command-line front end. Exit codes: 0 success, 2 usage error, 1 any other error.
#include <iostream>

#include "apps/commands.h"
#include "io/error.h"

int main(int argc, char** argv) {
  using namespace emot5::app;
  CLI::App app{"emot5: T5 emotion classifiers in C++ (classify, generate, tokenize, ...)", "emot5"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "emot5 0.1.0");
  Runner run;
  add_classify(app, &run);
  add_generate(app, &run);
  add_tokenize(app, &run);
  add_make_formula_model(app, &run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    return run();
  } catch (const std::invalid_argument& e) {
    std::cerr << "emot5: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "emot5: error: " << e.what() << "\n";
    return 1;
  }
}
