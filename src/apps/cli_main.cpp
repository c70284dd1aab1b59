// The shared top of emot5's executables (see commands.h).
#include <iostream>

#include "apps/commands.h"

namespace emot5::app {

int parse_and_run(CLI::App& app, const Runner& run, int argc, char** argv) {
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

}  // namespace emot5::app

