// Reading (memory-mapped, validated) and writing of the safetensors format:
// 8-byte little-endian header length, JSON header, then the tensors' bytes.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "io/tensor_source.h"

namespace emot5 {

class MappedFile;

class SafetensorsFile : public TensorSource {
 public:
  // Throws emot5::Error naming `path` for every structural problem: truncation, a header that
  // runs past the end, malformed JSON, unknown dtypes, offsets out of range or overlapping.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile() override;

  std::optional<TensorView> find(const std::string& name) const override;
  std::vector<std::string> names() const override;
  std::string origin(const std::string&) const override { return path_; }
  bool pages_can_be_released() const override { return true; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes `names` of `src` (all when empty) atomically (temp file + rename).
void write_safetensors(const std::string& path, const TensorSource& src,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace emot5
