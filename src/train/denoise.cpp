// Span corruption (see denoise.h).
#include "train/denoise.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace emot5::train {

namespace {

// Splits `n` items into `k` non-empty segments, uniformly over all such splits.
std::vector<int> random_segmentation(int n, int k, std::mt19937_64& rng) {
  std::vector<int> cuts(static_cast<size_t>(n - 1));
  for (int i = 0; i < n - 1; ++i) cuts[static_cast<size_t>(i)] = i + 1;
  std::shuffle(cuts.begin(), cuts.end(), rng);
  cuts.resize(static_cast<size_t>(k - 1));
  std::sort(cuts.begin(), cuts.end());
  std::vector<int> len;
  int prev = 0;
  for (int c : cuts) {
    len.push_back(c - prev);
    prev = c;
  }
  len.push_back(n - prev);
  return len;
}

// How many of a text's ids come before its final eos (all of them when it has none).
size_t text_length(const std::vector<int>& tokens, int eos_id) {
  return tokens.size() - (!tokens.empty() && tokens.back() == eos_id ? 1 : 0);
}

}  // namespace

DenoiseExample span_corrupt(const std::vector<int>& tokens, double density, double mean_span, int first_sentinel,
                            int eos_id, std::mt19937_64& rng) {
  if (!(density > 0 && density < 1)) throw std::invalid_argument("noise density must be in (0, 1)");
  if (!(mean_span >= 1)) throw std::invalid_argument("mean noise span length must be at least 1");
  const std::vector<int> t(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(text_length(tokens, eos_id)));
  const int n = static_cast<int>(t.size());
  DenoiseExample ex;
  if (n == 0) {
    ex.input = {eos_id};
    ex.target = {eos_id};
    return ex;
  }
  std::vector<int> keep_len, noise_len;
  if (n == 1) {
    keep_len = {0, 0};
    noise_len = {1};
  } else {
    const int noise = std::clamp(static_cast<int>(std::lround(n * density)), 1, n - 1);
    const int spans = std::clamp(static_cast<int>(std::lround(noise / mean_span)), 1, std::min(noise, n - noise));
    noise_len = random_segmentation(noise, spans, rng);
    // spans + 1 runs of kept tokens around the spans; the first and the last may be empty (two
    // extra items, one taken from each end), so that a short text's end is not always hidden.
    keep_len = random_segmentation(n - noise + 2, spans + 1, rng);
    keep_len.front() -= 1;
    keep_len.back() -= 1;
  }
  size_t pos = 0;
  for (size_t s = 0; s < noise_len.size(); ++s) {
    for (int i = 0; i < keep_len[s]; ++i) ex.input.push_back(t[pos++]);
    const int sentinel = first_sentinel - static_cast<int>(s);
    ex.input.push_back(sentinel);
    ex.target.push_back(sentinel);
    for (int i = 0; i < noise_len[s]; ++i) ex.target.push_back(t[pos++]);
  }
  for (int i = 0; i < keep_len.back(); ++i) ex.input.push_back(t[pos++]);
  ex.input.push_back(eos_id);
  ex.target.push_back(eos_id);
  return ex;
}

DenoiseExample prefix_split(const std::vector<int>& tokens, int eos_id, std::mt19937_64& rng) {
  const size_t n = text_length(tokens, eos_id);
  const size_t cut = n < 2 ? n : std::uniform_int_distribution<size_t>(1, n - 1)(rng);
  DenoiseExample ex;
  ex.input.assign(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(cut));
  ex.input.push_back(eos_id);
  ex.target.assign(tokens.begin() + static_cast<std::ptrdiff_t>(cut), tokens.begin() + static_cast<std::ptrdiff_t>(n));
  ex.target.push_back(eos_id);
  return ex;
}

std::vector<int> drop_tokens(const std::vector<int>& tokens, double p, int eos_id, std::mt19937_64& rng) {
  if (p < 0 || p >= 1) throw std::invalid_argument("token dropout must be in [0, 1)");
  const size_t n = text_length(tokens, eos_id);
  const bool has_eos = n < tokens.size();
  if (p == 0 || n == 0) return tokens;
  std::bernoulli_distribution drop(p);
  std::vector<int> out;
  out.reserve(tokens.size());
  for (size_t i = 0; i < n; ++i)
    if (!drop(rng)) out.push_back(tokens[i]);
  if (out.empty()) out.push_back(tokens[std::uniform_int_distribution<size_t>(0, n - 1)(rng)]);
  if (has_eos) out.push_back(eos_id);
  return out;
}

std::vector<int> rare_tokens(const std::vector<std::vector<int>>& texts, int below, int vocab,
                             const std::vector<int>& keep) {
  std::vector<int64_t> count(static_cast<size_t>(vocab), 0);
  for (const auto& t : texts)
    for (int id : t) {
      if (id < 0 || id >= vocab) throw std::out_of_range("token id " + std::to_string(id) + " outside the vocabulary");
      ++count[static_cast<size_t>(id)];
    }
  for (int id : keep)
    if (id >= 0 && id < vocab) count[static_cast<size_t>(id)] = below;
  std::vector<int> out;
  for (int id = 0; id < vocab; ++id)
    if (count[static_cast<size_t>(id)] < below) out.push_back(id);
  return out;
}

std::vector<int> mask_tokens(const std::vector<int>& tokens, double p, int unk_id, int eos_id, std::mt19937_64& rng) {
  if (p < 0 || p >= 1) throw std::invalid_argument("unknown-word dropout must be in [0, 1)");
  if (p == 0) return tokens;
  const size_t n = text_length(tokens, eos_id);
  std::bernoulli_distribution mask(p);
  std::vector<int> out = tokens;
  for (size_t i = 0; i < n; ++i)
    if (mask(rng)) out[i] = unk_id;
  return out;
}

}  // namespace emot5::train
