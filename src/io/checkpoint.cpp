// Checkpoint directories (see checkpoint.h).
#include "io/checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/file_util.h"
#include "io/json_util.h"
#include "io/safetensors.h"

namespace emot5 {

namespace fs = std::filesystem;

ShardedSafetensors::ShardedSafetensors(const std::string& index_path) {
  nlohmann::json j = parse_json_object(read_file(index_path), index_path);
  if (!j.contains("weight_map") || !j["weight_map"].is_object())
    throw Error(index_path + ": missing object field 'weight_map'");
  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, size_t> file_index;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) throw Error(index_path + ": weight_map['" + it.key() + "'] is not a file name");
    const std::string shard = it.value().get<std::string>();
    if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
      throw Error(index_path + ": weight_map['" + it.key() + "'] names '" + shard + "' outside the directory");
    auto f = file_index.find(shard);
    if (f == file_index.end()) {
      files_.push_back(std::make_unique<SafetensorsFile>((dir / shard).string()));
      f = file_index.emplace(shard, files_.size() - 1).first;
    }
    if (!files_[f->second]->find(it.key()))
      throw Error((dir / shard).string() + ": tensor '" + it.key() + "' listed in " + index_path + " is missing");
    where_[it.key()] = f->second;
  }
}

std::optional<TensorView> ShardedSafetensors::find(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return std::nullopt;
  return files_[it->second]->find(name);
}

std::vector<std::string> ShardedSafetensors::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : where_) out.push_back(k);
  return out;
}

std::string ShardedSafetensors::origin(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? "sharded checkpoint" : files_[it->second]->path();
}

Checkpoint open_checkpoint(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a model directory");
  Checkpoint ck;
  ck.dir = dir;
  const fs::path d(dir);
  ck.config = load_t5_config((d / "config.json").string());
  const auto single = (d / "model.safetensors").string();
  const auto index = (d / "model.safetensors.index.json").string();
  if (file_exists(single)) {
    ck.weights = std::make_shared<SafetensorsFile>(single);
  } else if (file_exists(index)) {
    ck.weights = std::make_shared<ShardedSafetensors>(index);
  } else {
    throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  const auto sp = (d / "spiece.model").string();
  if (file_exists(sp)) ck.spiece_path = sp;
  const auto ej = (d / "emot5.json").string();
  if (file_exists(ej)) ck.emot5_json = read_file(ej);
  return ck;
}

}  // namespace emot5
