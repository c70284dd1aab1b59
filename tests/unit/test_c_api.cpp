// The C interface gives what the C++ Classifier gives, for the same texts and options.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "emot5/emot5.h"
#include "emot5/emot5_c.h"

namespace {

const std::string kModel = std::string(EMOT5_TEST_DATA) + "/tiny-v11-untied-f32";

TEST(CApi, SameAsTheCppClassifier) {
  const std::vector<std::string> texts = {"i feel happy", "i am so scared of the dark", "",
                                          "what a surprise that was honestly", "love"};
  for (const char* precision : {"f32", "int8"}) {
    emot5::ClassifierOptions o;
    o.threads = 1;
    o.generate = false;
    o.precision = precision;
    const auto want = emot5::Classifier::load(kModel, o).classify_batch(texts);

    emot5_options co = emot5_default_options();
    co.threads = 1;
    co.precision = precision;
    char err[256];
    emot5_classifier* clf = emot5_load(kModel.c_str(), &co, err, sizeof err);
    ASSERT_NE(clf, nullptr) << err;
    const int k = emot5_num_labels(clf);
    std::vector<const char*> ptrs;
    for (const auto& t : texts) ptrs.push_back(t.c_str());
    std::vector<int> labels(texts.size());
    std::vector<float> probs(texts.size() * static_cast<size_t>(k));
    ASSERT_EQ(emot5_classify(clf, ptrs.data(), ptrs.size(), labels.data(), probs.data(), nullptr, err, sizeof err), 0)
        << err;
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(labels[i], want[i].label_index) << texts[i];
      EXPECT_STREQ(emot5_label(clf, labels[i]), want[i].label.c_str());
      for (int j = 0; j < k; ++j)
        EXPECT_EQ(probs[i * static_cast<size_t>(k) + static_cast<size_t>(j)], want[i].probabilities[static_cast<size_t>(j)]);
    }
    emot5_free(clf);
  }
}

TEST(CApi, BadOptionsAndPrecisionAreErrors) {
  char err[256];
  emot5_options co = emot5_default_options();
  co.batch_size = 0;
  EXPECT_EQ(emot5_load(kModel.c_str(), &co, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("batch_size"), std::string::npos) << err;
  co = emot5_default_options();
  co.precision = "f64";
  EXPECT_EQ(emot5_load(kModel.c_str(), &co, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("f64"), std::string::npos) << err;
  EXPECT_EQ(emot5_classify(nullptr, nullptr, 0, nullptr, nullptr, nullptr, err, sizeof err), -1);
  // A team far beyond the cores once killed the host process inside OpenMP's runtime.
  co = emot5_default_options();
  co.threads = 100000;
  EXPECT_EQ(emot5_load(kModel.c_str(), &co, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("threads 100000"), std::string::npos) << err;
}

}  // namespace
