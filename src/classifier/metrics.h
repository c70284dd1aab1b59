// Classification metrics: accuracy, macro- and weighted-F1, per-class precision / recall / F1 /
// support, the confusion matrix, expected calibration error, and how many greedy generations
// were not a label. Printing as a table, JSON, and an SVG confusion matrix.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace emot5 {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int support = 0;
};

struct EvalReport {
  std::vector<std::string> labels;
  int n = 0;
  double accuracy = 0, macro_f1 = 0, weighted_f1 = 0, ece = 0;
  std::vector<ClassMetrics> per_class;
  std::vector<std::vector<int>> confusion;  // [gold][predicted]
  int non_label_generations = -1;            // -1: generation was not run
};

// gold and predicted are label indexes; confidence is the predicted label's probability.
// ECE uses 15 equal-width confidence bins.
EvalReport evaluate(const std::vector<std::string>& labels, const std::vector<int>& gold,
                    const std::vector<int>& predicted, const std::vector<float>& confidence,
                    int non_label_generations = -1);

nlohmann::ordered_json report_json(const EvalReport& r);
std::string report_table(const EvalReport& r);
std::string confusion_svg(const EvalReport& r, const std::string& title);

}  // namespace emot5
