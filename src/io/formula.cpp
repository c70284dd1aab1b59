// Formula weights (see formula.h and tests/data/FIXTURES.md).
#include "io/formula.h"

#include <cmath>
#include <cstring>

#include "io/layout.h"

namespace emot5 {

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

void formula_scale(const std::string& name, int64_t cols, double* scale, double* offset) {
  *offset = 0.0;
  if (name.find("layer_norm") != std::string::npos) {
    *scale = 0.2;
    *offset = 1.0;
  } else if (ends_with(name, "relative_attention_bias.weight") || name == "shared.weight" ||
             name == "lm_head.weight") {
    *scale = 1.0;
  } else {
    *scale = 1.0 / std::sqrt(static_cast<double>(cols));
  }
}

inline float formula_value(uint64_t seed, uint64_t i, double scale, double offset) {
  uint64_t z = seed + i * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  const double u = static_cast<double>(z >> 40) / 16777216.0;
  return static_cast<float>(offset + scale * (2.0 * u - 1.0));
}

}  // namespace

float formula_weight(uint64_t seed, uint64_t i, const std::string& name, int64_t cols) {
  double scale, offset;
  formula_scale(name, cols, &scale, &offset);
  return formula_value(seed, i, scale, offset);
}

std::shared_ptr<MemoryTensors> formula_weights(const T5Config& config) {
  auto out = std::make_shared<MemoryTensors>();
  for (const auto& spec : t5_parameter_specs(config)) {
    const int64_t cols = spec.shape.size() == 2 ? spec.shape[1] : 1;
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    std::vector<std::byte> bytes(static_cast<size_t>(n) * 4);
    auto* w = reinterpret_cast<float*>(bytes.data());
    const uint64_t seed = fnv1a64(spec.name);
    double scale, offset;
    formula_scale(spec.name, cols, &scale, &offset);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) w[i] = formula_value(seed, static_cast<uint64_t>(i), scale, offset);
    out->add(spec.name, DType::F32, spec.shape, std::move(bytes));
  }
  return out;
}

}  // namespace emot5
