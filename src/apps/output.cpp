// CLI output (see output.h).
#include "apps/output.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "io/csv.h"

namespace emot5::app {

Format parse_format(const std::string& s) {
  if (s == "text") return Format::Text;
  if (s == "jsonl") return Format::Jsonl;
  if (s == "csv") return Format::Csv;
  throw std::invalid_argument("--format must be text, jsonl or csv, not '" + s + "'");
}

nlohmann::ordered_json prediction_json(const Prediction& p, const std::vector<std::string>& labels, bool generated) {
  nlohmann::ordered_json j;
  j["label"] = p.label;
  nlohmann::ordered_json scores = nlohmann::ordered_json::object();
  for (size_t i = 0; i < labels.size(); ++i) scores[labels[i]] = p.probabilities[i];
  j["scores"] = scores;
  if (generated) j["generated"] = p.generated;
  if (p.truncated) j["truncated"] = true;
  return j;
}

PredictionWriter::PredictionWriter(std::ostream& out, Format format, std::vector<std::string> labels,
                                   bool generated)
    : out_(out), format_(format), labels_(std::move(labels)), generated_(generated) {
  if (format_ == Format::Csv) {
    out_ << "text,label";
    for (const auto& l : labels_) out_ << ',' << csv_escape("p_" + l);
    if (generated_) out_ << ",generated";
    out_ << '\n';
  }
}

void PredictionWriter::write(const std::string& text, const Prediction& p) {
  char buf[32];
  switch (format_) {
    case Format::Text:
      std::snprintf(buf, sizeof buf, "%.4f", static_cast<double>(p.probabilities[static_cast<size_t>(p.label_index)]));
      out_ << p.label << '\t' << buf << '\t' << text << '\n';
      break;
    case Format::Jsonl: {
      nlohmann::ordered_json j;
      j["text"] = text;
      j.update(prediction_json(p, labels_, generated_));
      out_ << j.dump() << '\n';
      break;
    }
    case Format::Csv:
      out_ << csv_escape(text) << ',' << csv_escape(p.label);
      for (float v : p.probabilities) {
        std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v));
        out_ << ',' << buf;
      }
      if (generated_) out_ << ',' << csv_escape(p.generated);
      out_ << '\n';
      break;
  }
}

}  // namespace emot5::app
