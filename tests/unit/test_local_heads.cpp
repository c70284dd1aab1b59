// Encoder heads that start local (train/local_heads.h): which table cells change, and the
// settings refused. The expected buckets are T5's (HF's _relative_position_bucket, bidirectional,
// 32 buckets): offset d < 0 is bucket -d, offset d > 0 is bucket 16 + d, for |d| < 8.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "train/local_heads.h"

using emot5::train::set_local_heads;

TEST(LocalHeads, SetsEachHeadsOffsetBucketAndNothingElse) {
  const auto start = torch::randn({32, 8});
  auto table = start.clone();
  set_local_heads(table, {-2, -1, 0, 1, 2, 7}, 6.0, 32, 128);
  const int expected_bucket[] = {2, 1, 0, 17, 18, 23};
  auto want = start.clone();
  for (int h = 0; h < 6; ++h) want[expected_bucket[h]][h] = 6.0;
  EXPECT_TRUE(torch::equal(table, want));
  // Heads 6 and 7 keep their whole column.
  EXPECT_TRUE(torch::equal(table.slice(1, 6), start.slice(1, 6)));
}

TEST(LocalHeads, TheBiasDominatesTheStartingContentLogits) {
  // One head over 20 keys, content logits ~ N(0, 1) as at HF's init: with bias 6 at offset -1 the
  // head puts most of its weight on the previous token.
  auto table = torch::zeros({32, 1});
  set_local_heads(table, {-1}, 6.0, 32, 128);
  torch::manual_seed(1);
  const int q = 10, n = 20;
  auto logits = torch::randn({n});
  for (int k = 0; k < n; ++k) logits[k] += table[k <= q ? q - k : 16 + (k - q)][0];
  const auto w = torch::softmax(logits, 0);
  EXPECT_GT(w[q - 1].item<float>(), 0.8F);
}

TEST(LocalHeads, RefusesBadSettings) {
  auto table = torch::zeros({32, 4});
  EXPECT_THROW(set_local_heads(table, {0, 1, 2, 3, 4}, 6.0, 32, 128), std::invalid_argument);  // 5 offsets, 4 heads
  EXPECT_THROW(set_local_heads(table, {8}, 6.0, 32, 128), std::invalid_argument);  // bucket 8 holds 8..11
  EXPECT_THROW(set_local_heads(table, {-8}, 6.0, 32, 128), std::invalid_argument);
  EXPECT_THROW(set_local_heads(table, {0}, std::numeric_limits<double>::quiet_NaN(), 32, 128), std::invalid_argument);
  auto wrong = torch::zeros({16, 4});
  EXPECT_THROW(set_local_heads(wrong, {0}, 6.0, 32, 128), std::invalid_argument);
  EXPECT_THROW(set_local_heads(table, {0, 9}, 6.0, 32, 128), std::invalid_argument);  // checked before any write
  try {
    set_local_heads(table, {9}, 6.0, 32, 128);
    ADD_FAILURE() << "offset 9 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "--local-heads: offset 9 shares its bucket with other offsets (|offset| must be below 8)");
  }
  EXPECT_TRUE(torch::equal(table, torch::zeros({32, 4})));  // nothing written by a refused call
}
