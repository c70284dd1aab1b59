// Parsing a JSON object with errors that name where it came from (a file, or FILE:LINE).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace emot5 {

// Throws emot5::Error "ORIGIN: malformed JSON: ..." or "ORIGIN: not a JSON object".
nlohmann::json parse_json_object(std::string_view text, const std::string& origin);

}  // namespace emot5
