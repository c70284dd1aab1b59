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
};

}  // namespace emot5::app
