// Text readers for the CLI (see input.h).
#include "apps/input.h"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "io/csv.h"
#include "io/error.h"
#include "io/json_util.h"
#include "io/utf8.h"

namespace emot5::app {

namespace {

std::string lower_ext(const std::string& path) {
  const auto dot = path.rfind('.');
  if (dot == std::string::npos) return "";
  std::string e = path.substr(dot + 1);
  for (auto& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return e;
}

void check_utf8(const std::string& s, const std::string& name, size_t line) {
  const size_t bad = find_invalid_utf8(s);
  if (bad != std::string::npos)
    throw BadRow(name + ":" + std::to_string(line) + ": text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
}

// The header's names, for an error that says which columns there are.
std::string columns_of(const std::vector<std::string>& header) {
  std::string out;
  for (const auto& h : header) out += (out.empty() ? "" : ", ") + ("'" + h + "'");
  return "(the header has " + out + ")";
}

size_t count_lines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  size_t n = 0;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    for (std::streamsize i = 0; i < f.gcount(); ++i) n += buf[i] == '\n';
    if (!f) break;
  }
  return n;
}

class ArgsReader : public TextReader {
 public:
  explicit ArgsReader(std::vector<std::string> args) : args_(std::move(args)) {}
  bool next(InputRow* row) override {
    if (i_ >= args_.size()) return false;
    row->text = args_[i_++];
    row->line = i_;
    check_utf8(row->text, name_, row->line);
    return true;
  }
  const std::string& name() const override { return name_; }
  size_t size_hint() const override { return args_.size(); }

 private:
  std::vector<std::string> args_;
  size_t i_ = 0;
  std::string name_ = "argument";
};

// Opens `path`, or stdin for "-"; strips a trailing '\r' so CRLF files read as LF.
class LineSource {
 public:
  explicit LineSource(const std::string& path) : name_(path == "-" ? "<stdin>" : path) {
    if (path != "-") {
      file_.open(path, std::ios::binary);
      if (!file_) throw Error(path + ": cannot open");
      in_ = &file_;
      hint_ = count_lines(path);
    }
  }
  bool getline(std::string* s, size_t* line) {
    if (!std::getline(*in_, *s)) {
      if (in_->bad()) throw Error(name_ + ": read error");
      return false;
    }
    *line = ++line_;
    if (line_ == 1 && s->compare(0, 3, "\xEF\xBB\xBF") == 0) s->erase(0, 3);  // a byte-order mark
    if (!s->empty() && s->back() == '\r') s->pop_back();
    return true;
  }
  std::istream& stream() { return *in_; }
  const std::string& name() const { return name_; }
  size_t hint() const { return hint_; }
  size_t* line_ptr() { return &line_; }

 private:
  std::string name_;
  std::ifstream file_;
  std::istream* in_ = &std::cin;
  size_t line_ = 0, hint_ = 0;
};

class TxtReader : public TextReader {
 public:
  TxtReader(const std::string& path, bool skip) : src_(path), skip_(skip) {}
  bool next(InputRow* row) override {
    for (;;) {
      if (!src_.getline(&row->text, &row->line)) return false;
      try {
        check_utf8(row->text, src_.name(), row->line);
        return true;
      } catch (const BadRow& e) {
        if (!skip_) throw;
        note_bad_row(e);
      }
    }
  }
  const std::string& name() const override { return src_.name(); }
  size_t size_hint() const override { return src_.hint(); }

 private:
  LineSource src_;
  bool skip_ = false;
};

class JsonlReader : public TextReader {
 public:
  JsonlReader(const std::string& path, std::string field, std::string extra, std::vector<std::string> keep, bool skip)
      : src_(path), field_(std::move(field)), extra_(std::move(extra)), keep_(std::move(keep)), skip_(skip) {}
  bool next(InputRow* row) override {
    for (;;) {
      std::string s;
      size_t line;
      do {
        if (!src_.getline(&s, &line)) return false;
      } while (s.find_first_not_of(" \t") == std::string::npos);  // blank lines are not rows
      try {
        read_row(s, line, row);
        return true;
      } catch (const BadRow& e) {
        if (!skip_) throw;
        note_bad_row(e);
      }
    }
  }

 private:
  void read_row(const std::string& s, size_t line, InputRow* row) {
    const std::string where = src_.name() + ":" + std::to_string(line);
    check_utf8(s, src_.name(), line);
    nlohmann::json j;
    try {
      j = parse_json_object(s, where);
    } catch (const Error& e) {
      throw BadRow(e.what());
    }
    auto it = j.find(field_);
    if (it == j.end()) throw BadRow(where + ": missing field '" + field_ + "'");
    if (!it->is_string()) throw BadRow(where + ": field '" + field_ + "' is not a string");
    row->text = it->get<std::string>();
    row->line = line;
    if (!extra_.empty()) {
      const auto e = j.find(extra_);
      if (e == j.end()) throw BadRow(where + ": missing field '" + extra_ + "'");
      if (e->is_string())
        row->extra = e->get<std::string>();
      else if (e->is_number())
        row->extra = e->dump();
      else
        throw BadRow(where + ": field '" + extra_ + "' is neither a string nor a number");
    }
    row->kept.clear();
    for (const auto& k : keep_) {
      const auto v = j.find(k);
      row->kept.push_back(v == j.end() ? nlohmann::json(nullptr) : *v);
    }
  }

 public:
  const std::string& name() const override { return src_.name(); }
  size_t size_hint() const override { return src_.hint(); }

 private:
  LineSource src_;
  std::string field_, extra_;
  std::vector<std::string> keep_;
  bool skip_ = false;
};

class CsvReader : public TextReader {
 public:
  CsvReader(const std::string& path, const std::string& column, const std::string& extra,
            const std::vector<std::string>& keep, bool skip)
      : src_(path), skip_(skip) {
    std::vector<std::string> header;
    size_t line = 0;
    if (!read_csv_record(src_.stream(), &header, &line, src_.name()))
      throw Error(src_.name() + ": empty CSV file (a header row is needed)");
    line_ = line;
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == column) col_ = i;
    if (col_ == SIZE_MAX)
      throw Error(src_.name() + ":1: no column named '" + column + "' for the text " + columns_of(header) +
                  "; name it with --text-field");
    if (!extra.empty()) {
      for (size_t i = 0; i < header.size(); ++i)
        if (header[i] == extra) extra_col_ = i;
      if (extra_col_ == SIZE_MAX) throw Error(src_.name() + ":1: no column named '" + extra + "' " + columns_of(header));
    }
    for (const auto& k : keep) {
      const auto at = std::find(header.begin(), header.end(), k);
      if (at == header.end()) throw Error(src_.name() + ":1: no column named '" + k + "' (--keep) " + columns_of(header));
      keep_cols_.push_back(static_cast<size_t>(at - header.begin()));
    }
    ncols_ = header.size();
  }
  bool next(InputRow* row) override {
    for (;;) {
      std::vector<std::string> f;
      size_t start;
      do {
        start = line_ + 1;
        try {
          if (!read_csv_record(src_.stream(), &f, &line_, src_.name())) return false;
        } catch (const Error& e) {  // an unterminated quote swallows the rest of the file
          if (!skip_) throw BadRow(e.what());
          note_bad_row(e);
          return false;
        }
      } while (f.size() == 1 && f[0].empty());  // blank line
      try {
        read_row(f, start, row);
        return true;
      } catch (const BadRow& e) {
        if (!skip_) throw;
        note_bad_row(e);
      }
    }
  }

 private:
  void read_row(std::vector<std::string>& f, size_t start, InputRow* row) {
    const std::string where = src_.name() + ":" + std::to_string(start);
    if (f.size() != ncols_)
      throw BadRow(where + ": " + std::to_string(f.size()) + " fields, the header has " + std::to_string(ncols_));
    check_utf8(f[col_], src_.name(), start);
    for (size_t c : keep_cols_) check_utf8(f[c], src_.name(), start);
    if (extra_col_ != SIZE_MAX) row->extra = f[extra_col_];  // a copy: it may be the text column
    row->kept.clear();
    for (size_t c : keep_cols_) row->kept.emplace_back(f[c]);
    row->text = std::move(f[col_]);
    row->line = start;
  }

 public:
  const std::string& name() const override { return src_.name(); }
  size_t size_hint() const override { return src_.hint() > 0 ? src_.hint() - 1 : 0; }

 private:
  LineSource src_;
  size_t col_ = SIZE_MAX, extra_col_ = SIZE_MAX, ncols_ = 0, line_ = 0;
  std::vector<size_t> keep_cols_;
  bool skip_ = false;
};

}  // namespace

std::unique_ptr<TextReader> open_reader(const InputSpec& spec) {
  const std::string path = spec.file.empty() ? "-" : spec.file;
  std::string kind = spec.format;
  if (kind == "auto") {
    const std::string ext = lower_ext(path);
    kind = ext == "jsonl" || ext == "ndjson" ? "jsonl" : ext == "csv" ? "csv" : "txt";
  }
  if (kind != "txt" && kind != "jsonl" && kind != "csv")
    throw std::invalid_argument("--input-format must be auto, txt, jsonl or csv, not '" + spec.format + "'");
  const bool fields = kind == "jsonl" || kind == "csv";
  if (!spec.args.empty()) {
    if (!spec.file.empty()) throw std::invalid_argument("give texts as arguments or --input, not both");
    if (!spec.keep_fields.empty()) throw std::invalid_argument("--keep needs .jsonl or .csv input");
    if (!spec.extra_field.empty())
      throw std::invalid_argument("field '" + spec.extra_field + "' needs a .jsonl or .csv --input");
    return std::make_unique<ArgsReader>(spec.args);
  }
  if (!fields && !spec.keep_fields.empty())
    throw std::invalid_argument("--keep needs .jsonl or .csv input (" + path + " is read as lines of text; see --input-format)");
  if (!fields && !spec.extra_field.empty())
    throw std::invalid_argument("field '" + spec.extra_field + "' needs .jsonl or .csv input, not " + path +
                                " (see --input-format)");
  if (kind == "jsonl")
    return std::make_unique<JsonlReader>(path, spec.text_field, spec.extra_field, spec.keep_fields, spec.skip_bad_rows);
  if (kind == "csv")
    return std::make_unique<CsvReader>(path, spec.text_field, spec.extra_field, spec.keep_fields, spec.skip_bad_rows);
  return std::make_unique<TxtReader>(path, spec.skip_bad_rows);
}

bool read_rows(TextReader& reader, size_t n, std::vector<InputRow>* rows) {
  rows->clear();
  InputRow row;
  while (rows->size() < n && reader.next(&row)) rows->push_back(std::move(row));
  return !rows->empty();
}

size_t rows_per_chunk(int batch_size, int threads) {
  return std::max<size_t>(256, static_cast<size_t>(batch_size) * 8 * static_cast<size_t>(std::max(1, threads)));
}

}  // namespace emot5::app
