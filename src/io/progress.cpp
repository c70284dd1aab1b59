// Progress bar (see progress.h).
#include "io/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace emot5 {

Progress::Progress(std::string what, size_t total, bool log_when_piped, double log_every_s)
    : what_(std::move(what)), total_(total), tty_(::isatty(STDERR_FILENO) == 1), log_(log_when_piped),
      log_every_s_(log_every_s), start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::add(size_t n, const std::string& note) {
  done_ += n;
  if (!note.empty()) note_ = note;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if ((tty_ && since > 0.2) || (!tty_ && log_ && since > log_every_s_)) {
    last_ = now;
    draw(false);
  }
}

void Progress::finish(const std::string& note) {
  if (!note.empty()) note_ = note;
  if (tty_ || log_) draw(true);
}

void Progress::draw(bool final) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done_ - std::min(done_, start_done_)) / secs : 0.0;
  char line[512];
  int len;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done_, total_)) / rate : 0.0;
    if (tty_) {
      const int width = 24, fill = static_cast<int>(frac * width);
      std::string bar(static_cast<size_t>(fill), '#');
      bar.append(static_cast<size_t>(width - fill), '.');
      len = std::snprintf(line, sizeof line, "\r%s [%s] %zu/%zu %.1f/s ETA %.0fs %s\x1b[K", what_.c_str(),
                          bar.c_str(), done_, total_, rate, eta, note_.c_str());
    } else {
      len = std::snprintf(line, sizeof line, "%s %zu/%zu (%.0f%%) %.1f/s ETA %.0fs %s\n", what_.c_str(), done_,
                          total_, 100 * frac, rate, eta, note_.c_str());
    }
  } else {
    len = std::snprintf(line, sizeof line, tty_ ? "\r%s %zu %.1f/s %s\x1b[K" : "%s %zu %.1f/s %s\n", what_.c_str(),
                        done_, rate, note_.c_str());
  }
  if (len > 0) std::fputs(line, stderr);
  if (final && tty_) std::fputs("\n", stderr);
  std::fflush(stderr);
}

}  // namespace emot5
