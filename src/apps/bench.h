// emot5 bench's measuring: the machine and data, then for each precision its measured peak, the
// throughput at each batch size, latency percentiles at batch 1 and label agreement with the first
// precision, all inside one run. Results are JSON records (what --json writes); cmd_bench.cpp
// prints them.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "emot5/emot5.h"

namespace emot5::app {

struct BenchOptions {
  std::string model_dir, data, command;
  ClassifierOptions clf;
  std::vector<int> batch_sizes = {1, 32};
  std::vector<std::string> precisions = {"f32"};
  size_t limit = 0;           // the first N texts (0: all)
  size_t latency_texts = 200;
  std::string executable;     // emot5 itself, for the end-to-end `classify` run (empty: none)
  bool contended = false;     // also measure beside a busy process
  int repeat = 1;             // each throughput (and end-to-end) measurement timed this many times; the fastest counts
};

class Bench {
 public:
  // Loads the first precision's classifier (so that its peak RSS is its own), reads the texts and
  // counts their tokens and FLOPs. Throws std::invalid_argument when the data has no texts.
  explicit Bench(BenchOptions o);
  // command, cpu, isa, threads, model, weights_f32_mib, texts, mean_tokens, gflop_per_text, generate.
  const nlohmann::ordered_json& setup() const { return setup_; }
  // One precision, in order (index 0 first): precision, measured_peak_gflop_per_s,
  // weights_in_use_mib, throughput[], latency_ms, and for later ones the agreement with the first.
  nlohmann::ordered_json measure(size_t index);
  // These three load the first precision again (call them after memory(), whose peak RSS is then
  // the main runs' own).
  // The first precision at the largest batch size with greedy generation on: its texts/s and
  // their share of the scores-only rate measured by measure(0) (call it first).
  nlohmann::ordered_json generation_cost();
  // `emot5 classify` with its defaults over the same texts (options.executable, as a child process,
  // model load included): its texts/s and their share of measure(0)'s at the default batch size.
  nlohmann::ordered_json end_to_end();
  // The first precision at the largest batch size again, beside a busy loop on every core but one
  // (a child process that this starts and ends): texts/s and their share of the idle rate.
  nlohmann::ordered_json contended();
  // peak_rss_mib and rss_before_load_mib.
  nlohmann::ordered_json memory() const;

 private:
  BenchOptions o_;
  nlohmann::ordered_json setup_;
  std::optional<Classifier> first_;
  std::vector<std::string> texts_;
  double tokens_ = 0, flops_ = 0, rss_before_ = 0;
  int threads_ = 1;
  std::vector<Prediction> reference_;
  std::optional<Classifier> extra_;  // the first precision's again, for the runs after measure()
  double default_batch_rate_ = 0;  // measure(0)'s texts/s at the classifier's default batch size (0: not measured)

  double rate(const Classifier& clf, int batch_size) const;  // texts/s over the texts, the best of o_.repeat
  const Classifier& first_classifier();  // extra_, loaded on first use
};

}  // namespace emot5::app
