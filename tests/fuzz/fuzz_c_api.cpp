// The C interface's classify on arbitrary texts (the input split at NUL bytes): labels and
// probabilities, or -1 with a message, never an abort.
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "emot5/emot5_c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static emot5_classifier* clf = [] {
    char err[512];
    emot5_options o = emot5_default_options();
    o.threads = 1;
    o.max_input_tokens = 64;
    auto* c = emot5_load((std::string(EMOT5_TEST_DATA) + "/tiny-v11-untied-f32").c_str(), &o, err, sizeof err);
    if (!c) std::abort();
    return c;
  }();
  std::vector<std::string> texts(1);
  for (size_t i = 0; i < size && texts.size() <= 16; ++i) {
    if (data[i] == 0)
      texts.emplace_back();
    else
      texts.back().push_back(static_cast<char>(data[i]));
  }
  std::vector<const char*> ptrs;
  for (const auto& t : texts) ptrs.push_back(t.c_str());
  std::vector<int> labels(texts.size());
  std::vector<float> probs(texts.size() * static_cast<size_t>(emot5_num_labels(clf)));
  std::vector<int> truncated(texts.size());
  char err[512];
  const int rc = emot5_classify(clf, ptrs.data(), ptrs.size(), labels.data(), probs.data(), truncated.data(), err, sizeof err);
  if (rc == 0)
    for (float p : probs)
      if (!(p >= 0.0f && p <= 1.0f) || std::isnan(p)) std::abort();
  return 0;
}
