// Progress of long work on stderr: on a terminal, a bar with count, rate, ETA and a caller's
// note (loss, lr, ...); when stderr is not a terminal, nothing, or with `log_when_piped` a plain
// line every `log_every_s` seconds.
#pragma once
#include <chrono>
#include <string>

namespace emot5 {

class Progress {
 public:
  Progress(std::string what, size_t total, bool log_when_piped = false, double log_every_s = 30.0);
  // Adds n units of work done; `note` is shown after the rate (e.g. "loss 0.31 lr 4e-5").
  void add(size_t n, const std::string& note = "");
  // Work already done before this run (a resumed training): counted in the bar, not the rate.
  void set_done(size_t done) { done_ = start_done_ = done; }
  void finish(const std::string& note = "");

 private:
  void draw(bool final);
  std::string what_, note_;
  size_t total_, done_ = 0, start_done_ = 0;
  bool tty_, log_;
  double log_every_s_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace emot5
