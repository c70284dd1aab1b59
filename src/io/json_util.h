// Parsing JSON from outside bytes: nesting bounded (a deeply nested value would otherwise recurse
// through every later copy, dump and destructor), errors that name where it came from.
#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace emot5 {

// The deepest nesting of objects and arrays accepted in any JSON emot5 reads.
inline constexpr int kMaxJsonDepth = 64;

struct JsonTooDeep : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nlohmann::json::parse with nesting bounded at kMaxJsonDepth: throws nlohmann::json::exception
// (parse_error for malformed text, out_of_range for a number like 1e999) and JsonTooDeep beyond the bound.
nlohmann::json parse_json_bounded(std::string_view text);

// Throws emot5::Error "ORIGIN: malformed JSON: ...", "ORIGIN: JSON nested deeper than 64 levels"
// or "ORIGIN: not a JSON object".
nlohmann::json parse_json_object(std::string_view text, const std::string& origin);

}  // namespace emot5
