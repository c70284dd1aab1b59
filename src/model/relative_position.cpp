// Relative position buckets (see relative_position.h).
#include "model/relative_position.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace emot5 {

int relative_position_bucket(int rel, bool bidirectional, int num_buckets, int max_distance) {
  int bucket = 0;
  int n;
  if (bidirectional) {
    num_buckets /= 2;
    if (rel > 0) bucket += num_buckets;
    n = std::abs(rel);
  } else {
    n = -std::min(rel, 0);
  }
  const int max_exact = num_buckets / 2;
  if (n < max_exact) return bucket + n;
  // max_exact + (log(n / max_exact) / log(max_distance / max_exact) * (num_buckets - max_exact))
  // .to(long), in float32 tensors with a Python-float divisor.
  const float ratio = static_cast<float>(n) / static_cast<float>(max_exact);
  const float denom = static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact));
  const float v = std::log(ratio) / denom * static_cast<float>(num_buckets - max_exact);
  const int large = std::min(max_exact + static_cast<int>(v), num_buckets - 1);
  return bucket + large;
}

}  // namespace emot5
