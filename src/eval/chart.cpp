// SVG line charts (see chart.h).
#include "eval/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/error.h"
#include "io/json_util.h"

namespace emot5 {

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o.push_back(c);
  }
  return o;
}

namespace {

const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr int kLeft = 70, kRight = 190, kPlotW = 760, kPlotH = 300, kGap = 50, kTop = 60, kBottom = 80;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void panel_svg(std::ostringstream& o, const Chart& c, const ChartPanel& p, int top, bool last) {
  char buf[256];
  // The y range: given, or the data's; grid lines at a round step (1, 2 or 5 times a power of
  // ten) that the range is widened to.
  double lo = p.y_min, hi = p.y_max;
  if (hi <= lo) {
    lo = 1e300;
    hi = -1e300;
    for (const auto& s : p.series)
      for (double v : s.y)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (lo > hi) lo = 0, hi = 1;
    if (hi - lo < 1e-9) hi = lo + 1e-9;
  }
  const double raw = (hi - lo) / 8, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw - 1e-12 * mag) {
      step = m * mag;
      break;
    }
  lo = std::floor(lo / step + 1e-9) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
  const int lines = static_cast<int>(std::lround((hi - lo) / step));
  const double x0 = c.x.empty() ? 0 : c.x.front(), x1 = c.x.empty() ? 1 : c.x.back();
  auto X = [&](double x) { return x1 > x0 ? kLeft + kPlotW * (x - x0) / (x1 - x0) : kLeft + kPlotW / 2.0; };
  auto Y = [&](double y) { return top + kPlotH * (1 - (y - lo) / (hi - lo)); };
  const size_t n = c.x.size();

  if (!p.bars.empty()) {
    const double most = std::max(1e-300, *std::max_element(p.bars.begin(), p.bars.end()));
    const double w = std::max(1.0, (n <= 1 ? kPlotW : kPlotW / static_cast<double>(n - 1)) * 0.6);
    for (size_t i = 0; i < std::min(n, p.bars.size()); ++i) {
      const double h = kPlotH * 0.2 * p.bars[i] / most;
      // Centred on its x, cut at the plot's edges (the first and last bars are half bars).
      const double left = std::max<double>(kLeft, X(c.x[i]) - w / 2);
      const double right = std::min<double>(kLeft + kPlotW, X(c.x[i]) + w / 2);
      std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#eee\"/>\n",
                    left, top + kPlotH - h, std::max(0.0, right - left), h);
      o << buf;
    }
  }
  for (int g = 0; g <= lines; ++g) {  // grid and y labels
    const double v = lo + step * g;
    std::snprintf(buf, sizeof buf, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", kLeft, Y(v),
                  kLeft + kPlotW, Y(v));
    o << buf;
    const std::string label = p.percent ? number(std::round(1000 * v) / 10) + "%" : number(std::round(1e4 * v) / 1e4);
    std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", kLeft - 6, Y(v) + 4);
    o << buf << label << "</text>\n";
  }
  std::snprintf(buf, sizeof buf, "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">",
                top + kPlotH / 2, top + kPlotH / 2);
  o << buf << xml_escape(p.y_title) << "</text>\n";
  if (last) {  // x tick labels, at most about 12, the last one too unless it would overlap
    const size_t every = std::max<size_t>(1, (n + 11) / 12);
    for (size_t i = 0; i < n; ++i) {
      if (!(i % every == 0 || (i + 1 == n && i % every > every / 2))) continue;
      const std::string label = c.x_labels.empty() ? number(c.x[i]) : c.x_labels[i];
      std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" transform=\"rotate(-40 %.1f %d)\">",
                    X(c.x[i]), top + kPlotH + 16, X(c.x[i]), top + kPlotH + 16);
      o << buf << xml_escape(label) << "</text>\n";
    }
  }
  for (size_t k = 0; k < p.series.size(); ++k) {
    const char* color = kColors[k % (sizeof kColors / sizeof kColors[0])];
    const auto& y = p.series[k].y;
    std::string points;
    auto flush = [&] {
      if (!points.empty()) o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"" << points << "\"/>\n";
      points.clear();
    };
    for (size_t i = 0; i < std::min(n, y.size()); ++i) {
      if (!std::isfinite(y[i])) {
        flush();
        continue;
      }
      std::snprintf(buf, sizeof buf, "%s%.1f,%.1f", points.empty() ? "" : " ", X(c.x[i]), Y(y[i]));
      points += buf;
    }
    flush();
    const int ly = top + 10 + static_cast<int>(k) * 20;
    std::snprintf(buf, sizeof buf, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>\n", kLeft + kPlotW + 16,
                  ly - 4, color);
    o << buf << "<text x=\"" << kLeft + kPlotW + 36 << "\" y=\"" << ly << "\">" << xml_escape(p.series[k].name)
      << "</text>\n";
  }
  if (!p.bars_note.empty())
    o << "<text x=\"" << kLeft + kPlotW + 16 << "\" y=\"" << top + 10 + static_cast<int>(p.series.size()) * 20 + 6
      << "\" fill=\"#777\">" << xml_escape(p.bars_note) << "</text>\n";
  o << "<rect x=\"" << kLeft << "\" y=\"" << top << "\" width=\"" << kPlotW << "\" height=\"" << kPlotH
    << "\" fill=\"none\" stroke=\"#999\"/>\n";
}

}  // namespace

std::string chart_svg(const Chart& c) {
  std::vector<std::string> sub;  // the subtitle's lines
  for (size_t a = 0, b; a <= c.subtitle.size(); a = b + 1) {
    b = std::min(c.subtitle.find('\n', a), c.subtitle.size());
    sub.push_back(c.subtitle.substr(a, b - a));
  }
  const int panels = std::max<int>(1, static_cast<int>(c.panels.size()));
  const int top = kTop + 16 * (static_cast<int>(sub.size()) - 1);
  const int W = kLeft + kPlotW + kRight, H = top + panels * kPlotH + (panels - 1) * kGap + kBottom;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"10\" y=\"22\" font-size=\"14\" font-weight=\"bold\">" << xml_escape(c.title) << "</text>\n";
  for (size_t i = 0; i < sub.size(); ++i)
    o << "<text x=\"10\" y=\"" << 40 + 16 * static_cast<int>(i) << "\">" << xml_escape(sub[i]) << "</text>\n";
  for (size_t i = 0; i < c.panels.size(); ++i)
    panel_svg(o, c, c.panels[i], top + static_cast<int>(i) * (kPlotH + kGap), i + 1 == c.panels.size());
  if (!c.x_title.empty())
    o << "<text x=\"" << kLeft + kPlotW / 2 << "\" y=\"" << H - 8 << "\" text-anchor=\"middle\">" << xml_escape(c.x_title)
      << "</text>\n";
  o << "</svg>\n";
  return o.str();
}

std::string training_curves_svg(const std::string& metrics_path, const std::string& title) {
  std::ifstream in(metrics_path);
  if (!in) throw Error(metrics_path + ": cannot open");
  Chart c;
  c.title = title;
  c.subtitle = "from " + metrics_path + ": one point per evaluation (training loss: mean of the steps just before it)";
  c.x_title = "step";
  ChartPanel loss, scores;
  loss.y_title = "loss";
  scores.y_title = "validation";
  const std::vector<std::pair<std::string, std::string>> loss_fields = {{"train_loss", "training loss"},
                                                                        {"eval_loss", "validation loss"}};
  const std::vector<std::pair<std::string, std::string>> score_fields = {{"eval_accuracy", "accuracy"},
                                                                         {"eval_macro_f1", "macro-F1"}};
  for (const auto& [key, name] : loss_fields) loss.series.push_back({name, {}});
  for (const auto& [key, name] : score_fields) scores.series.push_back({name, {}});
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j;
    try {
      j = parse_json_bounded(line);
    } catch (const std::exception&) {
      continue;  // not a line of the log
    }
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number()) continue;  // not an evaluation
    if (j.contains("average_of_epochs")) {  // the weight average at the end: a note, not a point
      char note[160];
      std::snprintf(note, sizeof note, "\nweight average of %d epochs: accuracy %.4f, macro-F1 %.4f",
                    j["average_of_epochs"].is_number() ? j["average_of_epochs"].get<int>() : 0,
                    j.value("eval_accuracy", std::nan("")), j.value("eval_macro_f1", std::nan("")));
      c.subtitle += note;
      continue;
    }
    c.x.push_back(j["step"].get<double>());
    auto take = [&](ChartPanel& p, const std::vector<std::pair<std::string, std::string>>& fields) {
      for (size_t k = 0; k < fields.size(); ++k)
        p.series[k].y.push_back(j.contains(fields[k].first) && j[fields[k].first].is_number() ? j[fields[k].first].get<double>() : std::nan(""));
    };
    take(loss, loss_fields);
    // Logs written before the trainer stopped doing so hold a training loss of 0 at the last step
    // (no step averaged since the last reset): not a loss.
    if (loss.series[0].y.back() == 0.0) loss.series[0].y.back() = std::nan("");
    take(scores, score_fields);
  }
  if (c.x.empty()) throw Error(metrics_path + ": no evaluations (lines with a \"step\")");
  for (auto* p : {&loss, &scores})  // drop series the run does not log
    std::erase_if(p->series, [](const ChartSeries& s) {
      return std::none_of(s.y.begin(), s.y.end(), [](double v) { return std::isfinite(v); });
    });
  for (auto* p : {&loss, &scores})
    if (!p->series.empty()) c.panels.push_back(std::move(*p));
  return chart_svg(c);
}

}  // namespace emot5
