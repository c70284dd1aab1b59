// A read-only view of one stored tensor (dtype, shape, raw bytes) and the dtypes we read.
// Views do not own memory: the TensorSource that produced them keeps it alive.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace emot5 {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
bool parse_dtype(const std::string& s, DType* out);

struct TensorView {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;
};

std::string shape_str(const std::vector<int64_t>& shape);

// Converts any floating tensor to f32 (exact for f16 and bf16). Integer tensors too.
std::vector<float> to_f32(const TensorView& t);
// Integer tensors to int64.
std::vector<int64_t> to_i64(const TensorView& t);

float bf16_to_f32(uint16_t h);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  // round to nearest even
uint16_t f32_to_f16(float f);   // round to nearest even

}  // namespace emot5
