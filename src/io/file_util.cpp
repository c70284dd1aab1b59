// File helpers (see file_util.h).
#include "io/file_util.h"

#include <dlfcn.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/error.h"

namespace emot5 {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(path + ": read error");
  return ss.str();
}

std::string executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

std::string code_dir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&code_dir), &info) != 0 && info.dli_fname && *info.dli_fname) {
    std::error_code ec_obj, ec_exe;
    const auto obj = std::filesystem::canonical(info.dli_fname, ec_obj);
    const auto exe = std::filesystem::canonical("/proc/self/exe", ec_exe);
    if (!ec_obj && !ec_exe && obj != exe) return obj.parent_path().string();  // a shared library
  }
  return executable_dir();
}

std::vector<std::string> beside_binary(std::initializer_list<const char*> relative) {
  std::vector<std::string> out;
  if (const auto dir = code_dir(); !dir.empty())
    for (const char* r : relative) out.push_back(std::filesystem::path(dir + r).lexically_normal().string());
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw Error(path + ": cannot remove: " + std::strerror(errno));
  }
  // Depth first (FTW_DEPTH), without following links (FTW_PHYS).
  auto remove_one = [](const char* p, const struct stat*, int, struct FTW*) -> int { return std::remove(p) == 0 ? 0 : errno; };
  const int rc = ::nftw(path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
  if (rc != 0) throw Error(path + ": cannot remove: " + std::strerror(rc > 0 ? rc : errno));
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) throw Error(path_ + ": cannot write: " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::write(const char* data, size_t n) {
  if (n && std::fwrite(data, 1, n, f_) != n) throw Error(path_ + ": write failed: " + std::strerror(errno));
}

void AtomicFile::commit() {
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0)
    throw Error(path_ + ": flush failed: " + std::strerror(errno));
  std::fclose(f_);
  f_ = nullptr;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    throw Error(path_ + ": rename failed: " + std::strerror(errno));
  }
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicFile f(path);
  f.write(content.data(), content.size());
  f.commit();
}

}  // namespace emot5
