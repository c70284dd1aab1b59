// TorchT5::loss's smoothing and weighting (train/t5_torch.h LossOptions), each against the
// formula written out here over the model's own logits: HF's smoothing over the vocabulary, and
// class weights with it; knowledge distillation's mix with a teacher's distribution, with and
// without class weights; and the learning-rate schedule against values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "io/checkpoint.h"
#include "test_util.h"
#include "train/t5_torch.h"
#include "train/optimizer.h"

namespace emot5::train {
namespace {

// Three texts; targets of two tokens (a label word, eos), the third row's eos ignored (-100).
TorchBatch small_batch() {
  TorchBatch b;
  b.input_ids = torch::tensor({{100, 200, 300, 1}, {400, 500, 1, 0}, {600, 1, 0, 0}}, torch::kInt64);
  b.attention_mask = (b.input_ids != 0).to(torch::kInt64);
  b.attention_mask.index_put_({0, 3}, 1);
  b.labels = torch::tensor({{5, 1}, {7, 1}, {9, -100}}, torch::kInt64);
  b.decoder_input_ids = torch::tensor({{0, 5}, {0, 7}, {0, 9}}, torch::kInt64);
  return b;
}

// The expected loss, token by token in double: -log p(target), with e > 0 HF's
// (1-e)·that + e·mean over the whole vocabulary of -log p. The mean is weighted by `weight[target]`.
double expected(const torch::Tensor& logits, const torch::Tensor& labels, double e, const std::vector<double>& weight) {
  const auto logp = torch::log_softmax(logits.to(torch::kFloat64), -1);
  const auto lp = logp.accessor<double, 3>();
  const auto y = labels.accessor<int64_t, 2>();
  const int64_t V = logits.size(2);
  double sum = 0, wsum = 0;
  for (int64_t b = 0; b < labels.size(0); ++b)
    for (int64_t t = 0; t < labels.size(1); ++t) {
      if (y[b][t] == -100) continue;
      double l = -lp[b][t][y[b][t]];
      if (e > 0) {
        double m = 0;
        for (int64_t v = 0; v < V; ++v) m -= lp[b][t][v];
        l = (1 - e) * l + e * m / static_cast<double>(V);
      }
      const double w = weight.empty() ? 1.0 : weight[static_cast<size_t>(y[b][t])];
      sum += w * l;
      wsum += w;
    }
  return sum / wsum;
}

// Each row's KL(teacher ‖ student) in double, the student's distribution over `set` at position 0
// at temperature T, from the model's logits (B, T, V).
std::vector<double> kl_per_row(const torch::Tensor& logits, const std::vector<int64_t>& set,
                               const std::vector<std::vector<double>>& teacher, double T) {
  const auto l64 = logits.to(torch::kFloat64);
  const auto lg = l64.accessor<double, 3>();
  std::vector<double> out;
  for (int64_t b = 0; b < logits.size(0); ++b) {
    double mx = -1e300, z = 0, row = 0;
    for (int64_t k : set) mx = std::max(mx, lg[b][0][k] / T);
    for (int64_t k : set) z += std::exp(lg[b][0][k] / T - mx);
    for (size_t k = 0; k < set.size(); ++k) {
      const double p = teacher[static_cast<size_t>(b)][k];
      if (p > 0) row += p * (std::log(p) - (lg[b][0][set[k]] / T - mx - std::log(z)));
    }
    out.push_back(row);
  }
  return out;
}

// Three rows' teacher distributions over four label ids, and the same as a batch's soft targets.
const std::vector<std::vector<double>> kTeacher{{0.7, 0.2, 0.1, 0.0}, {0.1, 0.6, 0.2, 0.1}, {0.25, 0.25, 0.25, 0.25}};
torch::Tensor soft_targets(const std::vector<std::vector<double>>& teacher) {
  auto soft = torch::zeros({static_cast<int64_t>(teacher.size()), 4}, torch::kFloat32);
  for (size_t b = 0; b < teacher.size(); ++b)
    for (size_t k = 0; k < 4; ++k)
      soft.index_put_({static_cast<int64_t>(b), static_cast<int64_t>(k)}, teacher[b][k]);
  return soft;
}

class Loss : public ::testing::Test {
 protected:
  Loss() : ck_(open_checkpoint(test::data("tiny-v10-f32"))), model_(ck_.config, *ck_.weights) {}
  Checkpoint ck_;
  TorchT5 model_;
  TorchBatch batch_ = small_batch();
};

TEST_F(Loss, SmoothingOverTheVocabularyIsHfs) {
  torch::NoGradGuard no_grad;
  const auto logits = model_.forward(batch_, false);
  for (double e : {0.0, 0.1, 0.3}) {
    LossOptions o;
    o.label_smoothing = e;
    EXPECT_NEAR(model_.loss(batch_, false, o).item<double>(), expected(logits, batch_.labels, e, {}), 2e-5) << e;
  }
}

TEST_F(Loss, ClassWeightsWeighTheMean) {
  torch::NoGradGuard no_grad;
  const auto logits = model_.forward(batch_, false);
  std::vector<double> weight(static_cast<size_t>(logits.size(2)), 1.0);
  weight[5] = 3.0;
  weight[9] = 0.25;
  LossOptions o;
  o.class_weight = torch::tensor(std::vector<float>(weight.begin(), weight.end()));
  o.label_smoothing = 0.0;
  EXPECT_NEAR(model_.loss(batch_, false, o).item<double>(), expected(logits, batch_.labels, 0.0, weight), 2e-5);
}

// Knowledge distillation: (1-w)·the token loss + w·T²·mean over rows of KL(teacher ‖ student),
// the student's distribution over the label ids at position 0 at temperature T, written out here.
TEST_F(Loss, DistillationMixesTheTeachersDistributionAtTheLabelsPosition) {
  torch::NoGradGuard no_grad;
  const auto logits = model_.forward(batch_, false).to(torch::kFloat64);
  const std::vector<int64_t> set{5, 7, 9, 11};
  batch_.soft_targets = soft_targets(kTeacher);
  const double hard = expected(logits, batch_.labels, 0.0, {});
  for (double T : {1.0, 2.0})
    for (double w : {0.0, 0.3, 1.0}) {
      double kl = 0;
      for (double row : kl_per_row(logits, set, kTeacher, T)) kl += row / 3.0;
      LossOptions o;
      o.distill_ids = torch::tensor(set, torch::kInt64);
      o.distill_weight = w;
      o.distill_temperature = T;
      const double got = model_.loss(batch_, false, o).item<double>();
      EXPECT_NEAR(got, (1 - w) * hard + w * T * T * kl, 2e-5) << "T " << T << " w " << w;
      if (w > 0) {  // the teacher's term is not negligible here
        EXPECT_GT(std::fabs(got - hard), 1e-2) << "T " << T << " w " << w;
      }
    }
}

// With class weights, both terms are weighted means: the label loss as ClassWeightsWeighTheMean,
// and each row's KL by the weight of its gold label (its first target token: 5, 7 and 9 here).
TEST_F(Loss, ClassWeightsWeighTheDistillationTerm) {
  torch::NoGradGuard no_grad;
  const auto logits = model_.forward(batch_, false).to(torch::kFloat64);
  const std::vector<int64_t> set{5, 7, 9, 11};
  batch_.soft_targets = soft_targets(kTeacher);
  std::vector<double> weight(static_cast<size_t>(logits.size(2)), 1.0);
  weight[5] = 3.0;
  weight[9] = 0.25;
  const double T = 2.0, w = 0.5;
  const auto rows = kl_per_row(logits, set, kTeacher, T);
  const double kl = (3.0 * rows[0] + rows[1] + 0.25 * rows[2]) / (3.0 + 1.0 + 0.25);
  const double kl_plain = (rows[0] + rows[1] + rows[2]) / 3.0;
  LossOptions o;
  o.class_weight = torch::tensor(std::vector<float>(weight.begin(), weight.end()));
  o.distill_ids = torch::tensor(set, torch::kInt64);
  o.distill_weight = w;
  o.distill_temperature = T;
  const double hard = expected(logits, batch_.labels, 0.0, weight);
  const double got = model_.loss(batch_, false, o).item<double>();
  EXPECT_NEAR(got, (1 - w) * hard + w * T * T * kl, 2e-5);
  EXPECT_GT(std::fabs(got - ((1 - w) * hard + w * T * T * kl_plain)), 1e-3);  // the weights matter here
}

// transformers' linear schedule: warm-up over 10 of 100 steps, then linear decay to 0.
TEST(Schedule, LinearWarmupThenDecay) {
  EXPECT_DOUBLE_EQ(lr_factor(0, 100, 10), 0.0);
  EXPECT_DOUBLE_EQ(lr_factor(5, 100, 10), 0.5);
  EXPECT_DOUBLE_EQ(lr_factor(10, 100, 10), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(55, 100, 10), 0.5);
  EXPECT_DOUBLE_EQ(lr_factor(100, 100, 10), 0.0);
}

}  // namespace
}  // namespace emot5::train
