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
  std::vector<std::byte> bytes(v.size() * 4);
  std::memcpy(bytes.data(), v.data(), bytes.size());
  add(name, DType::F32, std::move(shape), std::move(bytes));
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
