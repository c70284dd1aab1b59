// Builds broken copies of a fixture checkpoint in a temporary directory, for bad-input tests.
#pragma once
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

#include "io/file_util.h"
#include "test_util.h"

namespace emot5::test {

namespace fs = std::filesystem;

// Removes the directories it holds when the test program exits.
struct TempDirs {
  std::vector<fs::path> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& d : dirs) fs::remove_all(d, ec);
  }
};

// A fresh copy of tiny-v11-untied-f32 (config, weights, spiece) under a unique temp dir.
inline std::string copy_fixture(const std::string& tag) {
  static TempDirs temp_dirs;
  const fs::path dir = fs::temp_directory_path() / ("emot5_bad_" + tag + "_" + std::to_string(::getpid()));
  temp_dirs.dirs.push_back(dir);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors", "spiece.model"})
    fs::copy_file(fs::canonical(data(std::string("tiny-v11-untied-f32/") + f)), dir / f);
  return dir.string();
}

// Writes a safetensors file with a given header text and `data_bytes` zero bytes of data.
inline void write_raw_safetensors(const std::string& path, const std::string& header, size_t data_bytes,
                                  uint64_t header_len_override = 0) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = header_len_override ? header_len_override : header.size();
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header;
  std::string zeros(data_bytes, '\0');
  f << zeros;
}

// Rewrites model.safetensors of `dir` after `edit` changes its header JSON.
template <typename Edit>
void edit_header(const std::string& dir, Edit edit) {
  const std::string path = dir + "/model.safetensors";
  std::string bytes = read_file(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  auto h = nlohmann::json::parse(bytes.substr(8, n));
  edit(h);
  const std::string hs = h.dump();
  const uint64_t m = hs.size();
  std::string out(reinterpret_cast<const char*>(&m), 8);
  out += hs;
  out += bytes.substr(8 + n);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << out;
}

}  // namespace emot5::test
