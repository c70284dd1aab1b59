// The shared top of emot5's executables: parse, run the chosen command, map errors to exit codes
// (0 success, 2 usage error, 1 any other error).
#pragma once
#include "apps/commands.h"

namespace emot5::app {
int parse_and_run(CLI::App& app, const Runner& run, int argc, char** argv);
}
