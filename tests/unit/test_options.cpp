// emot5 train's options (train/options.h): the JSON a checkpoint saves reads back to the same
// options; a checkpoint that an option since removed shaped is refused naming the option, while
// the inert values older versions saved for every run are accepted; the checks name the flag.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "io/error.h"
#include "train/options.h"

namespace emot5::train {
namespace {

TEST(TrainOptions, JsonReadsBackToTheSameOptions) {
  TrainOptions o;
  o.init = "/models/teacher";
  o.labels = {"positive", "negative"};
  o.local_heads = {-1, 0, 1};
  o.lr = 3e-4;
  o.batch_size = 32;
  o.max_steps = 8000;
  o.seed = 7;
  o.skip_bad_rows = true;
  o.teachers = {"/a", "/b"};
  o.save_dtype = "bf16";
  const nlohmann::json j = options_to_json(o);
  const TrainOptions back = options_from_json(j, "state.json");
  EXPECT_EQ(options_to_json(back), j);
  EXPECT_EQ(back.labels, o.labels);
  EXPECT_EQ(back.local_heads, o.local_heads);
  EXPECT_EQ(back.seed, 7u);
  EXPECT_EQ(back.max_steps, 8000);
  // The run's own options are not saved: a resumed run takes them from its command line.
  EXPECT_FALSE(j.contains("out"));
  EXPECT_FALSE(j.contains("threads"));
  EXPECT_FALSE(j.contains("stop_after"));
}

TEST(TrainOptions, RemovedOptionsAtTheirInertValuesAreAccepted) {
  nlohmann::json j = options_to_json(TrainOptions{});
  j["objective"] = "classify";
  j["sam_rho"] = 0.0;
  j["embedding_lr_scale"] = 1;  // an integer 1 is the same number
  j["teacher_scores"] = nlohmann::json::array();
  j["smooth_over"] = "vocab";
  EXPECT_NO_THROW(options_from_json(j, "state.json"));
}

TEST(TrainOptions, ARunThatARemovedOptionShapedIsRefusedNamingIt) {
  for (const auto& [key, value, flag] : {std::tuple<std::string, nlohmann::json, std::string>{"sam_rho", 0.05, "--sam-rho"},
                                         {"objective", "denoise", "--objective"},
                                         {"teacher_scores", {"/s.jsonl"}, "--teacher-scores"},
                                         {"unk_below", 3, "--unk-below"}}) {
    nlohmann::json j = options_to_json(TrainOptions{});
    j[key] = value;
    try {
      options_from_json(j, "run/checkpoints/step-5/trainer_state.json");
      ADD_FAILURE() << key << " was accepted";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("run/checkpoints/step-5/trainer_state.json"), std::string::npos) << m;
      EXPECT_NE(m.find(flag + " " + value.dump()), std::string::npos) << m;
      EXPECT_NE(m.find("no longer has"), std::string::npos) << m;
    }
  }
}

TEST(TrainOptions, UnknownKeysAndWrongTypesAreRefused) {
  nlohmann::json j = options_to_json(TrainOptions{});
  j["learning_rate_typo"] = 1;
  EXPECT_THROW(options_from_json(j, "state.json"), Error);
  j = options_to_json(TrainOptions{});
  j["batch_size"] = "eight";
  try {
    options_from_json(j, "state.json");
    ADD_FAILURE() << "a string batch size was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'batch_size'"), std::string::npos) << e.what();
  }
}

// Each check names its flag; valid options pass.
TEST(TrainOptions, ValidateNamesTheFlag) {
  auto refused = [](auto change) {
    TrainOptions o;
    o.out = "out";
    o.data = "train.jsonl";
    change(o);
    try {
      validate(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(refused([](TrainOptions&) {}), "");
  EXPECT_NE(refused([](TrainOptions& o) { o.out.clear(); }).find("--out"), std::string::npos);
  EXPECT_NE(refused([](TrainOptions& o) { o.batch_size = 0; }).find("--batch-size"), std::string::npos);
  EXPECT_NE(refused([](TrainOptions& o) { o.max_input_tokens = 0; }).find("--max-input-tokens"), std::string::npos);
  EXPECT_NE(refused([](TrainOptions& o) { o.class_weights = "inverse"; }).find("--class-weights"), std::string::npos);
  EXPECT_NE(refused([](TrainOptions& o) { o.save_dtype = "int8"; }).find("--save-dtype"), std::string::npos);
  EXPECT_NE(refused([](TrainOptions& o) { o.local_bias = 3; }).find("--local-bias needs --local-heads"),
            std::string::npos);
  EXPECT_NE(refused([](TrainOptions& o) { o.distill_weight = 0.7; }).find("--distill-weight needs --teacher"),
            std::string::npos);
  EXPECT_NE(refused([](TrainOptions& o) {
              o.init = "m";
              o.local_heads = {0};
            }).find("--local-heads starts a fresh model's heads"),
            std::string::npos);
}

}  // namespace
}  // namespace emot5::train
