// CLI output (see output.h).
#include "apps/output.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
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

CLI::Validator svg_file() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        namespace fs = std::filesystem;
        std::string ext = fs::path(path).extension().string();
        for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (ext != ".svg")
          return "'" + path + "': plots are written as SVG, so the file name must end in .svg " +
                 "(rsvg-convert, from Debian's librsvg2-bin, turns one into PNG)";
        const fs::path dir = fs::path(path).parent_path();
        std::error_code ec;
        if (!dir.empty() && !fs::is_directory(dir, ec)) return "'" + path + "': no folder '" + dir.string() + "'";
        return {};
      },
      "FILE.svg");
}

std::string text_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
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
                                   bool generated, std::vector<std::string> kept, bool header)
    : out_(out), format_(format), labels_(std::move(labels)), generated_(generated), kept_(std::move(kept)) {
  if (!kept_.empty() && format_ == Format::Text) throw std::invalid_argument("--keep needs --format jsonl or csv");
  std::vector<std::string> own = {"text", "label", "scores", "generated", "truncated"};
  if (format_ == Format::Csv)
    for (const auto& l : labels_) own.push_back("p_" + l);
  for (size_t i = 0; i < kept_.size(); ++i) {
    if (std::find(own.begin(), own.end(), kept_[i]) != own.end())
      throw std::invalid_argument("--keep '" + kept_[i] + "' clashes with the output's own field of that name; carry it "
                                  "under another name with --keep " + kept_[i] + "=NAME");
    if (std::find(kept_.begin(), kept_.begin() + static_cast<ptrdiff_t>(i), kept_[i]) != kept_.begin() + static_cast<ptrdiff_t>(i))
      throw std::invalid_argument("--keep names '" + kept_[i] + "' twice");
  }
  if (format_ == Format::Csv && header) {
    for (const auto& k : kept_) out_ << csv_escape(k) << ',';
    out_ << "text,label";
    for (const auto& l : labels_) out_ << ',' << csv_escape("p_" + l);
    if (generated_) out_ << ",generated";
    out_ << '\n';
  }
}

void PredictionWriter::write(const std::string& text, const Prediction& p, const std::vector<nlohmann::json>& kept) {
  if (kept.size() != kept_.size())
    throw std::logic_error("PredictionWriter: " + std::to_string(kept.size()) + " kept values for " +
                           std::to_string(kept_.size()) + " fields");
  char buf[32];
  switch (format_) {
    case Format::Text:
      std::snprintf(buf, sizeof buf, "%.4f", static_cast<double>(p.probabilities[static_cast<size_t>(p.label_index)]));
      out_ << p.label << '\t' << buf << '\t' << text_escape(text) << '\n';
      break;
    case Format::Jsonl: {
      nlohmann::ordered_json j;
      for (size_t i = 0; i < kept_.size(); ++i) j[kept_[i]] = kept[i];
      j["text"] = text;
      j.update(prediction_json(p, labels_, generated_));
      out_ << j.dump() << '\n';
      break;
    }
    case Format::Csv:
      for (const auto& v : kept) out_ << csv_escape(v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump()) << ',';
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
