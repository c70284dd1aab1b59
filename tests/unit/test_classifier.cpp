// The public Classifier API: label probabilities against the fixtures' HF logits, the fast path
// against the full path, multi-token labels, batching and concurrent use.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "bad_files.h"
#include "eval/metrics.h"
#include "emot5/emot5.h"
#include "io/safetensors.h"
#include "kernels/ops.h"

namespace emot5 {
namespace {

const std::vector<int> kLabelIds = {24784, 3922, 333, 11213, 2971, 4158};  // sadness .. surprise

ClassifierOptions generating() {  // the default options with greedy generation on
  ClassifierOptions o;
  o.generate = true;
  return o;
}

struct Reference {
  std::vector<std::string> texts, labels;
  std::vector<std::vector<int>> ids;  // unpadded
  std::vector<float> logits;          // (B, 2, V)
};

Reference load_reference(const std::string& dir) {
  Reference r;
  const auto meta = nlohmann::json::parse(read_file(dir + "/reference.json"));
  r.texts = meta["texts"].get<std::vector<std::string>>();
  r.labels = meta["labels"].get<std::vector<std::string>>();
  const SafetensorsFile ref(dir + "/reference.safetensors");
  const auto shape = test::ref_shape(ref, "input_ids");
  const auto ids = test::ref_i64(ref, "input_ids"), mask = test::ref_i64(ref, "attention_mask");
  for (int64_t b = 0; b < shape[0]; ++b) {
    std::vector<int> row;
    for (int64_t i = 0; i < shape[1]; ++i)
      if (mask[b * shape[1] + i]) row.push_back(static_cast<int>(ids[b * shape[1] + i]));
    r.ids.push_back(row);
  }
  r.logits = test::ref_f32(ref, "logits");
  return r;
}

class ClassifierParity : public ::testing::TestWithParam<const char*> {};

TEST_P(ClassifierParity, ProbabilitiesAreSoftmaxOfHfLabelLogits) {
  const std::string dir = test::data(GetParam());
  const Reference ref = load_reference(dir);
  ClassifierOptions gen_opt;
  gen_opt.generate = true;
  const auto clf = Classifier::load(dir, gen_opt);
  const auto preds = clf.classify_batch(ref.texts, clf.options().batch_size, /*log_probs=*/true);
  const auto gen_only = clf.classify_batch(ref.texts);  // generation without log_probs
  const auto fast = Classifier::load(dir).classify_batch(ref.texts);  // the default: scores only
  // Batches of 2 on 2 threads: 8 chunks, run side by side on lanes of one thread each.
  ClassifierOptions two;
  two.threads = 2;
  const auto laned = Classifier::load(dir, two).classify_batch(ref.texts, 2, false, true);
  const size_t V = 32128;
  int checked = 0;
  for (size_t b = 0; b < ref.texts.size(); ++b) {
    if (clf.tokenize(ref.texts[b]).ids != ref.ids[b]) continue;  // text 15 was cut in two fixtures
    const float* row = &ref.logits[b * 2 * V];
    std::vector<float> want(6);
    for (int l = 0; l < 6; ++l) want[l] = row[kLabelIds[l]];
    kernels::naive::softmax(want.data(), 6);
    const double lse = kernels::log_softmax(row, static_cast<int>(V), nullptr);
    for (int l = 0; l < 6; ++l) {
      EXPECT_NEAR(preds[b].probabilities[l], want[l], 1e-4) << b << " " << l;
      EXPECT_NEAR(fast[b].probabilities[l], want[l], 1e-4) << b << " " << l;
      EXPECT_NEAR(laned[b].probabilities[l], want[l], 1e-4) << b << " " << l;
      EXPECT_NEAR(preds[b].log_probs[l], row[kLabelIds[l]] - lse, 1e-3) << b << " " << l;
    }
    EXPECT_EQ(preds[b].label, fast[b].label);
    EXPECT_EQ(gen_only[b].label, fast[b].label);
    EXPECT_EQ(gen_only[b].generated_ids, preds[b].generated_ids);
    EXPECT_EQ(laned[b].generated_ids, preds[b].generated_ids);
    for (int l = 0; l < 6; ++l) EXPECT_NEAR(gen_only[b].probabilities[l], want[l], 1e-4) << b << " " << l;
    EXPECT_TRUE(fast[b].log_probs.empty());
    EXPECT_TRUE(gen_only[b].log_probs.empty());
    EXPECT_EQ(preds[b].generated_ids.front(), 0);
    ++checked;
  }
  EXPECT_GE(checked, static_cast<int>(ref.texts.size()) - 1);
}

// Labels "word</s>" tokenize to two ids: the summed log-probability of [word, eos] under teacher
// forcing must equal the fixture's two steps for each text's own label.
TEST_P(ClassifierParity, MultiTokenLabelsUseTeacherForcing) {
  const auto d = test::copy_fixture(std::string("multi_") + std::to_string(std::hash<std::string>{}(GetParam())));
  for (const char* f : {"config.json", "model.safetensors"})
    test::fs::copy_file(test::fs::canonical(test::data(std::string(GetParam()) + "/" + f)), d + "/" + f,
                        test::fs::copy_options::overwrite_existing);
  const std::vector<std::string> words = {"sadness", "joy", "love", "anger", "fear", "surprise"};
  nlohmann::json labels = nlohmann::json::array();
  for (const auto& w : words) labels.push_back(w + "</s>");
  write_file_atomic(d + "/emot5.json", nlohmann::json{{"labels", labels}}.dump());
  const auto clf = Classifier::load(d);
  const Reference ref = load_reference(test::data(GetParam()));
  const size_t V = 32128;
  for (size_t b = 0; b < ref.texts.size(); ++b) {
    if (clf.tokenize(ref.texts[b]).ids != ref.ids[b]) continue;
    const auto p = clf.classify(ref.texts[b]);
    const size_t l = static_cast<size_t>(std::find(words.begin(), words.end(), ref.labels[b]) - words.begin());
    ASSERT_LT(l, words.size());
    const float* s0 = &ref.logits[b * 2 * V];
    const float* s1 = s0 + V;
    const double want = (s0[kLabelIds[l]] - kernels::log_softmax(s0, static_cast<int>(V), nullptr)) +
                        (s1[1] - kernels::log_softmax(s1, static_cast<int>(V), nullptr));
    EXPECT_NEAR(p.log_probs[l], want, 1e-3) << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ClassifierParity,
                         ::testing::Values("tiny-v10-f32", "tiny-v11-tied-bf16", "tiny-v11-untied-f32"));

class ClassifierPrecision : public ::testing::TestWithParam<std::string> {};

TEST_P(ClassifierPrecision, BatchEqualsSingleAndThreadsAgree) {
  ClassifierOptions o;
  o.precision = GetParam();
  o.generate = true;
  const auto clf = Classifier::load(test::data("tiny-v11-untied-f32"), o);
  const std::vector<std::string> texts = {"i feel happy", "", "i am so scared of the dark and the night",
                                          "love", "what a surprise that was honestly"};
  const auto batch = clf.classify_batch(texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto one = clf.classify(texts[i]);
    EXPECT_EQ(one.label, batch[i].label);
    EXPECT_EQ(one.generated_ids, batch[i].generated_ids);
    for (size_t l = 0; l < 6; ++l) EXPECT_NEAR(one.probabilities[l], batch[i].probabilities[l], 1e-5);
  }
  std::vector<std::vector<Prediction>> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) results[t] = clf.classify_batch(texts);
    });
  for (auto& th : threads) th.join();
  for (const auto& r : results)
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(r[i].label, batch[i].label);
      for (size_t l = 0; l < 6; ++l) EXPECT_NEAR(r[i].probabilities[l], batch[i].probabilities[l], 1e-5);
    }
}

INSTANTIATE_TEST_SUITE_P(Precisions, ClassifierPrecision, ::testing::Values("f32", "bf16", "int8"));

TEST(Classifier, BadLabelFileNamesTheFile) {
  const auto d = test::copy_fixture("badlabels");
  write_file_atomic(d + "/emot5.json", "{\"labels\": [\"only-one\"]}");
  try {
    Classifier::load(d);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(d + "/emot5.json"), std::string::npos) << e.what();
  }
}

TEST(Classifier, GenerateTrimsAfterEos) {
  const auto clf = Classifier::load(test::data("tiny-v11-untied-f32"));
  const auto g = clf.generate({"i feel happy", "no"}, 6);
  for (const auto& x : g) {
    ASSERT_FALSE(x.ids.empty());
    EXPECT_EQ(x.ids.front(), 0);
    EXPECT_LE(x.ids.size(), 7u);
    const auto eos = std::find(x.ids.begin(), x.ids.end(), 1);
    if (eos != x.ids.end()) {
      EXPECT_EQ(eos + 1, x.ids.end());
    }
  }
}

// $EMOT5_MODEL wins; without it, a test binary (nothing installed beside it) finds the source tree's.
TEST(Classifier, DefaultModelDir) {
  const char* before = std::getenv("EMOT5_MODEL");
  const std::string saved = before ? before : "";
  ::setenv("EMOT5_MODEL", "/some/where", 1);
  EXPECT_EQ(default_model_dir(), "/some/where");
  ::unsetenv("EMOT5_MODEL");
  EXPECT_EQ(default_model_dir(), std::string(EMOT5_SOURCE_DIR) + "/models/emot5-small");
  if (before) ::setenv("EMOT5_MODEL", saved.c_str(), 1);
}

// A text longer than max_input_tokens is read up to the limit (eos last, like HF's truncation)
// and says so; one at the limit is not marked.
TEST(Classifier, TruncationIsReported) {
  ClassifierOptions o;
  o.max_input_tokens = 6;
  const auto clf = Classifier::load(test::data("tiny-v11-untied-f32"), o);
  const auto full = Classifier::load(test::data("tiny-v11-untied-f32"));
  const std::string text = "i am so scared of the dark and the night", head = "i am so scared";
  ASSERT_GT(full.tokenize(text).ids.size(), 6u);
  ASSERT_EQ(full.tokenize(head).ids.size(), 6u);  // "▁", "i", "▁am", "▁so", "▁scared" and eos: the limit
  const auto cut = clf.classify(text);
  EXPECT_TRUE(cut.truncated);
  const auto ref = full.classify(head);
  EXPECT_FALSE(ref.truncated);
  EXPECT_FALSE(clf.classify(head).truncated);
  for (size_t l = 0; l < 6; ++l) EXPECT_NEAR(cut.probabilities[l], ref.probabilities[l], 1e-6);
  const auto batch = clf.classify_batch({head, text, "joy"});
  EXPECT_FALSE(batch[0].truncated);
  EXPECT_TRUE(batch[1].truncated);
  EXPECT_FALSE(batch[2].truncated);
}

}  // namespace
}  // namespace emot5

namespace emot5 {
namespace {

// A sharded copy (model.safetensors.index.json + two files) and an F16 copy must load. The F16
// copy must give exactly what an F32 file holding the same (f16-rounded) values gives.
TEST(Metrics, TemperatureByHand) {
  // Four rows at p = (0.9, 0.1), gold 0 0 0 1: softmax(b log p) gives label 0 the probability
  // 9^b / (9^b + 1), and the likelihood is highest where that is 3/4, at b = 1/2 (temperature 2).
  const std::vector<std::vector<float>> p(4, {0.9f, 0.1f});
  const std::vector<int> gold{0, 0, 0, 1};
  EXPECT_NEAR(tempered_nll(p, gold, 1.0), -(3 * std::log(0.9) + std::log(0.1)) / 4, 1e-6);
  EXPECT_NEAR(tempered_nll(p, gold, 0.5), -(3 * std::log(0.75) + std::log(0.25)) / 4, 1e-6);
  EXPECT_NEAR(fit_inverse_temperature(p, gold), 0.5, 1e-5);
  // Every row right: sharper is always better, up to the search's bound of 20.
  EXPECT_NEAR(fit_inverse_temperature(p, {0, 0, 0, 0}), 20.0, 1e-3);
  EXPECT_THROW(fit_inverse_temperature({}, {}), std::invalid_argument);
}

TEST(Metrics, F1AndCalibrationByHand) {
  // gold a a b b, predicted a b b b, confidences 0.9 0.6 0.8 0.95.
  const EvalReport r = evaluate({"a", "b"}, {0, 0, 1, 1}, {0, 1, 1, 1}, {0.9f, 0.6f, 0.8f, 0.95f});
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
  EXPECT_NEAR(r.per_class[0].f1, 2.0 / 3, 1e-12);  // precision 1, recall 1/2
  EXPECT_NEAR(r.per_class[1].f1, 0.8, 1e-12);      // precision 2/3, recall 1
  EXPECT_NEAR(r.macro_f1, (2.0 / 3 + 0.8) / 2, 1e-12);
  EXPECT_EQ(r.confusion, (std::vector<std::vector<int>>{{1, 1}, {0, 2}}));
  EXPECT_EQ(r.nll, -1);  // not asked for
  // The gold labels' probabilities (two labels: 1 - the confidence where the prediction is wrong).
  EXPECT_NEAR(evaluate({"a", "b"}, {0, 0, 1, 1}, {0, 1, 1, 1}, {0.9f, 0.6f, 0.8f, 0.95f}, -1, {0.9f, 0.4f, 0.8f, 0.95f}).nll,
              -(std::log(0.9) + std::log(0.4) + std::log(0.8) + std::log(0.95)) / 4, 1e-6);
  // A third label that is neither gold nor predicted leaves macro-F1 as it is (scikit-learn's
  // f1_score(average="macro") without labels); one that is only predicted counts with F1 0.
  EXPECT_NEAR(evaluate({"a", "b", "c"}, {0, 0, 1, 1}, {0, 1, 1, 1}, {0.9f, 0.6f, 0.8f, 0.95f}).macro_f1,
              (2.0 / 3 + 0.8) / 2, 1e-12);
  EXPECT_NEAR(evaluate({"a", "b", "c"}, {0, 0, 1, 1}, {0, 2, 1, 1}, {0.9f, 0.6f, 0.8f, 0.95f}).macro_f1,
              (2.0 / 3 + 1.0 + 0.0) / 3, 1e-12);
  // 15 bins: 0.6 -> bin 9, 0.8 -> 12, 0.9 -> 13, 0.95 -> 14; ECE = (0.6 + 0.2 + 0.1 + 0.05) / 4.
  EXPECT_NEAR(r.ece, 0.2375, 1e-6);
  ASSERT_EQ(r.calibration.size(), 15u);
  EXPECT_EQ(r.calibration[9].count, 1);
  EXPECT_NEAR(r.calibration[9].confidence, 0.6, 1e-6);
  EXPECT_EQ(r.calibration[9].accuracy, 0.0);
  EXPECT_EQ(r.calibration[14].count, 1);
  EXPECT_DOUBLE_EQ(r.calibration[14].to, 1.0);
  EXPECT_EQ(r.calibration[0].count, 0);
  const std::string svg = calibration_svg(r, "cal");
  EXPECT_NE(svg.find("ECE 0.2375"), std::string::npos);
  EXPECT_NE(svg.find("perfect calibration"), std::string::npos);
  const auto j = report_json(r);
  EXPECT_EQ(j["calibration"].size(), 15u);
  EXPECT_EQ(j["calibration"][12]["count"], 1);
}

TEST(Checkpoint, ShardedAndF16Load) {
  const std::string src = test::data("tiny-v11-untied-f32");
  const SafetensorsFile full(src + "/model.safetensors");
  const auto names = full.names();
  MemoryTensors a, b, f16, f32r;
  nlohmann::json weight_map;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto t = *full.find(names[i]);
    std::vector<float> v = to_f32(t);
    (i % 2 ? a : b).add_f32(names[i], t.shape, v);
    weight_map[names[i]] = i % 2 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    std::vector<std::byte> half(v.size() * 2);
    for (size_t k = 0; k < v.size(); ++k) {
      const uint16_t h = f32_to_f16(v[k]);
      std::memcpy(&half[2 * k], &h, 2);
      v[k] = f16_to_f32(h);
    }
    f16.add(names[i], DType::F16, t.shape, std::move(half));
    f32r.add_f32(names[i], t.shape, v);
  }
  const auto sharded = test::copy_fixture("sharded");
  test::fs::remove(sharded + "/model.safetensors");
  write_safetensors(sharded + "/model-00001-of-00002.safetensors", a);
  write_safetensors(sharded + "/model-00002-of-00002.safetensors", b);
  write_file_atomic(sharded + "/model.safetensors.index.json",
                    nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump());
  const std::vector<std::string> texts = {"i feel happy", "i am so scared of the dark"};
  const auto want = Classifier::load(src, generating()).classify_batch(texts);
  const auto got = Classifier::load(sharded, generating()).classify_batch(texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(got[i].probabilities, want[i].probabilities);
    EXPECT_EQ(got[i].generated_ids, want[i].generated_ids);
  }

  const auto d16 = test::copy_fixture("f16");
  const auto d32 = test::copy_fixture("f32r");
  write_safetensors(d16 + "/model.safetensors", f16);
  write_safetensors(d32 + "/model.safetensors", f32r);
  const SafetensorsFile check16(d16 + "/model.safetensors");
  EXPECT_EQ(check16.find("shared.weight")->dtype, DType::F16);
  const auto p16 = Classifier::load(d16, generating()).classify_batch(texts);
  const auto p32 = Classifier::load(d32, generating()).classify_batch(texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(p16[i].probabilities, p32[i].probabilities);
    EXPECT_EQ(p16[i].generated_ids, p32[i].generated_ids);
  }
  // A shard listed in the index but absent is an error naming it.
  test::fs::remove(sharded + "/model-00002-of-00002.safetensors");
  try {
    Classifier::load(sharded);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model-00002-of-00002.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace emot5

namespace emot5 {
namespace {

// int8 and bf16 against f32 with the built-in model on the whole test split: the accuracy guard
// of the reduced precisions. Labels: at least 99.5% agree. Probabilities: the mean |Δp| (the largest
// of a row's six) stays under 0.005, and no row moves more than 0.25, except that int8 may move at
// most one row in a thousand that far. The exception is for texts that sit on a knife's edge: on
// the built-in model, int8 moves one of the 2000 test texts ("i feel immensely distracted by the
// barrage of media ...", fear 0.574 / anger 0.409 in f32) by about 0.4 (0.378 when the FFN output
// projection stayed bf16, 0.41-0.44 with it in int8). It flips under int8's rounding of any one
// of several layers alone, with activations quantized in groups as small as 8 values, while bf16
// moves it by 0.028.
TEST(Precision, Int8AndBf16AgreeWithF32OnTheTestSplit) {
  const std::string model = std::string(EMOT5_SOURCE_DIR) + "/models/emot5-small";
  std::vector<std::string> texts;
  std::ifstream in(std::string(EMOT5_SOURCE_DIR) + "/data/emotion/test.jsonl");
  for (std::string line; std::getline(in, line);) texts.push_back(nlohmann::json::parse(line)["text"]);
  ASSERT_EQ(texts.size(), 2000u);
  ClassifierOptions f32;
  f32.generate = false;
  const auto a = Classifier::load(model, f32).classify_batch(texts);
  for (const std::string precision : {"int8", "bf16"}) {
    ClassifierOptions o = f32;
    o.precision = precision;
    const auto b = Classifier::load(model, o).classify_batch(texts);
    size_t agree = 0, far = 0;
    double sum_dp = 0;
    float max_dp = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      agree += a[i].label_index == b[i].label_index;
      float dp = 0;
      for (size_t l = 0; l < 6; ++l) dp = std::max(dp, std::fabs(a[i].probabilities[l] - b[i].probabilities[l]));
      sum_dp += dp;
      far += dp > 0.25f;
      max_dp = std::max(max_dp, dp);
    }
    std::cout << precision << ": " << agree << " of 2000 labels agree; |dp| mean " << sum_dp / 2000.0 << ", max "
              << max_dp << ", " << far << " rows over 0.25\n";
    EXPECT_GE(static_cast<double>(agree) / 2000.0, 0.995) << precision;
    EXPECT_LE(sum_dp / 2000.0, 0.005) << precision;
    EXPECT_LE(far, precision == "int8" ? 2u : 0u) << precision << ": largest |dp| " << max_dp;
  }
  EXPECT_THROW(Classifier::load(model, [] { ClassifierOptions o; o.precision = "fp4"; return o; }()),
               std::invalid_argument);
}

}  // namespace
}  // namespace emot5
