// MemoryTensors: a TensorSource that owns its bytes.
#include "io/tensor_source.h"

#include <cstring>
#include <stdexcept>

namespace emot5 {

void MemoryTensors::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                        std::vector<std::byte> bytes) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (static_cast<size_t>(n) * dtype_size(dtype) != bytes.size())
    throw std::invalid_argument("MemoryTensors::add: " + name + ": " + std::to_string(bytes.size()) +
                                " bytes do not fit shape " + shape_str(shape));
  entries_[name] = Entry{dtype, std::move(shape), std::move(bytes)};
}

void MemoryTensors::add_f32(const std::string& name, std::vector<int64_t> shape,
                            const std::vector<float>& v) {
  add_rounded(name, DType::F32, std::move(shape), v);
}

void MemoryTensors::add_rounded(const std::string& name, DType dtype, std::vector<int64_t> shape,
                                const std::vector<float>& v) {
  if (dtype != DType::F32 && dtype != DType::BF16 && dtype != DType::F16)
    throw std::invalid_argument("MemoryTensors::add_rounded: " + name + ": cannot store " + dtype_name(dtype));
  std::vector<std::byte> bytes(v.size() * dtype_size(dtype));
  if (dtype == DType::F32) {
    std::memcpy(bytes.data(), v.data(), bytes.size());
  } else {
    for (size_t i = 0; i < v.size(); ++i) {
      const uint16_t h = dtype == DType::BF16 ? f32_to_bf16(v[i]) : f32_to_f16(v[i]);
      std::memcpy(&bytes[2 * i], &h, 2);
    }
  }
  add(name, dtype, std::move(shape), std::move(bytes));
}

std::optional<TensorView> MemoryTensors::find(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  return TensorView{it->second.dtype, it->second.shape, it->second.bytes.data(),
                    it->second.bytes.size()};
}

std::vector<std::string> MemoryTensors::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) out.push_back(k);
  return out;
}

}  // namespace emot5
