// T5's relative position buckets (T5Attention._relative_position_bucket in modeling_t5.py).
#pragma once

namespace emot5 {

// relative_position = key_position - query_position. Bidirectional in the encoder, causal in
// the decoder. Computed in float32 as PyTorch does, so bucket edges match exactly.
int relative_position_bucket(int relative_position, bool bidirectional, int num_buckets,
                             int max_distance);

}  // namespace emot5
