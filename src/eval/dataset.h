// Labeled data for training and evaluation: JSON lines or CSV with a text and a label field.
// A bad row (invalid JSON or CSV, a missing field, an unknown label, an empty text, invalid
// UTF-8) is reported with its file and line; with skip_bad_rows it is skipped and counted.
#pragma once
#include <string>
#include <vector>

namespace emot5 {

struct LabeledText {
  std::string text;
  int label = 0;     // index into the label list
  size_t line = 0;   // 1-based line of the file where the row starts
};

struct DatasetOptions {
  std::string text_field = "text";
  std::string label_field = "label";
  bool skip_bad_rows = false;
};

struct Dataset {
  std::string path;
  std::vector<LabeledText> rows;
  size_t bad_rows = 0;
  std::vector<std::string> bad_examples;  // the first few problems, "FILE:LINE: what"
};

// Labels may be words from `labels` or integer indexes into it. Throws emot5::Error listing the
// first bad rows when there are any and skip_bad_rows is false, or when no row is usable.
Dataset load_dataset(const std::string& path, const std::vector<std::string>& labels, const DatasetOptions& opt);

}  // namespace emot5
