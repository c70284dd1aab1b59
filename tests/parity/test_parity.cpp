// Parity with Hugging Face transformers on the tiny fixture checkpoints: encoder output, teacher-
// forced logits, loss and greedy generation, within tests/data/FIXTURES.md's tolerances.
#include <nlohmann/json.hpp>

#include "io/checkpoint.h"
#include "io/file_util.h"
#include "model/t5.h"
#include "test_util.h"

namespace emot5 {
namespace {

using test::data;

struct Fixture {
  std::string dir;
};

class ParityTest : public ::testing::TestWithParam<const char*> {};

// Rebuilds the packed batch from the reference input_ids / attention_mask.
PackedBatch batch_from(const SafetensorsFile& ref, int* B, int* L) {
  const auto shape = test::ref_shape(ref, "input_ids");
  *B = static_cast<int>(shape[0]);
  *L = static_cast<int>(shape[1]);
  const auto ids = test::ref_i64(ref, "input_ids");
  const auto mask = test::ref_i64(ref, "attention_mask");
  std::vector<std::vector<int>> seqs(*B);
  for (int b = 0; b < *B; ++b)
    for (int i = 0; i < *L; ++i)
      if (mask[b * *L + i]) seqs[b].push_back(static_cast<int>(ids[b * *L + i]));
  return PackedBatch::from(seqs);
}

TEST_P(ParityTest, EncoderLogitsLossAndGeneration) {
  const std::string dir = data(GetParam());
  const Checkpoint ck = open_checkpoint(dir);
  const T5Model model(ck.config, ck.weights);
  const SafetensorsFile ref(dir + "/reference.safetensors");
  int B, L;
  const PackedBatch batch = batch_from(ref, &B, &L);
  const int D = ck.config.d_model, V = ck.config.vocab_size;

  // encoder_hidden at unpadded positions, within 1e-4 of the tensor's max magnitude.
  const EncoderOutput enc = model.encode(batch);
  const auto eh = test::ref_f32(ref, "encoder_hidden");
  const float etol = 1e-4f * test::max_abs(eh);
  float worst = 0;
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < batch.length(b); ++i)
      for (int d = 0; d < D; ++d) {
        const float got = enc.hidden[static_cast<size_t>(batch.offsets[b] + i) * D + d];
        const float want = eh[(static_cast<size_t>(b) * L + i) * D + d];
        worst = std::max(worst, std::fabs(got - want));
      }
  EXPECT_LE(worst, etol) << "encoder_hidden max |diff|";

  // Teacher-forced logits: decoder inputs [0, labels[0]].
  const auto labels = test::ref_i64(ref, "labels");
  const auto ref_logits = test::ref_f32(ref, "logits");
  const float ltol = 1e-4f * test::max_abs(ref_logits);
  DecoderState st = model.start_decoder(enc, 2);
  std::vector<float> lg(static_cast<size_t>(B) * V);
  double loss = 0;
  int count = 0;
  worst = 0;
  for (int step = 0; step < 2; ++step) {
    std::vector<int> tokens(B);
    for (int b = 0; b < B; ++b)
      tokens[b] = step == 0 ? ck.config.decoder_start_token_id : static_cast<int>(labels[b * 2]);
    model.decode_step(st, tokens.data());
    model.logits(st, lg.data());
    for (int b = 0; b < B; ++b) {
      const float* row = &lg[static_cast<size_t>(b) * V];
      for (int v = 0; v < V; ++v)
        worst = std::max(worst, std::fabs(row[v] - ref_logits[(static_cast<size_t>(b) * 2 + step) * V + v]));
      const int target = static_cast<int>(labels[b * 2 + step]);
      if (target >= 0) {
        loss += kernels::log_softmax(row, V, nullptr) - row[target];
        ++count;
      }
    }
  }
  EXPECT_LE(worst, ltol) << "logits max |diff|";
  const auto meta = nlohmann::json::parse(read_file(dir + "/reference.json"));
  const double want_loss = meta["loss_eval"].get<double>();
  EXPECT_NEAR(loss / count, want_loss, 1e-5 * std::fabs(want_loss));

  // Greedy generation: identical ids, padded with 0 to the reference width.
  const auto gen_ref = test::ref_i64(ref, "generated");
  const int W = static_cast<int>(test::ref_shape(ref, "generated")[1]);
  const auto gen = model.generate(enc, W - 1);
  for (int b = 0; b < B; ++b) {
    std::vector<int64_t> want(gen_ref.begin() + b * W, gen_ref.begin() + (b + 1) * W);
    std::vector<int64_t> got(gen[b].begin(), gen[b].end());
    got.resize(W, 0);
    EXPECT_EQ(got, want) << "row " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ParityTest,
                         ::testing::Values("tiny-v10-f32", "tiny-v11-tied-bf16", "tiny-v11-untied-f32"));

}  // namespace
}  // namespace emot5
