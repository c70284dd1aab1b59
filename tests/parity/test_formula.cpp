// The full-size flan-t5-small-formula checkpoint, built in C++ from its formula, against the
// Hugging Face reference: first values, parameter layout, encoder, first-step logits, loss and
// greedy generation.
#include <nlohmann/json.hpp>

#include "io/file_util.h"
#include "io/formula.h"
#include "io/layout.h"
#include "model/t5.h"
#include "test_util.h"

namespace emot5 {
namespace {

const std::string kDir = test::data("flan-t5-small-formula");

TEST(Formula, LayoutMatchesParamsJson) {
  const auto params = nlohmann::json::parse(read_file(kDir + "/params.json"))["param_names_and_shapes"];
  const auto specs = t5_parameter_specs(flan_t5_small_config());
  ASSERT_EQ(specs.size(), params.size());
  int64_t total = 0;
  for (const auto& s : specs) {
    ASSERT_TRUE(params.contains(s.name)) << s.name;
    EXPECT_EQ(params[s.name].get<std::vector<int64_t>>(), s.shape) << s.name;
    int64_t n = 1;
    for (auto d : s.shape) n *= d;
    total += n;
  }
  EXPECT_EQ(total, 76961152);
}

TEST(Formula, FirstValuesMatchReference) {
  const auto ref = nlohmann::json::parse(read_file(kDir + "/reference.json"));
  const auto specs = t5_parameter_specs(flan_t5_small_config());
  for (const auto& [name, values] : ref["first_values"].items()) {
    int64_t cols = 1;
    for (const auto& s : specs)
      if (s.name == name) cols = s.shape.size() == 2 ? s.shape[1] : 1;
    const uint64_t seed = fnv1a64(name);
    for (size_t i = 0; i < values.size(); ++i)
      EXPECT_EQ(formula_weight(seed, i, name, cols), values[i].get<float>()) << name << "[" << i << "]";
  }
}

class FormulaModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new T5Model(flan_t5_small_config(), formula_weights(flan_t5_small_config()));
  }
  static void TearDownTestSuite() { delete model_; }
  static T5Model* model_;
};
T5Model* FormulaModel::model_ = nullptr;

TEST_F(FormulaModel, EncoderLogitsLossAndGenerationMatchReference) {
  const SafetensorsFile ref(kDir + "/reference.safetensors");
  const auto shape = test::ref_shape(ref, "input_ids");
  const int B = static_cast<int>(shape[0]), L = static_cast<int>(shape[1]), D = 512, V = 32128;
  const auto ids = test::ref_i64(ref, "input_ids");
  const auto mask = test::ref_i64(ref, "attention_mask");
  std::vector<std::vector<int>> seqs(B);
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < L; ++i)
      if (mask[b * L + i]) seqs[b].push_back(static_cast<int>(ids[b * L + i]));
  const auto batch = PackedBatch::from(seqs);
  const auto enc = model_->encode(batch);

  const auto eh = test::ref_f32(ref, "encoder_hidden");
  float worst = 0;
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < batch.length(b); ++i)
      for (int d = 0; d < D; ++d)
        worst = std::max(worst, std::fabs(enc.hidden[static_cast<size_t>(batch.offsets[b] + i) * D + d] -
                                          eh[(static_cast<size_t>(b) * L + i) * D + d]));
  EXPECT_LE(worst, 1e-4f * test::max_abs(eh));

  const auto labels = test::ref_i64(ref, "labels");
  const auto ref_logits = test::ref_f32(ref, "logits_step0");
  DecoderState st = model_->start_decoder(enc, 2);
  std::vector<float> lg(static_cast<size_t>(B) * V);
  double loss = 0;
  for (int step = 0; step < 2; ++step) {
    std::vector<int> tokens(B);
    for (int b = 0; b < B; ++b) tokens[b] = step == 0 ? 0 : static_cast<int>(labels[b * 2]);
    model_->decode_step(st, tokens.data());
    model_->logits(st, lg.data());
    if (step == 0) {
      worst = 0;
      for (size_t i = 0; i < lg.size(); ++i) worst = std::max(worst, std::fabs(lg[i] - ref_logits[i]));
      EXPECT_LE(worst, 1e-4f * test::max_abs(ref_logits));
    }
    for (int b = 0; b < B; ++b) {
      const float* row = &lg[static_cast<size_t>(b) * V];
      loss += kernels::log_softmax(row, V, nullptr) - row[labels[b * 2 + step]];
    }
  }
  const double want = nlohmann::json::parse(read_file(kDir + "/reference.json"))["loss"].get<double>();
  EXPECT_NEAR(loss / (2 * B), want, 1e-5 * want);

  const auto gen_ref = test::ref_i64(ref, "generated");
  const int W = static_cast<int>(test::ref_shape(ref, "generated")[1]);
  const auto gen = model_->generate(enc, W - 1);
  for (int b = 0; b < B; ++b) {
    std::vector<int64_t> got(gen[b].begin(), gen[b].end());
    got.resize(W, 0);
    EXPECT_EQ(got, std::vector<int64_t>(gen_ref.begin() + b * W, gen_ref.begin() + (b + 1) * W)) << b;
  }
}

}  // namespace
}  // namespace emot5
