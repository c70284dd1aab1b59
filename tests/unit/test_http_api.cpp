// apps/http_api and apps/metrics: the bodies emot5 serve reads and answers, apart from HTTP.
// TEI's and the HF Inference API's shapes, their errors and status codes, and the Prometheus
// text the metrics render.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/http_api.h"
#include "apps/metrics.h"

namespace emot5::app {
namespace {

const std::vector<std::string> kLabels = {"sadness", "joy", "love"};

Prediction pred(std::vector<float> p, std::vector<double> lp = {}, bool truncated = false) {
  Prediction x;
  x.probabilities = std::move(p);
  x.log_probs = std::move(lp);
  x.truncated = truncated;
  x.label_index = 0;
  for (size_t i = 1; i < x.probabilities.size(); ++i)
    if (x.probabilities[i] > x.probabilities[static_cast<size_t>(x.label_index)]) x.label_index = static_cast<int>(i);
  x.label = kLabels[static_cast<size_t>(x.label_index)];
  return x;
}

int status_of(void (*f)()) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.status;
  }
  return 0;
}

TEST(HttpApi, TeiInputsAreOneTextAListOrListsOfOneText) {
  const ApiLimits limits;
  auto one = parse_tei(R"({"inputs": "i feel fine"})", limits);
  EXPECT_EQ(one.texts, (std::vector<std::string>{"i feel fine"}));
  EXPECT_FALSE(one.batch);
  EXPECT_TRUE(one.truncate);
  EXPECT_FALSE(one.raw_scores);
  auto flat = parse_tei(R"({"inputs": ["a", "b"], "truncate": false, "raw_scores": true})", limits);
  EXPECT_EQ(flat.texts, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(flat.batch);
  EXPECT_FALSE(flat.truncate);
  EXPECT_TRUE(flat.raw_scores);
  auto nested = parse_tei(R"({"inputs": [["a"], ["b"]], "truncate": null})", limits);
  EXPECT_EQ(nested.texts, (std::vector<std::string>{"a", "b"}));
  ApiLimits no_auto;
  no_auto.auto_truncate = false;
  EXPECT_FALSE(parse_tei(R"({"inputs": "a"})", no_auto).truncate);
  EXPECT_FALSE(parse_tei(R"({"inputs": "a", "truncate": null})", no_auto).truncate);
}

TEST(HttpApi, TeiErrorsHaveTeisCodes) {
  EXPECT_EQ(status_of([] { parse_tei(R"({"inputs": []})", ApiLimits{}); }), 400);
  EXPECT_EQ(status_of([] {
              ApiLimits l;
              l.max_client_batch_size = 2;
              parse_tei(R"({"inputs": ["a", "b", "c"]})", l);
            }),
            413);
  EXPECT_EQ(status_of([] { parse_tei("{\"inputs\": \"\xff\"}", ApiLimits{}); }), 422);
  EXPECT_EQ(status_of([] { parse_tei(R"({"inputs": "\udc00"})", ApiLimits{}); }), 422);
  EXPECT_EQ(status_of([] { parse_tei(R"({"inputs": [["a", "b"]]})", ApiLimits{}); }), 422);
  EXPECT_EQ(status_of([] { parse_tei(R"({"inputs": 3})", ApiLimits{}); }), 422);
  EXPECT_EQ(status_of([] { parse_tei(R"({"inputs": "a", "truncate": 1})", ApiLimits{}); }), 422);
  EXPECT_EQ(status_of([] { parse_tei(R"({"inputs": )", ApiLimits{}); }), 400);
  EXPECT_EQ(status_of([] { parse_tei("", ApiLimits{}); }), 400);
  // Found by fuzz_server: a number out of double's range threw an exception the parser did not
  // catch, which would have ended the server.
  EXPECT_EQ(status_of([] { parse_tei(R"({"inputs": 1e999})", ApiLimits{}); }), 400);
  EXPECT_EQ(status_of([] { parse_hf("4444e444444 ", ApiLimits{}); }), 400);
  const auto body = nlohmann::json::parse(error_body("too many", "validation"));
  EXPECT_EQ(body["error"], "too many");
  EXPECT_EQ(body["error_type"], "validation");
}

TEST(HttpApi, AnswersAreEveryLabelSortedHighestFirst) {
  const std::vector<Prediction> preds = {pred({0.2f, 0.7f, 0.1f}, {-3.0, -1.8, -4.0}), pred({0.5f, 0.1f, 0.4f})};
  auto tei = parse_tei(R"({"inputs": "a"})", ApiLimits{});
  const auto one = nlohmann::json::parse(answer(tei, {preds[0]}, kLabels, false, 512));
  ASSERT_EQ(one.size(), 3u);
  EXPECT_EQ(one[0]["label"], "joy");
  EXPECT_NEAR(one[0]["score"].get<double>(), 0.7, 1e-6);
  EXPECT_EQ(one[1]["label"], "sadness");
  EXPECT_EQ(one[2]["label"], "love");
  auto batch = parse_tei(R"({"inputs": ["a", "b"]})", ApiLimits{});
  const auto two = nlohmann::json::parse(answer(batch, preds, kLabels, false, 512));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1][0]["label"], "sadness");
  EXPECT_EQ(two[1][1]["label"], "love");
  auto raw = parse_tei(R"({"inputs": "a", "raw_scores": true})", ApiLimits{});
  const auto r = nlohmann::json::parse(answer(raw, {preds[0]}, kLabels, false, 512));
  EXPECT_EQ(r[0]["label"], "joy");
  EXPECT_DOUBLE_EQ(r[0]["score"].get<double>(), -1.8);
  // A truncated text with truncate: false is refused.
  auto strict = parse_tei(R"({"inputs": "a", "truncate": false})", ApiLimits{});
  try {
    answer(strict, {pred({0.2f, 0.7f, 0.1f}, {}, true)}, kLabels, false, 512);
    ADD_FAILURE() << "a truncated text was answered";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 413);
    EXPECT_NE(std::string(e.what()).find("512"), std::string::npos);
  }
}

TEST(HttpApi, HfAnswersAListPerInputWithTopK) {
  const std::vector<Prediction> preds = {pred({0.2f, 0.7f, 0.1f}, {-3.0, -1.8, -4.0})};
  auto hf = parse_hf(R"({"inputs": "a", "parameters": {"top_k": 2}})", ApiLimits{});
  const auto j = nlohmann::json::parse(answer(hf, preds, kLabels, false, 512));
  ASSERT_TRUE(j.is_array() && j.size() == 1 && j[0].size() == 2);  // huggingface_hub reads a list of lists
  EXPECT_EQ(j[0][0]["label"], "joy");
  EXPECT_EQ(j[0][1]["label"], "sadness");
  auto none = parse_hf(R"({"inputs": ["a"], "parameters": {"function_to_apply": "none"}})", ApiLimits{});
  EXPECT_TRUE(none.raw_scores);
  EXPECT_EQ(parse_hf(R"({"inputs": "a", "parameters": null})", ApiLimits{}).top_k, 0u);
  EXPECT_EQ(status_of([] { parse_hf(R"({"inputs": "a", "parameters": {"top_k": 0}})", ApiLimits{}); }), 422);
  EXPECT_EQ(status_of([] { parse_hf(R"({"inputs": "a", "parameters": {"function_to_apply": "sigmoid"}})", ApiLimits{}); }),
            422);
  EXPECT_EQ(status_of([] { parse_hf(R"({"inputs": [["a"]]})", ApiLimits{}); }), 422);  // TEI's nesting is TEI's
}

TEST(HttpApi, ClassifyKeepsItsOwnShapeAnd400s) {
  auto one = parse_classify(R"({"text": "a"})", ApiLimits{});
  const auto j = nlohmann::json::parse(answer(one, {pred({0.2f, 0.7f, 0.1f})}, kLabels, false, 512));
  EXPECT_EQ(j["label"], "joy");
  EXPECT_NEAR(j["scores"]["love"].get<double>(), 0.1, 1e-6);
  EXPECT_FALSE(one.generate);
  EXPECT_FALSE(j.contains("generated"));
  // "generate": true asks this request's pass for greedy generation, and the answer carries it.
  const auto gen = parse_classify(R"({"texts": ["a"], "generate": true})", ApiLimits{});
  EXPECT_TRUE(gen.generate);
  Prediction p = pred({0.2f, 0.7f, 0.1f});
  p.generated = "joy";
  const auto jg = nlohmann::json::parse(answer(gen, {p}, kLabels, gen.generate, 512));
  EXPECT_EQ(jg["predictions"][0]["generated"], "joy");
  EXPECT_FALSE(parse_classify(R"({"text": "a", "generate": null})", ApiLimits{}).generate);
  EXPECT_EQ(status_of([] { parse_classify(R"({"text": "a", "generate": "yes"})", ApiLimits{}); }), 400);
  EXPECT_EQ(status_of([] { parse_classify(R"({"text": 1})", ApiLimits{}); }), 400);
  EXPECT_EQ(status_of([] { parse_classify("{\"text\": \"\xff\"}", ApiLimits{}); }), 400);
  EXPECT_EQ(status_of([] {
              ApiLimits l;
              l.max_texts = 1;
              parse_classify(R"({"texts": ["a", "b"]})", l);
            }),
            400);
}

TEST(HttpApi, InfoNamesTheLabelsBothWays) {
  ServerFacts f;
  f.model_dir = "/models/emot5-small/";
  f.precision = "int8";
  f.version = "0.1.0";
  f.labels = kLabels;
  const auto j = nlohmann::json::parse(info_body(f));
  EXPECT_EQ(j["model_id"], "emot5-small");
  EXPECT_EQ(j["model_type"]["classifier"]["id2label"]["2"], "love");
  EXPECT_EQ(j["model_type"]["classifier"]["label2id"]["joy"], 1);
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_EQ(j["max_client_batch_size"], 32);
}

TEST(Metrics, RendersCountersHistogramsAndGauges) {
  Metrics m("/m/\"x\"", "f32", "0.1.0");
  m.request("/predict", 200, 0.003);
  m.request("/predict", 200, 0.2);
  m.request("/predict", 429, 0.0001);
  m.model_request(0.001, 0.02, 3);
  m.forward_pass(3);
  const std::string t = m.render(2, 1);
  EXPECT_NE(t.find("emot5_requests_total{route=\"/predict\",code=\"200\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("emot5_requests_total{route=\"/predict\",code=\"429\"} 1\n"), std::string::npos);
  // Buckets are cumulative: 0.003 is under 0.005, 0.2 only under 0.25 and above.
  EXPECT_NE(t.find("emot5_request_duration_seconds_bucket{route=\"/predict\",le=\"0.005\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("emot5_request_duration_seconds_bucket{route=\"/predict\",le=\"0.25\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("emot5_request_duration_seconds_bucket{route=\"/predict\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("emot5_request_duration_seconds_count{route=\"/predict\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("emot5_batch_texts_bucket{le=\"4\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("emot5_texts_total 3\n"), std::string::npos);
  EXPECT_NE(t.find("emot5_requests_in_flight 2\n"), std::string::npos);
  EXPECT_NE(t.find("emot5_requests_waiting 1\n"), std::string::npos);
  EXPECT_NE(t.find("emot5_info{model=\"/m/\\\"x\\\"\",precision=\"f32\",version=\"0.1.0\"} 1\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace emot5::app
