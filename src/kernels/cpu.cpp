// CPU feature detection through GCC's cpuid builtins (see cpu.h).
#include "kernels/cpu.h"

#include <fstream>

namespace emot5::kernels {

std::string CpuInfo::best_isa() const {
  if (avx512f) {
    std::string s = "avx512";
    if (avx512_vnni) s += "+vnni";
    if (avx512_bf16) s += "+bf16";
    return s;
  }
  if (avx2) return fma ? "avx2+fma" : "avx2";
  return "sse2";
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = [] {
    CpuInfo c;
    __builtin_cpu_init();
    c.avx2 = __builtin_cpu_supports("avx2");
    c.fma = __builtin_cpu_supports("fma");
    c.avx512f = __builtin_cpu_supports("avx512f");
    c.avx512bw = __builtin_cpu_supports("avx512bw");
    c.avx512_vnni = __builtin_cpu_supports("avx512vnni");
    c.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
    c.avx_vnni = __builtin_cpu_supports("avxvnni");
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("model name", 0) == 0) {
        const auto p = line.find(':');
        if (p != std::string::npos) c.model = line.substr(p + 2);
        break;
      }
    if (c.model.empty()) c.model = "unknown";
    return c;
  }();
  return info;
}

}  // namespace emot5::kernels
