// UTF-8 validation, so that a bad byte is reported with its position instead of crashing a
// JSON writer or the tokenizer.
#pragma once
#include <string_view>

namespace emot5 {

// Returns the byte offset of the first invalid sequence, or npos when `s` is valid UTF-8
// (overlongs, surrogates and code points past U+10FFFF are invalid).
size_t find_invalid_utf8(std::string_view s);

}  // namespace emot5
