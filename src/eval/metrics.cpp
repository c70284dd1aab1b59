// Classification metrics (see metrics.h).
#include "eval/metrics.h"

#include "eval/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace emot5 {

EvalReport evaluate(const std::vector<std::string>& labels, const std::vector<int>& gold,
                    const std::vector<int>& predicted, const std::vector<float>& confidence,
                    int non_label_generations, const std::vector<float>& gold_probability) {
  if (gold.size() != predicted.size() || gold.size() != confidence.size() ||
      (!gold_probability.empty() && gold_probability.size() != gold.size()))
    throw std::invalid_argument("evaluate: gold, predicted, confidence and gold_probability differ in size");
  EvalReport r;
  const size_t K = labels.size();
  r.labels = labels;
  r.n = static_cast<int>(gold.size());
  r.non_label_generations = non_label_generations;
  r.confusion.assign(K, std::vector<int>(K, 0));
  int correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    r.confusion[static_cast<size_t>(gold[i])][static_cast<size_t>(predicted[i])]++;
    correct += gold[i] == predicted[i];
  }
  r.accuracy = r.n ? static_cast<double>(correct) / r.n : 0.0;
  if (!gold_probability.empty()) {
    r.nll = 0;
    for (float p : gold_probability) r.nll -= std::log(std::max(static_cast<double>(p), 1e-30));
    r.nll /= static_cast<double>(gold_probability.size());
  }
  r.per_class.resize(K);
  int present = 0;  // labels in the gold rows or the predictions: macro-F1 averages over these
  for (size_t k = 0; k < K; ++k) {
    int tp = r.confusion[k][k], pred = 0, sup = 0;
    for (size_t j = 0; j < K; ++j) {
      pred += r.confusion[j][k];
      sup += r.confusion[k][j];
    }
    auto& c = r.per_class[k];
    c.support = sup;
    c.precision = pred ? static_cast<double>(tp) / pred : 0.0;
    c.recall = sup ? static_cast<double>(tp) / sup : 0.0;
    c.f1 = c.precision + c.recall > 0 ? 2 * c.precision * c.recall / (c.precision + c.recall) : 0.0;
    if (sup || pred) {
      ++present;
      r.macro_f1 += c.f1;
    }
    r.weighted_f1 += r.n ? c.f1 * sup / r.n : 0.0;
  }
  if (present) r.macro_f1 /= present;
  const int bins = 15;
  std::vector<double> conf_sum(bins, 0), acc_sum(bins, 0);
  std::vector<int> count(bins, 0);
  for (size_t i = 0; i < gold.size(); ++i) {
    const int b = std::min(bins - 1, static_cast<int>(confidence[i] * bins));
    conf_sum[b] += confidence[i];
    acc_sum[b] += gold[i] == predicted[i];
    count[b]++;
  }
  for (int b = 0; b < bins; ++b) {
    if (count[b]) r.ece += std::fabs(acc_sum[b] - conf_sum[b]) / std::max(1, r.n);
    CalibrationBin cb;
    cb.from = static_cast<double>(b) / bins;
    cb.to = static_cast<double>(b + 1) / bins;
    cb.count = count[b];
    if (count[b]) cb.confidence = conf_sum[b] / count[b], cb.accuracy = acc_sum[b] / count[b];
    r.calibration.push_back(cb);
  }
  return r;
}

double tempered_nll(const std::vector<std::vector<float>>& probabilities, const std::vector<int>& gold, double b) {
  if (probabilities.size() != gold.size() || gold.empty())
    throw std::invalid_argument("tempered_nll: no rows, or probabilities and gold differ in size");
  double sum = 0;
  std::vector<double> z;
  for (size_t i = 0; i < gold.size(); ++i) {
    const auto& p = probabilities[i];
    z.assign(p.size(), 0.0);
    double top = -INFINITY;
    for (size_t k = 0; k < p.size(); ++k) {
      z[k] = b * std::log(std::max(static_cast<double>(p[k]), 1e-30));
      top = std::max(top, z[k]);
    }
    double e = 0;
    for (double v : z) e += std::exp(v - top);
    sum += top + std::log(e) - z.at(static_cast<size_t>(gold[i]));
  }
  return sum / static_cast<double>(gold.size());
}

double fit_inverse_temperature(const std::vector<std::vector<float>>& probabilities, const std::vector<int>& gold) {
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double lo = -std::log(kMaxInverseTemperature), hi = std::log(kMaxInverseTemperature);
  const auto f = [&](double u) { return tempered_nll(probabilities, gold, std::exp(u)); };
  double a = hi - phi * (hi - lo), c = lo + phi * (hi - lo), fa = f(a), fc = f(c);
  for (int it = 0; it < 80; ++it) {
    if (fa < fc) {
      hi = c;
      c = a;
      fc = fa;
      a = hi - phi * (hi - lo);
      fa = f(a);
    } else {
      lo = a;
      a = c;
      fa = fc;
      c = lo + phi * (hi - lo);
      fc = f(c);
    }
  }
  return std::exp((lo + hi) / 2);
}

nlohmann::ordered_json report_json(const EvalReport& r) {
  nlohmann::ordered_json j;
  j["n"] = r.n;
  j["accuracy"] = r.accuracy;
  j["macro_f1"] = r.macro_f1;
  j["weighted_f1"] = r.weighted_f1;
  j["ece"] = r.ece;
  if (r.nll >= 0) j["nll"] = r.nll;
  if (r.non_label_generations >= 0) j["non_label_generations"] = r.non_label_generations;
  nlohmann::ordered_json pc = nlohmann::ordered_json::object();
  for (size_t k = 0; k < r.labels.size(); ++k)
    pc[r.labels[k]] = {{"precision", r.per_class[k].precision},
                       {"recall", r.per_class[k].recall},
                       {"f1", r.per_class[k].f1},
                       {"support", r.per_class[k].support}};
  j["per_class"] = pc;
  j["labels"] = r.labels;
  j["confusion"] = r.confusion;
  nlohmann::ordered_json bins = nlohmann::ordered_json::array();
  for (const auto& b : r.calibration)
    bins.push_back({{"from", b.from}, {"to", b.to}, {"count", b.count}, {"confidence", b.confidence},
                    {"accuracy", b.accuracy}});
  j["calibration"] = bins;
  return j;
}

std::string report_table(const EvalReport& r) {
  std::ostringstream o;
  char buf[256];
  std::snprintf(buf, sizeof buf, "n=%d  accuracy %.4f  macro-F1 %.4f  weighted-F1 %.4f  ECE %.4f", r.n,
                r.accuracy, r.macro_f1, r.weighted_f1, r.ece);
  o << buf;
  if (r.nll >= 0) {
    std::snprintf(buf, sizeof buf, "  NLL %.4f", r.nll);
    o << buf;
  }
  o << "\n";
  if (r.non_label_generations >= 0) o << "greedy generations that are not a label: " << r.non_label_generations << "\n";
  o << "\n";
  std::snprintf(buf, sizeof buf, "%-12s %9s %9s %9s %8s\n", "label", "precision", "recall", "f1", "support");
  o << buf;
  for (size_t k = 0; k < r.labels.size(); ++k) {
    std::snprintf(buf, sizeof buf, "%-12s %9.4f %9.4f %9.4f %8d\n", r.labels[k].c_str(), r.per_class[k].precision,
                  r.per_class[k].recall, r.per_class[k].f1, r.per_class[k].support);
    o << buf;
  }
  o << "\nconfusion (rows: gold, columns: predicted)\n";
  std::snprintf(buf, sizeof buf, "%-12s", "");
  o << buf;
  for (const auto& l : r.labels) {
    std::snprintf(buf, sizeof buf, " %8.8s", l.c_str());
    o << buf;
  }
  o << "\n";
  for (size_t k = 0; k < r.labels.size(); ++k) {
    std::snprintf(buf, sizeof buf, "%-12s", r.labels[k].c_str());
    o << buf;
    for (int v : r.confusion[k]) {
      std::snprintf(buf, sizeof buf, " %8d", v);
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

std::string confusion_svg(const EvalReport& r, const std::string& title) {
  const int K = static_cast<int>(r.labels.size()), cell = 64, left = 110, top = 90;
  const int W = left + K * cell + 20, H = top + K * cell + 60;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "accuracy %.4f, macro-F1 %.4f, n=%d", r.accuracy, r.macro_f1, r.n);
  o << "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n"
    << "<text x=\"10\" y=\"38\">" << buf << "</text>\n"
    << "<text x=\"" << left + K * cell / 2 << "\" y=\"" << top - 30 << "\" text-anchor=\"middle\">predicted</text>\n"
    << "<text x=\"20\" y=\"" << top + K * cell / 2 << "\" transform=\"rotate(-90 20 " << top + K * cell / 2
    << ")\" text-anchor=\"middle\">gold</text>\n";
  for (int k = 0; k < K; ++k) {
    o << "<text x=\"" << left + k * cell + cell / 2 << "\" y=\"" << top - 8 << "\" text-anchor=\"middle\">"
      << xml_escape(r.labels[static_cast<size_t>(k)]) << "</text>\n";
    o << "<text x=\"" << left - 8 << "\" y=\"" << top + k * cell + cell / 2 + 4 << "\" text-anchor=\"end\">"
      << xml_escape(r.labels[static_cast<size_t>(k)]) << "</text>\n";
  }
  for (int g = 0; g < K; ++g) {
    int row = 0;
    for (int v : r.confusion[static_cast<size_t>(g)]) row += v;
    for (int p = 0; p < K; ++p) {
      const int v = r.confusion[static_cast<size_t>(g)][static_cast<size_t>(p)];
      const double frac = row ? static_cast<double>(v) / row : 0.0;  // row-normalized shade
      const int shade = static_cast<int>(255 - 200 * frac);
      o << "<rect x=\"" << left + p * cell << "\" y=\"" << top + g * cell << "\" width=\"" << cell << "\" height=\""
        << cell << "\" fill=\"rgb(" << shade << "," << shade << ",255)\" stroke=\"#999\"/>\n";
      o << "<text x=\"" << left + p * cell + cell / 2 << "\" y=\"" << top + g * cell + cell / 2 + 4
        << "\" text-anchor=\"middle\" fill=\"" << (frac > 0.6 ? "white" : "black") << "\">" << v << "</text>\n";
    }
  }
  o << "<text x=\"10\" y=\"" << H - 15 << "\" fill=\"#555\">cells: counts; shade: share of the gold row</text>\n";
  o << "</svg>\n";
  return o.str();
}

std::string calibration_svg(const EvalReport& r, const std::string& title) {
  Chart c;
  c.title = title;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%d predictions; ECE %.4f; accuracy %.4f", r.n, r.ece, r.accuracy);
  c.subtitle = buf;
  c.x_title = "confidence of the predicted label (bins of " + std::to_string(r.calibration.size()) + ")";
  ChartPanel p;
  p.y_title = "accuracy";
  p.y_min = 0;
  p.y_max = 1;
  int most = 0;
  for (const auto& b : r.calibration) most = std::max(most, b.count);
  p.bars_note = "grey: predictions per bin (tallest " + std::to_string(most) + ")";
  ChartSeries acc{"accuracy in the bin", {}}, ideal{"perfect calibration", {}};
  for (const auto& b : r.calibration) {
    const double mid = (b.from + b.to) / 2;
    c.x.push_back(mid);
    std::snprintf(buf, sizeof buf, "%.2f", mid);
    c.x_labels.push_back(buf);
    acc.y.push_back(b.count ? b.accuracy : std::nan(""));
    ideal.y.push_back(mid);
    p.bars.push_back(b.count);
  }
  p.series = {acc, ideal};
  c.panels.push_back(std::move(p));
  return chart_svg(c);
}

}  // namespace emot5
