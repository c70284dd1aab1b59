// Where the CLI's texts come from: arguments, stdin lines, or a .txt / .jsonl / .csv file,
// read as a stream so that millions of rows never sit in memory at once. Every error names the
// file and line.
#pragma once
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/error.h"

namespace emot5::app {

struct InputSpec {
  std::vector<std::string> args;  // texts given on the command line
  std::string file;               // --input; "-" or empty with no args: stdin
  // "txt", "jsonl" or "csv"; "auto": by the file's extension (.jsonl/.ndjson, .csv, else lines),
  // and lines for stdin.
  std::string format = "auto";
  std::string text_field = "text";  // the jsonl field or csv column (a header name) of the text
  // A second field read with each text (jsonl field or csv column; a JSON number is read as its
  // text), e.g. a timestamp; empty: none. Only for .jsonl and .csv files.
  std::string extra_field;
  // Fields (jsonl) or columns (csv) carried through to the output with each text, such as an id.
  std::vector<std::string> keep_fields;
  // A row that cannot be read (not UTF-8, malformed JSON or CSV, a missing field) is skipped and
  // counted instead of stopping the run. Files that cannot be opened still stop it.
  bool skip_bad_rows = false;
};

struct InputRow {
  std::string text;
  size_t line = 0;  // 1-based line where the row starts (0 for arguments)
  std::string extra;  // InputSpec::extra_field's value
  // InputSpec::keep_fields' values: as in the JSON line (null where the line lacks the field),
  // or the CSV cell as a string.
  std::vector<nlohmann::json> kept;
};

class TextReader {
 public:
  virtual ~TextReader() = default;
  // Fills `row`; returns false at the end. Throws emot5::Error "FILE:LINE: problem".
  virtual bool next(InputRow* row) = 0;
  virtual const std::string& name() const = 0;
  // Rows expected, when cheap to know (for the progress bar); 0 when unknown.
  virtual size_t size_hint() const { return 0; }
  // With InputSpec::skip_bad_rows: the rows skipped so far, and the first one's error.
  size_t bad_rows() const { return bad_rows_; }
  const std::string& first_bad_row() const { return first_bad_; }

 protected:
  // A row skipped with --skip-bad-rows: counted, and the first one's error kept.
  void note_bad_row(const std::exception& e) {
    if (bad_rows_++ == 0) first_bad_ = e.what();
  }
  size_t bad_rows_ = 0;
  std::string first_bad_;
};

// A row that cannot be read: skipped with --skip-bad-rows, else it stops the run.
struct BadRow : Error {
  using Error::Error;
};

std::unique_ptr<TextReader> open_reader(const InputSpec& spec);

// The next `n` rows (fewer at the end) into `rows`, replacing what it held; false when none is left.
// Commands classify a stream chunk by chunk so that memory stays flat however long the input.
bool read_rows(TextReader& reader, size_t n, std::vector<InputRow>* rows);
// Rows per chunk for a classifier's batch size and threads: several batches, so that length
// sorting pays, and 8 batches a thread, so that the threads' lanes (classify_batch) seldom wait
// for one another at a chunk's end.
size_t rows_per_chunk(int batch_size, int threads);

}  // namespace emot5::app
