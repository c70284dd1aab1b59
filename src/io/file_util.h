// Small file helpers: whole-file reads with clear errors, and atomic writes (temp + rename).
#pragma once
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

namespace emot5 {

std::string read_file(const std::string& path);
// The directory of the running executable ("" when /proc/self/exe cannot be read).
std::string executable_dir();
// The directory of the binary that holds emot5's code: the executable, or the shared library
// (libemot5_c.so) when emot5 was loaded as one; "" when neither can be found.
std::string code_dir();
// Each of `relative` (e.g. "/../share/emot5") appended to code_dir(); none when it is unknown.
// Lets an installed tree (bin/ or lib/ beside share/emot5) be moved as a whole.
std::vector<std::string> beside_binary(std::initializer_list<const char*> relative);
bool file_exists(const std::string& path);
// Removes `path` and, for a directory, everything under it (symbolic links themselves, never
// their targets); a missing path is not an error. Written on POSIX nftw rather than
// std::filesystem::remove_all: PyTorch's own libtorch.so exports a remove_all that the dynamic
// linker binds ahead of libstdc++'s and that crashed when called (seen with torch 2.11 cu130).
void remove_tree(const std::string& path);
// Writes `content` to `path` atomically.
void write_file_atomic(const std::string& path, const std::string& content);

// Writes to `path`.tmp.<pid>; commit() fsyncs and renames over `path`. Destroyed without
// commit, it removes the temp file, so an interrupted write never leaves a half file.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const char* data, size_t n);
  void commit();

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

}  // namespace emot5
