// JSON helpers (see json_util.h).
#include "io/json_util.h"

#include "io/error.h"

namespace emot5 {

nlohmann::json parse_json_bounded(std::string_view text) {
  using Event = nlohmann::json::parse_event_t;
  const auto bound = [](int depth, Event event, nlohmann::json&) {
    if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxJsonDepth)
      throw JsonTooDeep("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return true;
  };
  return nlohmann::json::parse(text, bound);
}

nlohmann::json parse_json_object(std::string_view text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = parse_json_bounded(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(origin + ": malformed JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw Error(origin + ": " + e.what());
  }
  if (!j.is_object()) throw Error(origin + ": not a JSON object");
  return j;
}

}  // namespace emot5
