// The shared top of emot5's executables (see commands.h).
#include <iostream>

#include "apps/commands.h"

namespace emot5::app {

int parse_and_run(CLI::App& app, const Runner& run, int argc, char** argv) {
  if (argc > 1 && argv[1][0] != '-') {  // CLI11 would only say that a subcommand is required
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->check_name(argv[1]);
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::cerr << "emot5: error: unknown command '" << argv[1] << "' (commands: " << names << ")\n";
      return 2;
    }
  }
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

