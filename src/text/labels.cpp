// Label sets (see labels.h).
#include "text/labels.h"

#include <nlohmann/json.hpp>
#include <set>

#include "io/error.h"
#include "io/json_util.h"

namespace emot5 {

const std::vector<std::string>& default_emotion_labels() {
  static const std::vector<std::string> labels = {"sadness", "joy", "love", "anger", "fear", "surprise"};
  return labels;
}

bool LabelSet::single_token() const {
  for (const auto& t : tokens)
    if (t.size() != 1) return false;
  return true;
}

LabelSet load_label_set(const std::string& json_text, const std::string& origin, const Tokenizer& tok) {
  LabelSet ls;
  ls.names = default_emotion_labels();
  if (!json_text.empty()) {
    const nlohmann::json j = parse_json_object(json_text, origin);
    if (j.contains("labels")) {
      const auto& l = j["labels"];
      if (!l.is_array() || l.size() < 2) throw Error(origin + ": field 'labels' must be an array of at least 2 words");
      ls.names.clear();
      for (const auto& x : l) {
        if (!x.is_string() || x.get<std::string>().empty())
          throw Error(origin + ": field 'labels' holds a non-string or empty entry " + x.dump());
        ls.names.push_back(x.get<std::string>());
      }
      if (std::set<std::string>(ls.names.begin(), ls.names.end()).size() != ls.names.size())
        throw Error(origin + ": field 'labels' has duplicates");
    }
    if (j.contains("prefix")) {
      if (!j["prefix"].is_string()) throw Error(origin + ": field 'prefix' must be a string");
      ls.prefix = j["prefix"].get<std::string>();
    }
  }
  for (const auto& name : ls.names) {
    auto ids = tok.encode_plain(name);
    if (ids.empty()) throw Error(origin + ": label '" + name + "' tokenizes to nothing");
    ls.tokens.push_back(std::move(ids));
  }
  return ls;
}

std::string label_set_json(const std::vector<std::string>& names, const std::string& prefix) {
  nlohmann::ordered_json j;
  j["labels"] = names;
  j["prefix"] = prefix;
  return j.dump(2) + "\n";
}

}  // namespace emot5
