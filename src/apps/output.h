// Output of the CLI: predictions as text, JSON lines or CSV; a progress bar for long runs.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "emot5/emot5.h"

namespace emot5::app {

enum class Format { Text, Jsonl, Csv };
Format parse_format(const std::string& s);  // throws std::invalid_argument

// For plot options (--plot, --out of plot-metrics): the file's name ends in .svg (any case) and its
// folder exists, so that a wrong name is refused before any work rather than after it, and a
// picture named .png is never SVG inside.
CLI::Validator svg_file();

// --format text's text: \ \t \n \r written as \\ \t \n \r, so that each row stays one line of three
// tab-separated fields.
std::string text_escape(std::string_view s);

// {"label", "scores": {label: probability}, "generated" (when `generated`), "truncated" (when true)}.
nlohmann::ordered_json prediction_json(const Prediction& p, const std::vector<std::string>& labels, bool generated);

class PredictionWriter {
 public:
  // kept: names of input fields written before the text (jsonl, csv only), each row's values
  // given to write(). Throws std::invalid_argument when a name clashes with an output field.
  // header false: no CSV header (a resumed output has one).
  PredictionWriter(std::ostream& out, Format format, std::vector<std::string> labels, bool generated,
                   std::vector<std::string> kept = {}, bool header = true);
  void write(const std::string& text, const Prediction& p, const std::vector<nlohmann::json>& kept = {});

 private:
  std::ostream& out_;
  Format format_;
  std::vector<std::string> labels_;
  bool generated_;
  std::vector<std::string> kept_;
};

}  // namespace emot5::app
