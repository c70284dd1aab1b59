// The training data as token ids, the order of each epoch's rows, and padded batches for TorchT5.
// The order is a function of (seed, epoch) only, so that a resumed run sees the same batches.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "eval/dataset.h"
#include "text/labels.h"
#include "text/tokenizer.h"
#include "train/options.h"
#include "train/t5_torch.h"

namespace emot5::train {

struct EncodedData {
  std::vector<std::vector<int>> inputs;  // token ids with eos
  std::vector<int> labels;               // label index
  torch::Tensor soft;                    // (N, K) f32 on the CPU: a teacher's label distributions, or undefined
};

// Tokenizes every row once (prefix + text, truncated to `max_tokens` with eos kept).
EncodedData encode_dataset(const Dataset& ds, const Tokenizer& tok, const std::string& prefix, int max_tokens);

// The rows of `epoch` in the order they are batched: shuffled by (seed, epoch) unless
// --no-shuffle; with --group-by-length, runs of 50 batches sorted by length, then the batches
// shuffled (HF's group_by_length: far less padding).
std::vector<size_t> epoch_order(const EncodedData& data, const TrainOptions& o, int64_t epoch);

// Batch `pos` of an epoch whose rows are in `order`.
std::vector<size_t> batch_rows(const std::vector<size_t>& order, int64_t pos, int batch_size);

// Rows `idx` as a classification batch: inputs padded to the longest, targets the label's tokens +
// eos (-100 beyond their end), the decoder's inputs shifted right from `start_id`; with the
// teacher's distributions as soft targets where `data` has them.
TorchBatch make_batch(const EncodedData& data, const std::vector<size_t>& idx, const LabelSet& ls, int start_id,
                      torch::Device dev);

}  // namespace emot5::train
