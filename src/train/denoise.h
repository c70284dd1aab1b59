// T5's self-supervised objective, span corruption ("denoising"): about `noise_density` of a
// text's tokens, in spans of `mean_span` tokens on average, are replaced in the input by one
// sentinel each (<extra_id_0>, <extra_id_1>, ...); the target lists each sentinel followed by
// the tokens it hid, then eos. Used to pre-train a fresh model on the training texts themselves
// before fine-tuning (self-pre-training), as T5 was pre-trained on C4. Also token dropout, the
// input noise of classification training.
#pragma once
#include <random>
#include <vector>

namespace emot5::train {

struct DenoiseExample {
  std::vector<int> input;   // kept tokens and sentinels, then eos
  std::vector<int> target;  // sentinel, hidden tokens, sentinel, ..., then eos
};

// `tokens` are a text's ids with or without its final eos (it is dropped and re-added). Sentinel
// k is `first_sentinel - k` (T5: <extra_id_0> = 32099). As in T5's random_spans_noise_mask: the
// number of noise tokens is round(n · density) clamped to [1, n-1], the number of spans
// round(noise / mean_span) clamped to [1, min(noise, n - noise)], both random segmentations; the
// kept runs before the first and after the last span may be empty (T5 always ends with a span,
// which for short texts would always hide the last word). A one-token text has its token hidden.
DenoiseExample span_corrupt(const std::vector<int>& tokens, double density, double mean_span, int first_sentinel,
                            int eos_id, std::mt19937_64& rng);

// T5's prefix language modelling: the text is cut at a point drawn uniformly from 1 .. n-1 (n
// tokens without eos); the input is the part before it, then eos, the target the part after it,
// then eos. Unlike span corruption the input is plain text, as a classifier's inputs are, and the
// decoder must read the encoder to continue it. A one-token text gives that token as input and
// eos alone as target; an empty text, eos and eos.
DenoiseExample prefix_split(const std::vector<int>& tokens, int eos_id, std::mt19937_64& rng);

// Token dropout, a regularizer for classification: each of a text's tokens is deleted with
// probability `p`, independently; a final eos is kept, and so is at least one other token (one
// chosen at random when all would go). `p` = 0 returns the tokens unchanged.
std::vector<int> drop_tokens(const std::vector<int>& tokens, double p, int eos_id, std::mt19937_64& rng);

// The ids seen fewer than `below` times in `texts` (each id < `vocab`), except those in `keep`
// (special tokens, the label words): their embeddings would stay as drawn at initialization.
// --unk-below N trains with them read as <unk> and saves <unk>'s embedding in their rows, so a
// word the training texts lack (or had once) reads at inference as it did in training.
std::vector<int> rare_tokens(const std::vector<std::vector<int>>& texts, int below, int vocab,
                             const std::vector<int>& keep);

// Unknown-word dropout: each of a text's tokens is replaced by `unk_id` with probability `p`,
// independently; a final eos is kept. Teaches the model to read a sentence around a word it does
// not know, as it must at inference for words the training texts never had (see --unk-below).
std::vector<int> mask_tokens(const std::vector<int>& tokens, double p, int unk_id, int eos_id, std::mt19937_64& rng);

}  // namespace emot5::train
