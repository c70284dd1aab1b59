// RFC 4180 CSV: one record at a time from a stream; quoted fields may hold commas, quotes ("")
// and newlines. Used by the CLI's readers and the trainer's data loader; csv_escape for writers.
#pragma once
#include <istream>
#include <string>
#include <vector>

namespace emot5 {

// Reads one record into `fields`; `line` counts the lines consumed (1-based after the call).
// Returns false at end of input. Throws emot5::Error "NAME:LINE: ..." on an unterminated quote
// or text after a closing quote.
bool read_csv_record(std::istream& in, std::vector<std::string>* fields, size_t* line, const std::string& name);

// `s` as one CSV field: quoted (with quotes doubled) when it holds a comma, quote or line break.
std::string csv_escape(const std::string& s);

}  // namespace emot5
