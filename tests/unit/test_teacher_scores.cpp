// read_teacher_scores (train/trainer.h, --teacher-scores): the label distributions of another
// model, one JSONL line per training row, softened by the distillation temperature; against
// values worked out by hand, and each kind of bad line named by FILE:LINE.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "io/error.h"
#include "train/trainer.h"

namespace emot5::train {
namespace {

const std::vector<std::string> kLabels{"sadness", "joy", "love"};

Dataset two_rows() {
  Dataset d;
  d.path = "train.jsonl";
  d.rows = {{"i feel low", 0, 1}, {"i feel great", 1, 2}};
  return d;
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/emot5_ts_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

// The message of read_teacher_scores' error on `text`, or "" when it reads.
std::string error_of(const std::string& name, const std::string& text, const Dataset& d = two_rows()) {
  try {
    read_teacher_scores(write(name, text), d, kLabels, 1.0);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TeacherScores, ReadsInLabelOrderAndSoftensByTheTemperature) {
  // Keys in another order than the labels, an extra key ignored, no "text" on the second line.
  const std::string path = write("ok.jsonl",
                                 "{\"text\": \"i feel low\", \"label\": \"sadness\", \"scores\": {\"joy\": 0.2, "
                                 "\"sadness\": 0.8, \"love\": 0.0, \"anger\": 0.5}}\n"
                                 "{\"scores\": {\"sadness\": 0.1, \"joy\": 0.6, \"love\": 0.3}}\n");
  const auto t1 = read_teacher_scores(path, two_rows(), kLabels, 1.0);
  ASSERT_EQ(t1.sizes(), (std::vector<int64_t>{2, 3}));
  const std::vector<float> want1{0.8f, 0.2f, 0.0f, 0.1f, 0.6f, 0.3f};
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(t1.view({-1})[i].item<float>(), want1[static_cast<size_t>(i)], 1e-6) << i;
  // T = 2: p^(1/2) renormalized. Row 0: sqrt(.8) : sqrt(.2) = 2 : 1, so 2/3 and 1/3.
  // Row 1: sqrt(.1), sqrt(.6), sqrt(.3) = .316228, .774597, .547723, over their sum 1.638548.
  const auto t2 = read_teacher_scores(path, two_rows(), kLabels, 2.0);
  const std::vector<float> want2{2.0f / 3, 1.0f / 3, 0.0f, 0.192993f, 0.472734f, 0.334273f};
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(t2.view({-1})[i].item<float>(), want2[static_cast<size_t>(i)], 1e-5) << i;
}

TEST(TeacherScores, BadLinesAreNamed) {
  const std::string good = "{\"scores\": {\"sadness\": 0.5, \"joy\": 0.5, \"love\": 0}}\n";
  EXPECT_NE(error_of("text.jsonl", good + "{\"text\": \"i feel bad\", \"scores\": {\"sadness\": 1, \"joy\": 0, \"love\": 0}}\n")
                .find("_text.jsonl:2: its \"text\" is not the text of row 2 (train.jsonl:2)"),
            std::string::npos);
  EXPECT_NE(error_of("short.jsonl", good).find("_short.jsonl: 1 lines for the 2 rows of train.jsonl"), std::string::npos);
  EXPECT_NE(error_of("long.jsonl", good + good + good).find("_long.jsonl:3: more lines than the 2 rows of train.jsonl"),
            std::string::npos);
  EXPECT_NE(error_of("json.jsonl", good + "{\"scores\": \n").find("_json.jsonl:2: malformed JSON"), std::string::npos);
  EXPECT_NE(error_of("none.jsonl", good + "{\"score\": {}}\n").find("_none.jsonl:2: no \"scores\" object"),
            std::string::npos);
  EXPECT_NE(error_of("missing.jsonl", good + "{\"scores\": {\"sadness\": 0.5, \"joy\": 0.5}}\n")
                .find("_missing.jsonl:2: \"scores\" has no number for the label 'love'"),
            std::string::npos);
  EXPECT_NE(error_of("range.jsonl", good + "{\"scores\": {\"sadness\": 1.5, \"joy\": 0, \"love\": 0}}\n")
                .find("_range.jsonl:2: the score of 'sadness' is 1.5, not a probability"),
            std::string::npos);
  EXPECT_NE(error_of("zero.jsonl", good + "{\"scores\": {\"sadness\": 0, \"joy\": 0, \"love\": 0}}\n")
                .find("_zero.jsonl:2: every label's score is 0"),
            std::string::npos);
  EXPECT_EQ(error_of("good.jsonl", good + good), "");
}

}  // namespace
}  // namespace emot5::train
