// The flan-t5-small-formula checkpoint of tests/data/FIXTURES.md: every weight is a
// deterministic function of its name and index (FNV-1a seed, splitmix64 steps).
#pragma once
#include <memory>
#include <string>

#include "io/config.h"
#include "io/tensor_source.h"

namespace emot5 {

uint64_t fnv1a64(const std::string& s);
// Element i of parameter `name` with `cols` columns (1 for vectors).
float formula_weight(uint64_t seed, uint64_t i, const std::string& name, int64_t cols);

// All parameters of `config`, filled by the formula, in f32.
std::shared_ptr<MemoryTensors> formula_weights(const T5Config& config);

}  // namespace emot5
