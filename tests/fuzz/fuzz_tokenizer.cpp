// The tokenizer on arbitrary bytes: ids within the vocabulary ending in eos, at most max_length of
// them, or an emot5::Error for text that is not UTF-8.
#include <cstdlib>

#include "io/error.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace emot5;
  static const Tokenizer fast(std::string(EMOT5_TEST_DATA) + "/spiece.model");
  static const Tokenizer slow(std::string(EMOT5_TEST_DATA) + "/spiece.model", 100, TokenizerMode::HfSlow);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const Tokenizer* t : {&fast, &slow}) {
    for (int max_length : {0, 16, 512}) {
      try {
        const auto ids = t->encode(text, max_length);
        if (ids.empty() || ids.back() != t->eos_id()) std::abort();
        if (max_length > 0 && ids.size() > static_cast<size_t>(max_length)) std::abort();
        for (int id : ids)
          if (id < 0 || id >= t->vocab_size()) std::abort();
      } catch (const Error&) {
      }
    }
  }
  return 0;
}
