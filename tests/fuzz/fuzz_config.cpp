// config.json and emot5.json: any bytes give a config and a label set, or an emot5::Error.
#include <cstring>

#include "io/config.h"
#include "io/error.h"
#include "text/labels.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace emot5;
  static const Tokenizer tok(std::string(EMOT5_TEST_DATA) + "/spiece.model");
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)parse_t5_config(text, "config.json");
  } catch (const Error&) {
  }
  try {
    (void)load_label_set(text, "emot5.json", tok);
  } catch (const Error&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
