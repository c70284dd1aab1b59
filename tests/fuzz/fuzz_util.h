// Shared by the fuzz targets: inputs that readers take as files are written to one temporary file
// per process, rewritten for every input.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace emot5::fuzz {

inline std::string temp_path(const char* suffix) {
  return "/tmp/emot5-fuzz-" + std::to_string(::getpid()) + suffix;
}

inline const std::string& write_temp(const uint8_t* data, size_t size, const char* suffix) {
  static std::string path;
  path = temp_path(suffix);
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

}  // namespace emot5::fuzz
