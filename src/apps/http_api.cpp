// The routes' bodies (see http_api.h).
#include "apps/http_api.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "apps/output.h"
#include "io/json_util.h"
#include "io/utf8.h"

namespace emot5::app {

namespace {

using Json = nlohmann::json;

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// The body as a JSON object. A body that is not UTF-8, or a string escape that is not a
// character (a lone surrogate), is a text that cannot be read: 422, as TEI's tokenizer errors.
Json parse_object(std::string_view body) {
  if (body.empty()) throw ApiError(400, "validation", "the body is empty: expected a JSON object");
  if (const size_t at = find_invalid_utf8(body); at != std::string_view::npos)
    throw ApiError(422, "tokenizer", "the body is not valid UTF-8 (at byte " + std::to_string(at) + ")");
  Json j;
  try {
    j = parse_json_bounded(body);
  } catch (const JsonTooDeep& e) {
    throw ApiError(422, "validation", e.what());
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    const std::string what = e.what();
    if (what.find("surrogate") != std::string::npos || what.find("UTF") != std::string::npos)
      throw ApiError(422, "tokenizer", "a text cannot be read: " + what);
    throw ApiError(400, "validation", "malformed JSON: " + what);
  }
  if (!j.is_object()) throw ApiError(422, "validation", "the body is not a JSON object");
  return j;
}

std::string text_at(const Json& v, const std::string& where) {
  if (!v.is_string()) throw ApiError(422, "validation", where + " is not a string");
  return v.get<std::string>();
}

void check_batch(size_t n, size_t most, const char* option) {
  if (n == 0) throw ApiError(400, "empty", "the batch is empty");
  if (n > most)
    throw ApiError(413, "validation", "batch size " + std::to_string(n) + " > maximum allowed batch size " +
                                          std::to_string(most) + " (" + option + ")");
}

// "inputs" of TEI and HF: one string, or a list whose items are strings or (TEI) one-text lists.
void read_inputs(const Json& body, ModelRequest& req, const ApiLimits& limits, bool nested_ok) {
  const auto it = body.find("inputs");
  if (it == body.end()) throw ApiError(422, "validation", "missing field \"inputs\"");
  if (it->is_string()) {
    req.texts.push_back(it->get<std::string>());
    return;
  }
  if (!it->is_array()) throw ApiError(422, "validation", "\"inputs\" is neither a string nor a list of strings");
  req.batch = true;
  check_batch(it->size(), limits.max_client_batch_size, "--max-client-batch-size");
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& v = (*it)[i];
    const std::string where = "\"inputs\"[" + std::to_string(i) + "]";
    if (nested_ok && v.is_array()) {
      if (v.size() != 1)
        throw ApiError(422, "validation", where + " holds " + std::to_string(v.size()) +
                                              " texts: emot5's models read one text at a time, not a pair");
      req.texts.push_back(text_at(v[0], where + "[0]"));
    } else {
      req.texts.push_back(text_at(v, where));
    }
  }
}

bool bool_field(const Json& body, const char* name, bool otherwise) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return otherwise;
  if (!it->is_boolean()) throw ApiError(422, "validation", std::string("\"") + name + "\" is not true, false or null");
  return it->get<bool>();
}

// One text's labels with their scores, highest first; `top_k` of them (0: all).
nlohmann::ordered_json ranked(const Prediction& p, const std::vector<std::string>& labels, bool raw, size_t top_k) {
  if (raw && p.log_probs.size() != labels.size())
    throw ApiError(500, "backend", "the model gave no log-probabilities for raw scores");
  std::vector<size_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  auto score = [&](size_t i) { return raw ? p.log_probs[i] : static_cast<double>(p.probabilities[i]); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score(a) > score(b); });
  if (top_k > 0 && top_k < order.size()) order.resize(top_k);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i : order) {
    if (!std::isfinite(score(i))) throw ApiError(500, "backend", "the model's score for '" + labels[i] + "' is not finite");
    out.push_back({{"label", labels[i]}, {"score", score(i)}});
  }
  return out;
}

}  // namespace

std::string error_body(const std::string& message, const std::string& type) {
  nlohmann::ordered_json j;
  j["error"] = message;
  j["error_type"] = type;
  return dump(j);
}

ModelRequest parse_tei(std::string_view body, const ApiLimits& limits) {
  const Json j = parse_object(body);
  ModelRequest req;
  req.shape = ApiShape::Tei;
  read_inputs(j, req, limits, true);
  req.truncate = bool_field(j, "truncate", limits.auto_truncate);
  req.raw_scores = bool_field(j, "raw_scores", false);
  return req;
}

ModelRequest parse_hf(std::string_view body, const ApiLimits& limits) {
  const Json j = parse_object(body);
  ModelRequest req;
  req.shape = ApiShape::Hf;
  read_inputs(j, req, limits, false);
  req.truncate = true;
  const auto p = j.find("parameters");
  if (p == j.end() || p->is_null()) return req;
  if (!p->is_object()) throw ApiError(422, "validation", "\"parameters\" is not an object");
  if (const auto k = p->find("top_k"); k != p->end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<long long>() < 1)
      throw ApiError(422, "validation", "\"parameters\".\"top_k\" is not a positive integer");
    req.top_k = static_cast<size_t>(k->get<long long>());
  }
  if (const auto f = p->find("function_to_apply"); f != p->end() && !f->is_null()) {
    const std::string fn = f->is_string() ? f->get<std::string>() : "";
    if (fn == "none")
      req.raw_scores = true;
    else if (fn != "softmax")
      throw ApiError(422, "validation", "\"parameters\".\"function_to_apply\" is " + f->dump() +
                                            ": emot5's labels exclude each other, so it takes \"softmax\" or \"none\"");
  }
  return req;
}

ModelRequest parse_classify(std::string_view body, const ApiLimits& limits) {
  Json j;
  try {
    j = parse_object(body);
  } catch (const ApiError& e) {  // emot5's own route answers 400 for every bad body, as it always has
    throw ApiError(400, e.type, e.what());
  }
  ModelRequest req;
  req.shape = ApiShape::Classify;
  const bool one = j.contains("text");
  if (one == j.contains("texts")) throw ApiError(400, "validation", "give either \"text\" or \"texts\"");
  if (const auto g = j.find("generate"); g != j.end() && !g->is_null()) {
    if (!g->is_boolean()) throw ApiError(400, "validation", "\"generate\" is not true, false or null");
    req.generate = g->get<bool>();
  }
  auto text = [](const Json& v, const std::string& where) {
    if (!v.is_string()) throw ApiError(400, "validation", where + " is not a string");
    return v.get<std::string>();
  };
  if (one) {
    req.texts.push_back(text(j["text"], "\"text\""));
    return req;
  }
  const Json& arr = j["texts"];
  if (!arr.is_array()) throw ApiError(400, "validation", "\"texts\" is not an array");
  if (arr.size() > limits.max_texts)
    throw ApiError(400, "validation", "\"texts\" holds " + std::to_string(arr.size()) + " texts, more than --max-texts " +
                                          std::to_string(limits.max_texts));
  req.batch = true;
  for (size_t i = 0; i < arr.size(); ++i) req.texts.push_back(text(arr[i], "\"texts\"[" + std::to_string(i) + "]"));
  return req;
}

std::string answer(const ModelRequest& req, const std::vector<Prediction>& preds, const std::vector<std::string>& labels,
                   bool generated, int max_input_tokens) {
  if (preds.size() != req.texts.size()) throw ApiError(500, "backend", "the model answered another number of texts");
  if (!req.truncate)
    for (size_t i = 0; i < preds.size(); ++i)
      if (preds[i].truncated)
        throw ApiError(413, "validation", "input " + std::to_string(i) + " has more than " +
                                              std::to_string(max_input_tokens) +
                                              " tokens (--max-input-tokens); send truncate: true to read its start");
  if (req.shape == ApiShape::Classify) {
    if (!req.batch) return dump(prediction_json(preds[0], labels, generated));
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& p : preds) list.push_back(prediction_json(p, labels, generated));
    nlohmann::ordered_json j;
    j["predictions"] = std::move(list);
    return dump(j);
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& p : preds) out.push_back(ranked(p, labels, req.raw_scores, req.top_k));
  if (req.shape == ApiShape::Tei && !req.batch) return dump(out[0]);
  return dump(out);
}

std::string info_body(const ServerFacts& f) {
  nlohmann::ordered_json id2label = nlohmann::ordered_json::object(), label2id = nlohmann::ordered_json::object();
  for (size_t i = 0; i < f.labels.size(); ++i) {
    id2label[std::to_string(i)] = f.labels[i];
    label2id[f.labels[i]] = i;
  }
  std::string name = f.model_dir;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  if (const auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
  nlohmann::ordered_json j;
  j["model_id"] = name;
  j["model_dir"] = f.model_dir;
  j["model_dtype"] = f.precision;
  j["model_type"] = {{"classifier", {{"id2label", id2label}, {"label2id", label2id}}}};
  j["precision"] = f.precision;
  j["max_concurrent_requests"] = f.max_concurrent_requests;
  j["max_input_length"] = f.limits.max_input_tokens;
  j["max_client_batch_size"] = f.limits.max_client_batch_size;
  j["auto_truncate"] = f.limits.auto_truncate;
  j["threads"] = f.threads;
  j["passes"] = f.passes;
  j["version"] = f.version;
  return dump(j);
}

}  // namespace emot5::app
