// The libtorch trainer against Hugging Face: loss, step-0 gradients and their norms, and the
// parameters after 3 AdamW steps of a 10-step linear schedule (fixtures tiny-v10-f32 and
// tiny-v11-tied-bf16); and the libtorch forward against the inference engine on every fixture.
#include <nlohmann/json.hpp>

#include "io/checkpoint.h"
#include "io/file_util.h"
#include "io/formula.h"
#include "model/t5.h"
#include "test_util.h"
#include "train/optimizer.h"

namespace emot5::train {
namespace {

torch::Tensor as_tensor(const std::vector<int64_t>& v, const std::vector<int64_t>& shape) {
  return torch::tensor(v, torch::kInt64).view(shape);
}

TorchBatch reference_batch(const SafetensorsFile& ref) {
  const auto shape = test::ref_shape(ref, "input_ids");
  TorchBatch b;
  b.input_ids = as_tensor(test::ref_i64(ref, "input_ids"), shape);
  b.attention_mask = as_tensor(test::ref_i64(ref, "attention_mask"), shape);
  b.labels = as_tensor(test::ref_i64(ref, "labels"), test::ref_shape(ref, "labels"));
  // decoder_input_ids = [0, labels[:-1]], -100 replaced by pad.
  auto shifted = torch::zeros_like(b.labels);
  shifted.narrow(1, 1, b.labels.size(1) - 1).copy_(b.labels.narrow(1, 0, b.labels.size(1) - 1));
  b.decoder_input_ids = shifted.masked_fill(shifted == -100, 0);
  return b;
}

double rel_max_diff(const torch::Tensor& got, const std::vector<float>& want) {
  const auto w = torch::from_blob(const_cast<float*>(want.data()), got.sizes(), torch::kFloat32);
  return (got.detach() - w).abs().max().item<double>() / w.abs().max().item<double>();
}

class TrainParity : public ::testing::TestWithParam<const char*> {};

TEST_P(TrainParity, LossGradientsAndThreeAdamWSteps) {
  const std::string dir = test::data(GetParam());
  const Checkpoint ck = open_checkpoint(dir);
  TorchT5 model(ck.config, *ck.weights);
  const SafetensorsFile ref(dir + "/reference.safetensors");
  const auto meta = nlohmann::json::parse(read_file(dir + "/reference.json"));
  const auto batch = reference_batch(ref);
  ASSERT_EQ(ck.config.dropout_rate, 0.0f);

  TrainOptions o;  // the recipe: lr 5e-5, betas (0.9, 0.999), eps 1e-8, no weight decay, clip 1.0
  auto opt = make_adamw(model, o);
  const auto& steps = meta["train_steps"];
  for (int step = 0; step < 3; ++step) {
    const double lr = o.lr * lr_factor(step, 10, 0);
    EXPECT_NEAR(lr, steps[step]["lr"].get<double>(), 1e-12);
    if (step == 0) {
      // Gradients at step 0, before clipping.
      opt->zero_grad();
      auto loss = model.loss(batch, true);
      loss.backward();
      const double want_loss = steps[0]["loss"].get<double>();
      EXPECT_NEAR(loss.item<double>(), want_loss, 1e-5 * want_loss);
      for (const auto& [name, norm] : meta["grad_norms_step0"].items()) {
        const double got = model.param(name).grad().norm().item<double>();
        EXPECT_NEAR(got, norm.get<double>(), 1e-4 * std::max(1e-3, norm.get<double>())) << name;
      }
      int grads = 0;
      for (const auto& name : ref.names()) {
        if (name.rfind("grad.", 0) != 0) continue;
        const auto p = name.substr(5);
        EXPECT_LE(rel_max_diff(model.param(p).grad(), test::ref_f32(ref, name)), 1e-4) << p;
        ++grads;
      }
      EXPECT_GE(grads, 5);
    }
    const auto s = optimizer_step(model, *opt, batch, {.lr = lr, .max_grad_norm = o.max_grad_norm});
    const double want_loss = steps[step]["loss"].get<double>();
    const double want_norm = steps[step]["grad_norm_before_clip"].get<double>();
    EXPECT_NEAR(s.loss, want_loss, 1e-5 * want_loss) << "step " << step;
    EXPECT_NEAR(s.grad_norm, want_norm, 1e-4 * want_norm) << "step " << step;
  }
  // after3: within 2e-6 absolute for 99.9% of elements and 1.5e-4 for all.
  int tensors = 0;
  for (const auto& name : ref.names()) {
    if (name.rfind("after3.", 0) != 0) continue;
    const auto want = test::ref_f32(ref, name);
    const auto got = model.param(name.substr(7)).detach().contiguous();
    const float* g = got.data_ptr<float>();
    size_t close = 0;
    float worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      const float d = std::fabs(g[i] - want[i]);
      close += d <= 2e-6f;
      worst = std::max(worst, d);
    }
    EXPECT_GE(static_cast<double>(close), 0.999 * static_cast<double>(want.size())) << name;
    EXPECT_LE(worst, 1.5e-4f) << name;
    ++tensors;
  }
  EXPECT_GE(tensors, 3);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TrainParity, ::testing::Values("tiny-v10-f32", "tiny-v11-tied-bf16"));

// The libtorch forward (eval mode) and the inference engine give the same logits.
void expect_same_logits(const T5Config& config, std::shared_ptr<const TensorSource> weights,
                        const SafetensorsFile& ref) {
  TorchT5 tmodel(config, *weights);
  const T5Model engine(config, weights);
  const auto shape = test::ref_shape(ref, "input_ids");
  const auto ids = test::ref_i64(ref, "input_ids"), mask = test::ref_i64(ref, "attention_mask");
  const auto labels = test::ref_i64(ref, "labels");
  TorchBatch b;
  b.input_ids = as_tensor(ids, shape);
  b.attention_mask = as_tensor(mask, shape);
  const int64_t B = shape[0];
  std::vector<int64_t> dec;
  for (int64_t i = 0; i < B; ++i) {
    dec.push_back(0);
    dec.push_back(labels[static_cast<size_t>(i * 2)]);
  }
  b.decoder_input_ids = as_tensor(dec, {B, 2});
  torch::NoGradGuard no_grad;
  const auto tl = tmodel.forward(b, false).contiguous();

  std::vector<std::vector<int>> seqs(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i)
    for (int64_t j = 0; j < shape[1]; ++j)
      if (mask[static_cast<size_t>(i * shape[1] + j)]) seqs[static_cast<size_t>(i)].push_back(static_cast<int>(ids[static_cast<size_t>(i * shape[1] + j)]));
  const auto enc = engine.encode(PackedBatch::from(seqs));
  DecoderState st = engine.start_decoder(enc, 2);
  const int V = config.vocab_size;
  std::vector<float> lg(static_cast<size_t>(B) * V);
  for (int step = 0; step < 2; ++step) {
    std::vector<int> tok(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i) tok[static_cast<size_t>(i)] = static_cast<int>(dec[static_cast<size_t>(i * 2 + step)]);
    engine.decode_step(st, tok.data());
    engine.logits(st, lg.data());
    const auto t_step = tl.select(1, step).contiguous();
    EXPECT_LE(rel_max_diff(t_step, lg), 1e-4) << "step " << step;
  }
}

TEST(TorchForward, AgreesWithEngineOnEveryFixture) {
  for (const char* fx : {"tiny-v10-f32", "tiny-v11-tied-bf16", "tiny-v11-untied-f32"}) {
    SCOPED_TRACE(fx);
    const Checkpoint ck = open_checkpoint(test::data(fx));
    expect_same_logits(ck.config, ck.weights, SafetensorsFile(test::data(fx) + "/reference.safetensors"));
  }
  SCOPED_TRACE("flan-t5-small-formula");
  const T5Config c = flan_t5_small_config();
  expect_same_logits(c, formula_weights(c), SafetensorsFile(test::data("flan-t5-small-formula/reference.safetensors")));
}

}  // namespace
}  // namespace emot5::train
