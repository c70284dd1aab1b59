// Opening a checkpoint directory in Hugging Face's layout: config.json, model.safetensors or a
// sharded model.safetensors.index.json, spiece.model; plus emot5.json (labels) when present.
#pragma once
#include <memory>
#include <string>

#include "io/config.h"
#include "io/tensor_source.h"

namespace emot5 {

struct Checkpoint {
  std::string dir;
  T5Config config;
  std::shared_ptr<const TensorSource> weights;
  std::string spiece_path;  // empty when the directory has no spiece.model
  std::string emot5_json;   // text of emot5.json, empty when absent
};

// Throws emot5::Error naming the file for a missing or malformed config.json, missing weights,
// and every safetensors problem.
Checkpoint open_checkpoint(const std::string& dir);

// Several safetensors files behind one name space (model.safetensors.index.json).
class ShardedSafetensors : public TensorSource {
 public:
  explicit ShardedSafetensors(const std::string& index_path);
  std::optional<TensorView> find(const std::string& name) const override;
  std::vector<std::string> names() const override;
  std::string origin(const std::string& name) const override;
  bool pages_can_be_released() const override { return true; }

 private:
  std::vector<std::unique_ptr<class SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;
};

}  // namespace emot5
