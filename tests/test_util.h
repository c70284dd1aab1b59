// Helpers shared by the tests: fixture paths and reference tensors.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace emot5::test {

inline std::string data(const std::string& rel) { return std::string(EMOT5_TEST_DATA) + "/" + rel; }

inline std::vector<float> ref_f32(const SafetensorsFile& f, const std::string& name) {
  auto t = f.find(name);
  EXPECT_TRUE(t.has_value()) << name;
  return t ? to_f32(*t) : std::vector<float>{};
}
inline std::vector<int64_t> ref_i64(const SafetensorsFile& f, const std::string& name) {
  auto t = f.find(name);
  EXPECT_TRUE(t.has_value()) << name;
  return t ? to_i64(*t) : std::vector<int64_t>{};
}
inline std::vector<int64_t> ref_shape(const SafetensorsFile& f, const std::string& name) {
  return f.find(name)->shape;
}

inline float max_abs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

}  // namespace emot5::test
