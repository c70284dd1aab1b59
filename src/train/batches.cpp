// Encoded data, epoch order and batches (see batches.h).
#include "train/batches.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace emot5::train {

EncodedData encode_dataset(const Dataset& ds, const Tokenizer& tok, const std::string& prefix, int max_tokens) {
  EncodedData e;
  e.inputs.resize(ds.rows.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < ds.rows.size(); ++i) e.inputs[i] = tok.encode(prefix + ds.rows[i].text, max_tokens);
  for (const auto& r : ds.rows) e.labels.push_back(r.label);
  return e;
}

namespace {

// Sorts runs of 50 batches by length, then shuffles the order of the batches (not their content).
void group_by_length(std::vector<size_t>& perm, const EncodedData& data, size_t bs, std::mt19937_64& rng) {
  const size_t mega = 50 * bs;
  for (size_t s = 0; s < perm.size(); s += mega) {
    const auto e = perm.begin() + static_cast<std::ptrdiff_t>(std::min(perm.size(), s + mega));
    std::stable_sort(perm.begin() + static_cast<std::ptrdiff_t>(s), e,
                     [&](size_t a, size_t b) { return data.inputs[a].size() > data.inputs[b].size(); });
  }
  const size_t nb = (perm.size() + bs - 1) / bs;
  std::vector<size_t> order(nb);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<size_t> out;
  out.reserve(perm.size());
  for (size_t b : order)
    for (size_t i = b * bs; i < std::min(perm.size(), (b + 1) * bs); ++i) out.push_back(perm[i]);
  perm.swap(out);
}

// Pads inputs to the longest in the batch; targets (ending in eos) are -100 beyond their end.
TorchBatch pad_batch(const std::vector<const std::vector<int>*>& inputs, const std::vector<std::vector<int>>& targets,
                     int start_id, torch::Device dev) {
  const auto B = static_cast<int64_t>(inputs.size());
  int64_t L = 1, T = 1;
  for (int64_t b = 0; b < B; ++b) {
    L = std::max<int64_t>(L, static_cast<int64_t>(inputs[static_cast<size_t>(b)]->size()));
    T = std::max<int64_t>(T, static_cast<int64_t>(targets[static_cast<size_t>(b)].size()));
  }
  auto ids = torch::zeros({B, L}, torch::kInt64), mask = torch::zeros({B, L}, torch::kInt64);
  auto labels = torch::full({B, T}, -100, torch::kInt64), dec = torch::zeros({B, T}, torch::kInt64);
  auto a_ids = ids.accessor<int64_t, 2>(), a_mask = mask.accessor<int64_t, 2>();
  auto a_lab = labels.accessor<int64_t, 2>(), a_dec = dec.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& in = *inputs[static_cast<size_t>(b)];
    for (size_t j = 0; j < in.size(); ++j) {
      a_ids[b][static_cast<int64_t>(j)] = in[j];
      a_mask[b][static_cast<int64_t>(j)] = 1;
    }
    const auto& target = targets[static_cast<size_t>(b)];
    for (size_t t = 0; t < target.size(); ++t) {
      a_lab[b][static_cast<int64_t>(t)] = target[t];
      a_dec[b][static_cast<int64_t>(t)] = t == 0 ? start_id : target[t - 1];
    }
  }
  return TorchBatch{ids.to(dev), mask.to(dev), dec.to(dev), labels.to(dev), {}};
}

}  // namespace

std::vector<size_t> epoch_order(const EncodedData& data, const TrainOptions& o, int64_t epoch) {
  std::vector<size_t> perm(data.inputs.size());
  std::iota(perm.begin(), perm.end(), 0);
  if (o.no_shuffle) return perm;
  std::mt19937_64 rng(o.seed * 1000003ull + static_cast<uint64_t>(epoch));
  std::shuffle(perm.begin(), perm.end(), rng);
  if (o.group_by_length) group_by_length(perm, data, static_cast<size_t>(o.batch_size), rng);
  return perm;
}

std::vector<size_t> batch_rows(const std::vector<size_t>& order, int64_t pos, int batch_size) {
  const auto b0 = static_cast<size_t>(pos) * static_cast<size_t>(batch_size);
  const auto b1 = std::min(order.size(), b0 + static_cast<size_t>(batch_size));
  return {order.begin() + static_cast<std::ptrdiff_t>(b0), order.begin() + static_cast<std::ptrdiff_t>(b1)};
}

TorchBatch make_batch(const EncodedData& data, const std::vector<size_t>& idx, const LabelSet& ls, int start_id,
                      torch::Device dev) {
  std::vector<const std::vector<int>*> inputs;
  std::vector<std::vector<int>> targets;
  for (size_t i : idx) {
    inputs.push_back(&data.inputs[i]);
    targets.push_back(ls.tokens[static_cast<size_t>(data.labels[i])]);
    targets.back().push_back(1);  // eos
  }
  auto batch = pad_batch(inputs, targets, start_id, dev);
  if (data.soft.defined()) {
    const std::vector<int64_t> rows(idx.begin(), idx.end());
    batch.soft_targets = data.soft.index_select(0, torch::tensor(rows, torch::kInt64)).to(dev);
  }
  return batch;
}

}  // namespace emot5::train
