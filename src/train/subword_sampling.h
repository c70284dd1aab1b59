// Subword regularization (Kudo, 2018): train on segmentations sampled from SentencePiece's
// unigram model instead of always its best one, so the model learns to read a word from the
// pieces it is made of and not only as one fixed string of pieces. Inference and evaluation keep
// the standard (best) segmentation, so the saved model is a standard checkpoint.
#pragma once
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/tokenizer.h"

namespace emot5::train {

class SubwordSampler {
 public:
  // Each word is re-cut by a draw from its `nbest` most likely segmentations, with probability
  // proportional to p(segmentation)^alpha: alpha 0 draws uniformly, a large alpha keeps the best
  // one. Throws std::invalid_argument for nbest < 1 or alpha < 0.
  SubwordSampler(const Tokenizer& tok, int nbest, double alpha);

  // `ids`, a text's standard encoding (what Tokenizer::encode gives), with each word (a piece
  // that opens with "▁" and the pieces that continue it) replaced by a sampled segmentation of the
  // same text; special tokens (pad, eos, unk, sentinels) and words holding one are kept as they
  // are, and so is a word whose best segmentation is not the one it has (text the normalizer
  // rewrote). The result decodes to the same text. A pure function of `ids` and `rng`'s state;
  // `max_length` > 0 truncates as the encoder would (eos kept last).
  std::vector<int> sample(const std::vector<int>& ids, std::mt19937_64& rng, int max_length = 0) const;

  // Fills the cache for every word of `texts` (sample() then never calls SentencePiece and may be
  // called from several threads at once). Returns the share of those words, counted with
  // repeats, whose drawn segmentation is expected not to be the standard one: how much the
  // sampling changes (for the log).
  double prepare(const std::vector<std::vector<int>>& texts);

 private:
  struct Choices {
    std::vector<std::vector<int>> cuts;  // best first
    std::vector<double> cumulative;      // cumulative probabilities, last = 1
  };
  const Choices& choices(const std::vector<int>& word) const;
  // The words of `ids`, in order; special tokens are words of their own and are not sampled.
  std::vector<std::vector<int>> words(const std::vector<int>& ids) const;

  const Tokenizer& tok_;
  int nbest_;
  double alpha_;
  std::vector<char> opens_word_;  // per id: its piece starts with "▁"
  int first_special_;             // ids from here on (sentinels) are special
  mutable std::unordered_map<std::string, Choices> cache_;  // key: the word's ids as bytes
};

}  // namespace emot5::train
