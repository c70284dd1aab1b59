// Subword regularization (see subword_sampling.h).
#include "train/subword_sampling.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace emot5::train {

namespace {
const std::string kSpace = "\xe2\x96\x81";  // "▁"

std::string key_of(const std::vector<int>& ids) {
  return std::string(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int));
}
}  // namespace

SubwordSampler::SubwordSampler(const Tokenizer& tok, int nbest, double alpha) : tok_(tok), nbest_(nbest), alpha_(alpha) {
  if (nbest < 1) throw std::invalid_argument("--subword-nbest must be at least 1");
  if (!(alpha >= 0)) throw std::invalid_argument("--subword-alpha must be 0 or more");
  // SentencePiece's own pieces come first; the extra ids (sentinels) follow them.
  first_special_ = tok.vocab_size();
  while (first_special_ > 0 && tok.id_to_piece(first_special_ - 1).starts_with("<extra_id_")) --first_special_;
  opens_word_.resize(static_cast<size_t>(first_special_));
  for (int id = 0; id < first_special_; ++id) opens_word_[static_cast<size_t>(id)] = tok.id_to_piece(id).starts_with(kSpace);
}

std::vector<std::vector<int>> SubwordSampler::words(const std::vector<int>& ids) const {
  std::vector<std::vector<int>> out;
  auto special = [&](int id) {
    return id < 0 || id >= first_special_ || id == tok_.pad_id() || id == tok_.eos_id() || id == tok_.unk_id();
  };
  for (size_t i = 0; i < ids.size();) {
    size_t j = i + 1;
    if (!special(ids[i]))
      while (j < ids.size() && !special(ids[j]) && !opens_word_[static_cast<size_t>(ids[j])]) ++j;
    out.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(i), ids.begin() + static_cast<std::ptrdiff_t>(j));
    i = j;
  }
  return out;
}

const SubwordSampler::Choices& SubwordSampler::choices(const std::vector<int>& word) const {
  const std::string key = key_of(word);
  if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  Choices c;
  const int first = word.front();
  const bool plain = first >= 0 && first < first_special_ && opens_word_[static_cast<size_t>(first)] &&
                     first != tok_.unk_id();
  if (plain) {
    std::string text;
    for (int id : word) text += tok_.id_to_piece(id);
    // The word's text without its "▁" (SentencePiece adds it back as the dummy prefix).
    text = text.substr(kSpace.size());
    auto cuts = text.empty() ? std::vector<Segmentation>{} : tok_.segmentations(text, nbest_);
    if (!cuts.empty() && cuts.front().ids == word) {
      const double best = cuts.front().log_prob;
      double sum = 0;
      for (const auto& s : cuts) {
        sum += std::exp(alpha_ * (static_cast<double>(s.log_prob) - best));
        c.cuts.push_back(s.ids);
        c.cumulative.push_back(sum);
      }
      for (double& x : c.cumulative) x /= sum;
      c.cumulative.back() = 1.0;
    }
  }
  if (c.cuts.empty()) {
    c.cuts.push_back(word);
    c.cumulative.push_back(1.0);
  }
  return cache_.emplace(key, std::move(c)).first->second;
}

double SubwordSampler::prepare(const std::vector<std::vector<int>>& texts) {
  double changed = 0;
  size_t n = 0;
  for (const auto& t : texts)
    for (const auto& word : words(t)) {
      changed += 1.0 - choices(word).cumulative.front();
      ++n;
    }
  return n ? changed / static_cast<double>(n) : 0.0;
}

std::vector<int> SubwordSampler::sample(const std::vector<int>& ids, std::mt19937_64& rng, int max_length) const {
  std::vector<int> out;
  out.reserve(ids.size() + 8);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (const auto& word : words(ids)) {
    const Choices& c = choices(word);
    size_t k = 0;
    if (c.cuts.size() > 1) {
      const double x = u(rng);
      k = static_cast<size_t>(std::upper_bound(c.cumulative.begin(), c.cumulative.end(), x) - c.cumulative.begin());
      k = std::min(k, c.cuts.size() - 1);
    }
    out.insert(out.end(), c.cuts[k].begin(), c.cuts[k].end());
  }
  if (max_length > 0 && out.size() > static_cast<size_t>(max_length)) {
    const int last = out.back();
    out.resize(static_cast<size_t>(max_length));
    if (last == tok_.eos_id()) out.back() = last;
  }
  return out;
}

}  // namespace emot5::train
