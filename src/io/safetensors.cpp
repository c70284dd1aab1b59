// safetensors: memory-mapped reading with full validation of the header, and atomic writing.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/json_util.h"
#include "io/file_util.h"

namespace emot5 {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      ::close(fd_);
      throw Error(path + ": cannot stat: " + std::strerror(errno));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (p == MAP_FAILED) {
        ::close(fd_);
        throw Error(path + ": cannot mmap: " + std::strerror(errno));
      }
      data_ = static_cast<const std::byte*>(p);
    }
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  int fd_ = -1;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

namespace {

// Largest header we accept (the format's own reference implementation uses 100 MB).
constexpr uint64_t kMaxHeader = 100u << 20;

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  file_ = std::make_shared<MappedFile>(path);
  const size_t size = file_->size();
  if (size < 8)
    throw Error(path + ": truncated safetensors file: " + std::to_string(size) +
                " bytes, less than the 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, file_->data(), 8);  // little-endian on every platform we build for
  if (n > size - 8)
    throw Error(path + ": safetensors header length " + std::to_string(n) +
                " runs past the end of the file (" + std::to_string(size) + " bytes)");
  if (n > kMaxHeader)
    throw Error(path + ": safetensors header length " + std::to_string(n) + " is implausibly large");
  const char* hdr = reinterpret_cast<const char*>(file_->data() + 8);
  nlohmann::json j;
  try {
    j = parse_json_bounded(std::string_view(hdr, n));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed safetensors header JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw Error(path + ": safetensors header: " + e.what());
  }
  if (!j.is_object()) throw Error(path + ": safetensors header is not a JSON object");

  const std::byte* base = file_->data() + 8 + n;
  const uint64_t data_size = size - 8 - n;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (v.is_object())
        for (auto m = v.begin(); m != v.end(); ++m)
          if (m.value().is_string()) metadata_[m.key()] = m.value().get<std::string>();
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw Error(where + ": entry needs dtype, shape and data_offsets");
    if (!v["dtype"].is_string()) throw Error(where + ": dtype is not a string");
    TensorView t;
    const std::string dt = v["dtype"].get<std::string>();
    if (!parse_dtype(dt, &t.dtype)) throw Error(where + ": unknown dtype '" + dt + "'");
    const auto& shp = v["shape"];
    if (!shp.is_array()) throw Error(where + ": shape is not an array");
    uint64_t numel = 1;
    for (const auto& d : shp) {
      if (!d.is_number_unsigned()) throw Error(where + ": shape has a non-integer or negative dimension");
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > (uint64_t{1} << 50) / dim)
        throw Error(where + ": shape " + shp.dump() + " is too large");
      numel *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(where + ": data_offsets must be two non-negative integers");
    const uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    if (b > e) throw Error(where + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] are reversed");
    if (e > data_size)
      throw Error(where + ": data_offsets end " + std::to_string(e) + " is past the data section (" +
                  std::to_string(data_size) + " bytes; file truncated?)");
    const uint64_t expect = numel * dtype_size(t.dtype);
    if (e - b != expect)
      throw Error(where + ": " + std::to_string(e - b) + " bytes for " + dt + " shape " + shp.dump() +
                  ", expected " + std::to_string(expect));
    t.data = base + b;
    t.nbytes = e - b;
    tensors_[name] = std::move(t);
    spans.push_back({b, e, name});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& c) { return a.begin < c.begin; });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end)
      throw Error(path + ": tensors '" + spans[i - 1].name + "' and '" + spans[i].name +
                  "' have overlapping data_offsets");
}

SafetensorsFile::~SafetensorsFile() = default;

std::optional<TensorView> SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

void write_safetensors(const std::string& path, const TensorSource& src,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json h = nlohmann::json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  const auto names = src.names();
  uint64_t off = 0;
  for (const auto& name : names) {
    const auto t = *src.find(name);
    h[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {off, off + t.nbytes}}};
    off += t.nbytes;
  }
  std::string hs = h.dump();
  while ((hs.size() + 8) % 8 != 0) hs.push_back(' ');  // keep the data section 8-byte aligned
  AtomicFile out(path);
  const uint64_t n = hs.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(hs.data(), hs.size());
  for (const auto& name : names) {
    const auto t = *src.find(name);
    out.write(reinterpret_cast<const char*>(t.data), t.nbytes);
  }
  out.commit();
}

}  // namespace emot5
