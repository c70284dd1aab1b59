// RFC 4180 CSV records (see csv.h).
#include "io/csv.h"

#include "io/error.h"

namespace emot5 {

bool read_csv_record(std::istream& in, std::vector<std::string>* fields, size_t* line, const std::string& name) {
  fields->clear();
  std::string field;
  bool quoted = false, any = false, was_quoted = false;
  const size_t start = *line + 1;
  if (*line == 0) {  // a UTF-8 byte-order mark (Excel's "CSV UTF-8") is not part of the first name
    static const char kBom[] = "\xEF\xBB\xBF";
    size_t k = 0;
    while (k < 3 && in.peek() == static_cast<unsigned char>(kBom[k])) {
      in.get();
      ++k;
    }
    if (k > 0 && k < 3) field.assign(kBom, k);  // not a mark after all: keep its bytes
  }
  int c;
  while ((c = in.get()) != EOF) {
    any = true;
    const char ch = static_cast<char>(c);
    if (quoted) {
      if (ch == '"') {
        if (in.peek() == '"') {
          field.push_back('"');
          in.get();
        } else {
          quoted = false;
        }
      } else {
        if (ch == '\n') ++*line;
        field.push_back(ch);
      }
      continue;
    }
    if (ch == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (ch == ',') {
      fields->push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (ch == '\n') {
      ++*line;
      if (!field.empty() && field.back() == '\r' && !was_quoted) field.pop_back();
      fields->push_back(std::move(field));
      return true;
    } else if (ch == '\r' && was_quoted) {
      // CR after a closing quote: part of CRLF
    } else {
      if (was_quoted) throw Error(name + ":" + std::to_string(*line + 1) + ": text after a closing quote");
      field.push_back(ch);
    }
  }
  if (quoted) throw Error(name + ":" + std::to_string(start) + ": unterminated quoted field");
  if (!any) return false;
  ++*line;
  fields->push_back(std::move(field));
  return true;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o.push_back('"');
    o.push_back(c);
  }
  return o + "\"";
}

}  // namespace emot5
