// trends' timestamps: any text gives seconds whose period keys round-trip, or std::invalid_argument.
#include <cstdlib>
#include <stdexcept>

#include "eval/trends.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace emot5;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int64_t unit : {int64_t{1}, int64_t{1000}, int64_t{1000000000}}) {
    try {
      const int64_t s = parse_timestamp(text, unit);
      for (Period p : {Period::Day, Period::Week, Period::Month, Period::Year}) {
        const std::string key = period_key(s, p);
        if (key.empty()) std::abort();
        (void)next_period_key(key, p);
      }
    } catch (const std::invalid_argument&) {
    }
  }
  return 0;
}
