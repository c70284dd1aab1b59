// Encoder heads that start local (see local_heads.h).
#include "train/local_heads.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "model/relative_position.h"

namespace emot5::train {

void set_local_heads(torch::Tensor table, const std::vector<int>& offsets, double bias, int num_buckets,
                     int max_distance) {
  if (table.dim() != 2 || table.size(0) != num_buckets)
    throw std::invalid_argument("--local-heads: the encoder's relative position bias table is not [" +
                                std::to_string(num_buckets) + ", heads]");
  const auto heads = table.size(1);
  if (static_cast<int64_t>(offsets.size()) > heads)
    throw std::invalid_argument("--local-heads: " + std::to_string(offsets.size()) + " offsets for " +
                                std::to_string(heads) + " heads");
  if (!std::isfinite(bias)) throw std::invalid_argument("--local-bias must be a finite number");
  const int exact = num_buckets / 4;  // per direction, the first half of the buckets hold one offset each
  for (const int d : offsets)
    if (std::abs(d) >= exact)
      throw std::invalid_argument("--local-heads: offset " + std::to_string(d) +
                                  " shares its bucket with other offsets (|offset| must be below " +
                                  std::to_string(exact) + ")");
  torch::NoGradGuard no_grad;
  for (size_t h = 0; h < offsets.size(); ++h) {
    const int b = relative_position_bucket(offsets[h], true, num_buckets, max_distance);
    table[b][static_cast<int64_t>(h)].fill_(bias);
  }
}

}  // namespace emot5::train
