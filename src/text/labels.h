// The label set of a classifier: label words and their token ids, from emot5.json in the model
// directory ({"labels": [...], "prefix": "..."}), or the six emotions of dair-ai/emotion.
#pragma once
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace emot5 {

struct LabelSet {
  std::vector<std::string> names;
  std::vector<std::vector<int>> tokens;  // each label's ids, without eos
  std::string prefix;                    // prepended to every input text
  bool single_token() const;
};

const std::vector<std::string>& default_emotion_labels();

// `json_text` is emot5.json's content (empty: defaults); `origin` names it in errors.
LabelSet load_label_set(const std::string& json_text, const std::string& origin, const Tokenizer& tok);
// The emot5.json text for `names` and `prefix`.
std::string label_set_json(const std::vector<std::string>& names, const std::string& prefix);

}  // namespace emot5
