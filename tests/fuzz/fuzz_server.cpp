// The server's request handling, from body to response, for every route that reads a body (TEI,
// HF, /classify): any body gives a JSON answer or an ApiError with a 4xx status.
#include <cstdlib>

#include "apps/http_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace emot5;
  using namespace emot5::app;
  static const std::vector<std::string> labels = {"sadness", "joy", "love", "anger", "fear", "surprise"};
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ApiLimits limits;
  limits.max_client_batch_size = 8;
  for (auto parse : {&parse_tei, &parse_hf, &parse_classify}) {
    try {
      const ModelRequest req = parse(body, limits);
      std::vector<Prediction> preds(req.texts.size());
      for (size_t i = 0; i < preds.size(); ++i) {
        preds[i].probabilities.assign(labels.size(), 1.0f / 6);
        preds[i].log_probs.assign(labels.size(), -1.7917594692280550);
        preds[i].label = labels[0];
        preds[i].truncated = req.texts[i].size() > 64;
      }
      (void)answer(req, preds, labels, true, 512);
    } catch (const ApiError& e) {
      if (e.status < 400 || e.status >= 500) std::abort();
    }
  }
  return 0;
}
