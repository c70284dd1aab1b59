// Subword regularization (train/subword_sampling.h) on T5's spiece.model: the n-best list starts
// with the standard segmentation, every sample decodes to the text it came from, special tokens
// stay, a large alpha keeps the standard cut and a small one changes some, and the draws are a
// function of the generator's state.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "io/error.h"
#include "test_util.h"
#include "text/tokenizer.h"
#include "train/subword_sampling.h"

using emot5::Tokenizer;
using emot5::train::SubwordSampler;

namespace {

const Tokenizer& tok() {
  static const Tokenizer t(emot5::test::data("spiece.model"));
  return t;
}

const char* const kTexts[] = {
    "i feel splendid and overwhelmed today",
    "im feeling grouchy about the unbelievably long queue",
    "i didnt feel humiliated <extra_id_3> but i felt awkward 123 times",
    "caf\xc3\xa9 na\xc3\xafve \xe2\x80\x9cquoted\xe2\x80\x9d  spaced   words",
};

}  // namespace

TEST(Segmentations, BestFirstAndEqualToEncode) {
  for (const char* w : {"splendid", "overwhelmed", "unbelievably", "a"}) {
    const auto cuts = tok().segmentations(w, 8);
    ASSERT_FALSE(cuts.empty()) << w;
    EXPECT_EQ(cuts.front().ids, tok().encode_plain(w)) << w;
    for (size_t k = 1; k < cuts.size(); ++k) {
      EXPECT_LE(cuts[k].log_prob, cuts[k - 1].log_prob) << w;
      EXPECT_NE(cuts[k].ids, cuts.front().ids) << w;
      EXPECT_EQ(tok().decode(cuts[k].ids), w) << w;
    }
  }
  EXPECT_GT(tok().segmentations("unbelievably", 8).size(), 1u);
  EXPECT_THROW(tok().segmentations("bad \xff byte", 4), emot5::Error);
}

TEST(SubwordSampler, SamplesDecodeToTheSameTextAndKeepSpecials) {
  const SubwordSampler s(tok(), 8, 0.0);
  std::mt19937_64 rng(42);
  for (const char* text : kTexts) {
    const auto ids = tok().encode(text);
    std::set<std::vector<int>> seen;
    for (int k = 0; k < 50; ++k) {
      const auto cut = s.sample(ids, rng);
      EXPECT_EQ(tok().decode(cut), tok().decode(ids)) << text;
      ASSERT_FALSE(cut.empty());
      EXPECT_EQ(cut.back(), tok().eos_id());
      EXPECT_EQ(std::count(cut.begin(), cut.end(), 32096), std::count(ids.begin(), ids.end(), 32096)) << text;
      seen.insert(cut);
    }
    EXPECT_GT(seen.size(), 5u) << text;  // alpha 0: uniform over each word's 8 best
  }
}

TEST(SubwordSampler, AlphaControlsHowOftenTheCutChanges) {
  std::vector<std::vector<int>> texts;
  for (const char* text : kTexts) texts.push_back(tok().encode(text));
  SubwordSampler keep(tok(), 8, 50.0), flat(tok(), 8, 0.0), one(tok(), 1, 0.0);
  EXPECT_LT(keep.prepare(texts), 0.01);
  EXPECT_GT(flat.prepare(texts), 0.5);
  EXPECT_EQ(one.prepare(texts), 0.0);
  std::mt19937_64 rng(7);
  for (const auto& ids : texts) EXPECT_EQ(one.sample(ids, rng), ids);
}

TEST(SubwordSampler, DrawsAreAFunctionOfTheGenerator) {
  const SubwordSampler a(tok(), 8, 0.1), b(tok(), 8, 0.1);
  const auto ids = tok().encode(kTexts[1]);
  std::mt19937_64 r1(3), r2(3);
  for (int k = 0; k < 20; ++k) EXPECT_EQ(a.sample(ids, r1), b.sample(ids, r2));
}

TEST(SubwordSampler, TruncatesWithEosLast) {
  const SubwordSampler s(tok(), 8, 0.0);
  std::mt19937_64 rng(1);
  const auto ids = tok().encode(kTexts[1]);
  for (int k = 0; k < 20; ++k) {
    const auto cut = s.sample(ids, rng, static_cast<int>(ids.size()));
    EXPECT_LE(cut.size(), ids.size());
    EXPECT_EQ(cut.back(), tok().eos_id());
  }
}

TEST(SubwordSampler, RefusesBadSettings) {
  EXPECT_THROW(SubwordSampler(tok(), 0, 0.1), std::invalid_argument);
  EXPECT_THROW(SubwordSampler(tok(), 4, -1.0), std::invalid_argument);
}
