// What emot5 serve's routes read and answer, apart from HTTP's transport (apps/server.cpp):
//   TEI's classification API (text-embeddings-inference 1.9): POST /predict and POST /
//     {"inputs": "t" | ["t1", "t2"] | [["t1"], ["t2"]], "truncate": bool | null, "raw_scores": bool}
//     -> [{"label", "score"}, ...] sorted, highest first; a batch -> one such list per input
//   the Hugging Face Inference API's text classification: POST /hf and POST /models/{name}
//     {"inputs": "t" | ["t1", ...], "parameters": {"top_k": k, "function_to_apply": "softmax" | "none"}}
//     -> [[{"label", "score"}, ...], ...], one list per input (huggingface_hub's InferenceClient)
//   emot5's own: POST /classify {"text"} | {"texts"}, optional "generate": bool
//     -> a prediction | {"predictions": [...]}; with "generate": true (or serve --generate) each
//     prediction also holds "generated", the greedy generation's text
// Errors are TEI's body, {"error": "...", "error_type": "..."}, with TEI's status codes.
#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "emot5/emot5.h"

namespace emot5::app {

// An error answer: status, TEI's error_type ("validation", "tokenizer", "empty", "overloaded",
// "unhealthy", "backend", "auth") and the message.
struct ApiError : std::runtime_error {
  ApiError(int http_status, std::string error_type, const std::string& message)
      : std::runtime_error(message), status(http_status), type(std::move(error_type)) {}
  int status;
  std::string type;
};

// {"error": message, "error_type": type}; invalid UTF-8 quoted back becomes U+FFFD.
std::string error_body(const std::string& message, const std::string& type);

enum class ApiShape { Tei, Hf, Classify };

// One model request: its texts and how its answer is shaped.
struct ModelRequest {
  ApiShape shape = ApiShape::Tei;
  std::vector<std::string> texts;
  bool batch = false;       // answer one list (or prediction) per text, in a list
  bool raw_scores = false;  // scores are the labels' summed token log-probabilities
  bool truncate = true;     // false: a text over the token limit is refused with 413
  size_t top_k = 0;         // HF: entries per text (0: every label)
  bool generate = false;    // /classify: also run greedy generation ("generated" in the answer)
};

struct ApiLimits {
  size_t max_client_batch_size = 32;  // TEI and HF routes
  size_t max_texts = 1024;            // /classify
  bool auto_truncate = true;          // TEI's "truncate" when null or absent
  int max_input_tokens = 512;
};

// Each throws ApiError: 400 for malformed JSON or an empty batch, 413 for too many inputs, 422
// for a value of the wrong type or a text that cannot be read (not UTF-8).
ModelRequest parse_tei(std::string_view body, const ApiLimits& limits);
ModelRequest parse_hf(std::string_view body, const ApiLimits& limits);
ModelRequest parse_classify(std::string_view body, const ApiLimits& limits);

// The answer's JSON body for `preds` (one per text, in order). Throws ApiError 413 for a
// truncated text when the request said truncate: false.
std::string answer(const ModelRequest& req, const std::vector<Prediction>& preds, const std::vector<std::string>& labels,
                   bool generated, int max_input_tokens);

// GET /info's body.
struct ServerFacts {
  std::string model_dir, precision, version;
  std::vector<std::string> labels;
  size_t max_concurrent_requests = 0, passes = 0;
  int threads = 0;
  ApiLimits limits;
};
std::string info_body(const ServerFacts& facts);

// The page served on GET / (one file: its style and script inline, no network).
const std::string& page_html();

}  // namespace emot5::app
