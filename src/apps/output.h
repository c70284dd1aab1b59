// Output of the CLI: predictions as text, JSON lines or CSV; a progress bar for long runs.
#pragma once
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "emot5/emot5.h"

namespace emot5::app {

enum class Format { Text, Jsonl, Csv };
Format parse_format(const std::string& s);  // throws std::invalid_argument

std::string csv_escape(const std::string& s);

class PredictionWriter {
 public:
  PredictionWriter(std::ostream& out, Format format, std::vector<std::string> labels, bool generated);
  void write(const std::string& text, const Prediction& p);

 private:
  std::ostream& out_;
  Format format_;
  std::vector<std::string> labels_;
  bool generated_;
};

// A progress bar on stderr with count, rate and ETA, drawn only when stderr is a terminal.
class Progress {
 public:
  Progress(std::string what, size_t total);  // total 0: unknown
  void add(size_t n);
  void finish();

 private:
  void draw(bool final);
  std::string what_;
  size_t total_, done_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace emot5::app
