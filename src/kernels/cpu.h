// What the running CPU offers, read at run time (never from the build host's flags).
#pragma once
#include <string>

namespace emot5::kernels {

struct CpuInfo {
  std::string model;  // /proc/cpuinfo "model name"
  bool avx2 = false, fma = false, avx512f = false, avx512bw = false, avx512_vnni = false,
       avx512_bf16 = false, avx_vnni = false;
  std::string best_isa() const;  // e.g. "avx512_vnni+bf16", "avx2"
};

const CpuInfo& cpu_info();

}  // namespace emot5::kernels
