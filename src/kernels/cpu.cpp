// CPU feature detection through GCC's cpuid builtins (see cpu.h).
#include "kernels/cpu.h"

#include <cpuid.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "kernels/simd.h"

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
    // AVX-VNNI: CPUID leaf 7, subleaf 1, EAX bit 4 (asked directly: clang 14's builtin does not name it).
    unsigned a = 0, b = 0, cx = 0, d = 0;
    c.avx_vnni = __get_cpuid_count(7, 1, &a, &b, &cx, &d) && ((a >> 4) & 1u);
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

namespace {

Isa detected_isa() {
  const auto& c = cpu_info();
  if (c.avx512f && c.avx512bw && c.avx2 && c.fma) return Isa::Avx512;
  if (c.avx2 && c.fma) return Isa::Avx2;
  return Isa::Base;
}

Isa cap_from_env() {
  const char* e = std::getenv("EMOT5_ISA");
  if (!e) return Isa::Avx512;
  if (std::strcmp(e, "avx2") == 0) return Isa::Avx2;
  if (std::strcmp(e, "baseline") == 0) return Isa::Base;
  return Isa::Avx512;
}

std::atomic<int>& isa_cap() {
  static std::atomic<int> cap{static_cast<int>(cap_from_env())};
  return cap;
}

}  // namespace

Isa active_isa() {
  static const Isa best = detected_isa();
  return static_cast<Isa>(std::min(static_cast<int>(best), isa_cap().load(std::memory_order_relaxed)));
}

void set_isa_cap(Isa cap) { isa_cap().store(static_cast<int>(cap), std::memory_order_relaxed); }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2+fma";
    default: return "baseline";
  }
}

}  // namespace emot5::kernels
