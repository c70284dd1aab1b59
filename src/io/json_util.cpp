// JSON helpers (see json_util.h).
#include "io/json_util.h"

#include "io/error.h"

namespace emot5 {

nlohmann::json parse_json_object(std::string_view text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(origin + ": malformed JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(origin + ": not a JSON object");
  return j;
}

}  // namespace emot5
