// Classification metrics: accuracy, macro- and weighted-F1, per-class precision / recall / F1 /
// support, the confusion matrix, expected calibration error, and how many greedy generations
// were not a label. Printing as a table, JSON, an SVG confusion matrix and a reliability diagram.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace emot5 {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int support = 0;
};

// One of the equal-width confidence bins behind the ECE.
struct CalibrationBin {
  double from = 0, to = 0;          // confidence range [from, to) (the last bin includes 1)
  int count = 0;                    // predictions whose confidence fell in it
  double confidence = 0, accuracy = 0;  // their mean confidence and accuracy (0 when empty)
};

struct EvalReport {
  std::vector<std::string> labels;
  int n = 0;
  double accuracy = 0, macro_f1 = 0, weighted_f1 = 0, ece = 0;
  double nll = -1;  // mean -log p(gold label) (log loss); -1 when the gold labels' probabilities were not given
  std::vector<ClassMetrics> per_class;
  std::vector<std::vector<int>> confusion;  // [gold][predicted]
  int non_label_generations = -1;            // -1: generation was not run
  std::vector<CalibrationBin> calibration;   // the ECE's bins, every one (empty ones too)
};

// gold and predicted are label indexes; confidence is the predicted label's probability;
// gold_probability, when given, the gold label's (for the NLL).
// Macro-F1 averages the F1 of the labels that occur among the gold labels or the predictions, as
// scikit-learn's f1_score does when not given the labels: a label absent from both (say, surprise
// in a small file) would otherwise count as F1 0. ECE uses 15 equal-width confidence bins.
EvalReport evaluate(const std::vector<std::string>& labels, const std::vector<int>& gold,
                    const std::vector<int>& predicted, const std::vector<float>& confidence,
                    int non_label_generations = -1, const std::vector<float>& gold_probability = {});

// Temperature scaling (Guo et al., 2017) of label probabilities: each row's p becomes
// softmax(b * log p), b the inverse temperature. tempered_nll is the mean negative log-likelihood
// of the gold labels under it (probabilities below 1e-30 read as 1e-30).
double tempered_nll(const std::vector<std::vector<float>>& probabilities, const std::vector<int>& gold, double b);
// The b in [1/kMaxInverseTemperature, kMaxInverseTemperature] that minimizes tempered_nll (convex
// in b; golden-section search on log b). Throws std::invalid_argument for no rows or mismatched sizes.
inline constexpr double kMaxInverseTemperature = 20;
double fit_inverse_temperature(const std::vector<std::vector<float>>& probabilities, const std::vector<int>& gold);

nlohmann::ordered_json report_json(const EvalReport& r);
std::string report_table(const EvalReport& r);
std::string confusion_svg(const EvalReport& r, const std::string& title);
// Reliability diagram: accuracy against mean confidence per bin, with the diagonal of perfect
// calibration and the predictions per bin as grey bars.
std::string calibration_svg(const EvalReport& r, const std::string& title);

}  // namespace emot5
