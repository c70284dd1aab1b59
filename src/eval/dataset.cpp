// Labeled data (see dataset.h).
#include "eval/dataset.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/csv.h"
#include "io/error.h"
#include "io/json_util.h"
#include "io/utf8.h"

namespace emot5 {

namespace {

// Resolves a label value (a word or an index) or returns an error text.
std::string resolve_label(const nlohmann::json& v, const std::vector<std::string>& labels, int* out) {
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == s) {
        *out = static_cast<int>(i);
        return "";
      }
    return "unknown label '" + s + "'";
  }
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (i >= 0 && i < static_cast<int64_t>(labels.size())) {
      *out = static_cast<int>(i);
      return "";
    }
    return "label index " + std::to_string(i) + " is out of range";
  }
  return "label is not a string or an integer";
}

std::string check_text(const std::string& text) {
  if (find_invalid_utf8(text) != std::string::npos) return "text is not valid UTF-8";
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return "empty text";
  return "";
}

}  // namespace

Dataset load_dataset(const std::string& path, const std::vector<std::string>& labels, const DatasetOptions& opt) {
  Dataset ds;
  ds.path = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  auto bad = [&](size_t line, const std::string& what) {
    ++ds.bad_rows;
    if (ds.bad_examples.size() < 10) ds.bad_examples.push_back(path + ":" + std::to_string(line) + ": " + what);
  };
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  if (csv) {
    std::vector<std::string> header, f;
    size_t line = 0;
    if (!read_csv_record(in, &header, &line, path)) throw Error(path + ": empty CSV file");
    size_t tc = SIZE_MAX, lc = SIZE_MAX;
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == opt.text_field) tc = i;
      if (header[i] == opt.label_field) lc = i;
    }
    if (tc == SIZE_MAX || lc == SIZE_MAX) {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "'" : ", '") + h + "'";
      throw Error(path + ":1: the header needs columns '" + opt.text_field + "' and '" + opt.label_field +
                  "' (it has " + names + "); name them with --text-field and --label-field");
    }
    while (true) {
      const size_t start = line + 1;
      try {
        if (!read_csv_record(in, &f, &line, path)) break;
      } catch (const Error& e) {
        bad(start, e.what());
        break;  // an unterminated quote swallows the rest of the file
      }
      if (f.size() == 1 && f[0].empty()) continue;
      if (f.size() != header.size()) {
        bad(start, std::to_string(f.size()) + " fields, the header has " + std::to_string(header.size()));
        continue;
      }
      LabeledText r{f[tc], 0, start};
      std::string err = check_text(r.text);
      if (err.empty()) {
        // A CSV label is text: a word, or digits meaning an index.
        const auto& lv = f[lc];
        const bool digits = !lv.empty() && lv.find_first_not_of("0123456789") == std::string::npos && lv.size() < 9;
        err = resolve_label(digits ? nlohmann::json(std::stoll(lv)) : nlohmann::json(lv), labels, &r.label);
      }
      if (!err.empty()) bad(start, err);
      else ds.rows.push_back(std::move(r));
    }
  } else {
    std::string s;
    size_t line = 0;
    while (std::getline(in, s)) {
      ++line;
      if (!s.empty() && s.back() == '\r') s.pop_back();
      if (s.find_first_not_of(" \t") == std::string::npos) continue;
      if (find_invalid_utf8(s) != std::string::npos) {
        bad(line, "not valid UTF-8");
        continue;
      }
      nlohmann::json j;
      try {
        j = parse_json_bounded(s);
      } catch (const nlohmann::json::exception&) {
        bad(line, "invalid JSON");
        continue;
      } catch (const JsonTooDeep& e) {
        bad(line, e.what());
        continue;
      }
      if (!j.is_object()) { bad(line, "not a JSON object"); continue; }
      if (!j.contains(opt.text_field) || !j[opt.text_field].is_string()) {
        bad(line, "missing string field '" + opt.text_field + "'");
        continue;
      }
      if (!j.contains(opt.label_field)) {
        bad(line, "missing field '" + opt.label_field + "'");
        continue;
      }
      LabeledText r{j[opt.text_field].get<std::string>(), 0, line};
      std::string err = check_text(r.text);
      if (err.empty()) err = resolve_label(j[opt.label_field], labels, &r.label);
      if (!err.empty()) bad(line, err);
      else ds.rows.push_back(std::move(r));
    }
  }
  if (ds.bad_rows > 0 && !opt.skip_bad_rows) {
    std::string msg = path + ": " + std::to_string(ds.bad_rows) + " bad row(s) (use --skip-bad-rows to skip them):";
    for (const auto& e : ds.bad_examples) msg += "\n  " + e;
    throw Error(msg);
  }
  if (ds.rows.empty()) throw Error(path + ": no usable rows");
  return ds;
}

}  // namespace emot5
