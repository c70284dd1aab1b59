// Span corruption (train/denoise.h): the input and target together give back the text, the
// amount of noise and the number of spans follow T5's rule, and the noise depends on the seed only;
// prefix LM cuts a text in two at a uniform point; token dropout keeps order, eos and one token,
// and drops at its rate.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "train/denoise.h"

using emot5::train::span_corrupt;

namespace {

constexpr int kSentinel = 32099, kEos = 1;

bool is_sentinel(int id) { return id > kSentinel - 100 && id <= kSentinel; }

// Puts the hidden spans back in place of their sentinels.
std::vector<int> restore(const emot5::train::DenoiseExample& ex) {
  std::vector<int> out;
  for (int id : ex.input) {
    if (id == kEos) break;
    if (!is_sentinel(id)) {
      out.push_back(id);
      continue;
    }
    size_t i = 0;
    while (ex.target[i] != id) ++i;
    for (++i; i < ex.target.size() && !is_sentinel(ex.target[i]) && ex.target[i] != kEos; ++i) out.push_back(ex.target[i]);
  }
  return out;
}

}  // namespace

TEST(Denoise, RestoresTheTextAndFollowsT5sCounts) {
  std::mt19937_64 rng(1);
  for (int n = 1; n <= 60; ++n) {
    std::vector<int> text(static_cast<size_t>(n));
    std::iota(text.begin(), text.end(), 100);
    auto with_eos = text;
    with_eos.push_back(kEos);
    for (int rep = 0; rep < 20; ++rep) {
      const auto ex = span_corrupt(with_eos, 0.2, 3.0, kSentinel, kEos, rng);
      ASSERT_EQ(restore(ex), text) << "n=" << n;
      ASSERT_EQ(ex.input.back(), kEos);
      ASSERT_EQ(ex.target.back(), kEos);
      int spans = 0, hidden = 0;
      for (int id : ex.target) {
        if (is_sentinel(id)) {
          ASSERT_EQ(id, kSentinel - spans) << "sentinels are numbered in order";
          ++spans;
        } else if (id != kEos) {
          ++hidden;
        }
      }
      const int want_noise = n == 1 ? 1 : std::clamp(static_cast<int>(std::lround(n * 0.2)), 1, n - 1);
      EXPECT_EQ(hidden, want_noise) << "n=" << n;
      const int want_spans = n == 1 ? 1 : std::clamp(static_cast<int>(std::lround(want_noise / 3.0)), 1,
                                                     std::min(want_noise, n - want_noise));
      EXPECT_EQ(spans, want_spans) << "n=" << n;
      // Two spans are never adjacent: a kept token separates consecutive sentinels.
      for (size_t i = 1; i < ex.input.size(); ++i)
        EXPECT_FALSE(is_sentinel(ex.input[i]) && is_sentinel(ex.input[i - 1]));
    }
  }
}

TEST(Denoise, NoiseIsAFunctionOfTheSeedAndVaries) {
  std::vector<int> text(30);
  std::iota(text.begin(), text.end(), 100);
  std::mt19937_64 a(5), b(5);
  const auto ea = span_corrupt(text, 0.15, 3.0, kSentinel, kEos, a);
  const auto eb = span_corrupt(text, 0.15, 3.0, kSentinel, kEos, b);
  EXPECT_EQ(ea.input, eb.input);
  EXPECT_EQ(ea.target, eb.target);
  // Over many seeds the first and the last token are each sometimes hidden, sometimes kept.
  int first_hidden = 0, last_hidden = 0;
  for (uint64_t s = 0; s < 200; ++s) {
    std::mt19937_64 r(s);
    const auto e = span_corrupt(text, 0.15, 3.0, kSentinel, kEos, r);
    first_hidden += is_sentinel(e.input.front());
    last_hidden += is_sentinel(e.input[e.input.size() - 2]);
  }
  EXPECT_GT(first_hidden, 0);
  EXPECT_LT(first_hidden, 200);
  EXPECT_GT(last_hidden, 0);
  EXPECT_LT(last_hidden, 200);
}

TEST(Denoise, RejectsBadSettings) {
  std::mt19937_64 rng(1);
  EXPECT_THROW(span_corrupt({5, 6, 7}, 0.0, 3.0, kSentinel, kEos, rng), std::invalid_argument);
  EXPECT_THROW(span_corrupt({5, 6, 7}, 1.0, 3.0, kSentinel, kEos, rng), std::invalid_argument);
  EXPECT_THROW(span_corrupt({5, 6, 7}, 0.2, 0.5, kSentinel, kEos, rng), std::invalid_argument);
  const auto empty = span_corrupt({kEos}, 0.2, 3.0, kSentinel, kEos, rng);
  EXPECT_EQ(empty.input, std::vector<int>{kEos});
}

TEST(PrefixLm, SplitsTheTextAtAUniformPointWithEosOnBothSides) {
  std::mt19937_64 rng(3);
  const std::vector<int> text = {10, 11, 12, 13, 14, kEos};
  std::vector<int> cuts(6, 0);
  for (int k = 0; k < 4000; ++k) {
    const auto ex = emot5::train::prefix_split(text, kEos, rng);
    ASSERT_EQ(ex.input.back(), kEos);
    ASSERT_EQ(ex.target.back(), kEos);
    std::vector<int> joined(ex.input.begin(), ex.input.end() - 1);
    joined.insert(joined.end(), ex.target.begin(), ex.target.end());
    ASSERT_EQ(joined, text);  // prefix + continuation give back the text and its eos
    ++cuts[ex.input.size() - 1];
  }
  // Cut after 1, 2, 3 or 4 of the 5 tokens, each about a quarter of the time; never 0 or 5.
  EXPECT_EQ(cuts[0], 0);
  EXPECT_EQ(cuts[5], 0);
  for (int c = 1; c <= 4; ++c) EXPECT_NEAR(cuts[static_cast<size_t>(c)] / 4000.0, 0.25, 0.03) << "cut " << c;
  // Without a final eos the same holds; a one-token text is all input, an empty one eos and eos.
  const auto no_eos = emot5::train::prefix_split({7, 8}, kEos, rng);
  EXPECT_EQ(no_eos.input, (std::vector<int>{7, kEos}));
  EXPECT_EQ(no_eos.target, (std::vector<int>{8, kEos}));
  const auto one = emot5::train::prefix_split({7, kEos}, kEos, rng);
  EXPECT_EQ(one.input, (std::vector<int>{7, kEos}));
  EXPECT_EQ(one.target, (std::vector<int>{kEos}));
  const auto empty = emot5::train::prefix_split({}, kEos, rng);
  EXPECT_EQ(empty.input, (std::vector<int>{kEos}));
  EXPECT_EQ(empty.target, (std::vector<int>{kEos}));
}

TEST(TokenDropout, KeepsOrderEosAndOneTokenAndDropsAtTheRate) {
  using emot5::train::drop_tokens;
  std::vector<int> text(40);
  std::iota(text.begin(), text.end(), 100);
  text.push_back(kEos);
  std::mt19937_64 rng(3);
  EXPECT_EQ(drop_tokens(text, 0.0, kEos, rng), text);
  size_t kept = 0;
  for (int rep = 0; rep < 500; ++rep) {
    const auto out = drop_tokens(text, 0.25, kEos, rng);
    ASSERT_GE(out.size(), 2u);
    EXPECT_EQ(out.back(), kEos);
    for (size_t i = 0; i + 2 < out.size(); ++i) EXPECT_LT(out[i], out[i + 1]);  // a subsequence, in order
    kept += out.size() - 1;
  }
  EXPECT_NEAR(static_cast<double>(kept) / (500.0 * 40.0), 0.75, 0.02);
  // Nearly everything dropped: one real token stays, before eos; without eos none is added.
  for (int rep = 0; rep < 50; ++rep) {
    const auto out = drop_tokens(text, 0.999, kEos, rng);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_GE(out[0], 100);
    EXPECT_EQ(out[1], kEos);
    EXPECT_EQ(drop_tokens({7, 8}, 0.999, kEos, rng).size(), 1u);
  }
  std::mt19937_64 a(9), b(9);
  EXPECT_EQ(drop_tokens(text, 0.3, kEos, a), drop_tokens(text, 0.3, kEos, b));
  EXPECT_THROW(drop_tokens(text, 1.0, kEos, rng), std::invalid_argument);
  EXPECT_EQ(drop_tokens({kEos}, 0.5, kEos, rng), std::vector<int>{kEos});
}

TEST(UnknownWords, RareTokensAreThoseSeenFewerTimesExceptTheKeptOnes) {
  using emot5::train::rare_tokens;
  // Counts over the texts: 3 → 3, 4 → 1, 5 → 2, 1 (eos) → 3; 0, 2, 6, 7 never.
  const std::vector<std::vector<int>> texts{{3, 4, 5, kEos}, {3, 5, kEos}, {3, kEos}};
  EXPECT_EQ(rare_tokens(texts, 2, 8, {}), (std::vector<int>{0, 2, 4, 6, 7}));
  EXPECT_EQ(rare_tokens(texts, 3, 8, {0, 6}), (std::vector<int>{2, 4, 5, 7}));
  EXPECT_TRUE(rare_tokens(texts, 0, 8, {}).empty());
  EXPECT_THROW(rare_tokens({{9}}, 2, 8, {}), std::out_of_range);
}

TEST(UnknownWords, MaskTokensReplacesAtTheRateAndKeepsEos) {
  using emot5::train::mask_tokens;
  constexpr int kUnk = 2;
  std::vector<int> text(40);
  std::iota(text.begin(), text.end(), 100);
  text.push_back(kEos);
  std::mt19937_64 rng(5);
  EXPECT_EQ(mask_tokens(text, 0.0, kUnk, kEos, rng), text);
  size_t masked = 0;
  for (int rep = 0; rep < 500; ++rep) {
    const auto out = mask_tokens(text, 0.2, kUnk, kEos, rng);
    ASSERT_EQ(out.size(), text.size());
    EXPECT_EQ(out.back(), kEos);
    for (size_t i = 0; i + 1 < out.size(); ++i) {
      EXPECT_TRUE(out[i] == text[i] || out[i] == kUnk);
      masked += out[i] == kUnk;
    }
  }
  EXPECT_NEAR(static_cast<double>(masked) / (500.0 * 40.0), 0.2, 0.02);
  std::mt19937_64 a(9), b(9);
  EXPECT_EQ(mask_tokens(text, 0.3, kUnk, kEos, a), mask_tokens(text, 0.3, kUnk, kEos, b));
  EXPECT_THROW(mask_tokens(text, 1.0, kUnk, kEos, rng), std::invalid_argument);
  EXPECT_EQ(mask_tokens({kEos}, 0.5, kUnk, kEos, rng), std::vector<int>{kEos});
}
