// Line charts as SVG, for results people would rather look at than read: trends over time and
// training curves. Panels are stacked and share the x axis; each has its own y range.
#pragma once
#include <string>
#include <vector>

namespace emot5 {

struct ChartSeries {
  std::string name;
  std::vector<double> y;  // one per x; NaN: no point (the line breaks there)
};

struct ChartPanel {
  std::string y_title;
  std::vector<ChartSeries> series;
  double y_min = 0, y_max = 0;  // y_max <= y_min: from the data; either way widened to round grid steps
  bool percent = false;         // y tick labels as percentages
  std::vector<double> bars;     // optional grey bars per x (e.g. counts), scaled into the bottom fifth
  std::string bars_note;        // what the bars are, for the caption
};

struct Chart {
  std::string title, subtitle;
  std::vector<double> x;              // increasing positions
  std::vector<std::string> x_labels;  // tick labels, one per x; empty: the x values as numbers
  std::string x_title;
  std::vector<ChartPanel> panels;
};

std::string chart_svg(const Chart& c);

// A training run's curves from its metrics.jsonl (emot5 train's metrics log): training and
// validation losses above, validation accuracy and macro-F1 below, by step. Throws emot5::Error
// when the file cannot be read or holds no evaluation.
std::string training_curves_svg(const std::string& metrics_path, const std::string& title);

// s with < > & " escaped, for SVG text and attributes.
std::string xml_escape(const std::string& s);

}  // namespace emot5
