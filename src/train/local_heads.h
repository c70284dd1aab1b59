// Encoder heads that start local. T5's encoder shares one relative position bias table (layer 0's,
// [buckets, heads]) across its layers, and at HF's initialization its values (std d_model^-0.5)
// are far below the content logits (about 1), so every head starts by attending by content alone.
// Giving head h a large bias at the bucket of one relative offset makes it start by copying the
// token at that offset: with offsets -2..2 each layer starts as a width-5 convolution beside the
// remaining (global) heads, the locality a recurrent or convolutional text model has built in.
// Only the starting values change; training moves every one of them.
#pragma once
#include <vector>

#include <torch/torch.h>

namespace emot5::train {

// Sets table[bucket(offsets[h]), h] = bias for each listed head h, where bucket() is T5's
// bidirectional bucket of a relative offset (key position minus query position). Throws
// std::invalid_argument (naming --local-heads) for more offsets than heads, an offset outside the
// buckets that hold a single offset (|offset| < num_buckets / 4), a table of the wrong shape or
// a bias that is not finite.
void set_local_heads(torch::Tensor table, const std::vector<int>& offsets, double bias, int num_buckets,
                     int max_distance);

}  // namespace emot5::train
