// A TensorSource maps tensor names to views: one safetensors file, a sharded checkpoint, or
// tensors built in memory (the formula model, a trainer's output).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/tensor.h"

namespace emot5 {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual std::optional<TensorView> find(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  // Where `name` lives, for error messages (a file path, or "memory").
  virtual std::string origin(const std::string& name) const = 0;
  // True when tensors are read-only file mappings whose pages may be dropped once copied (they
  // are read back from the file if touched); false for memory that holds the only copy.
  virtual bool pages_can_be_released() const { return false; }
};

// Owns its tensors; used for generated weights and for writing files.
class MemoryTensors : public TensorSource {
 public:
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape,
           std::vector<std::byte> bytes);
  void add_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v);
  // v stored as dtype F32, BF16 or F16 (rounded to nearest even); std::invalid_argument otherwise.
  void add_rounded(const std::string& name, DType dtype, std::vector<int64_t> shape, const std::vector<float>& v);
  std::optional<TensorView> find(const std::string& name) const override;
  std::vector<std::string> names() const override;
  std::string origin(const std::string&) const override { return "memory"; }

 private:
  struct Entry {
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<std::byte> bytes;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace emot5
