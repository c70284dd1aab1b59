// OpenBLAS's kernel choice for the trainer (see blas_core.h).
#include "train/blas_core.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <iostream>

namespace emot5::train {

std::string better_openblas_core(std::string_view loaded, const kernels::CpuInfo& cpu) {
  // OpenBLAS's DYNAMIC_ARCH cores (driver/others/dynamic.c) whose kernels stop short of AVX2.
  static constexpr std::array<std::string_view, 20> kPreAvx2 = {
      "Unknown", "Katmai",  "Coppermine", "Northwood", "Prescott",     "Banias",    "Atom",
      "Core2",   "Penryn",  "Dunnington", "Nehalem",   "Athlon",       "Opteron",   "Opteron_SSE3",
      "Nano",    "Bobcat",  "Bulldozer",  "Barcelona", "Sandybridge",  "Piledriver"};
  if (std::find(kPreAvx2.begin(), kPreAvx2.end(), loaded) == kPreAvx2.end()) return "";
  if (cpu.avx512f && cpu.avx512bw) return "SkylakeX";
  if (cpu.avx2 && cpu.fma) return "Haswell";
  return "";
}

void restart_with_better_openblas_core(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's (or the machine's) choice stands
  using CoreName = char* (*)();
  const auto corename = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!corename) return;  // another BLAS (MKL in some libtorch builds): nothing to mend
  const char* loaded = corename();
  const std::string core = better_openblas_core(loaded ? loaded : "", kernels::cpu_info());
  if (core.empty()) return;
  std::cerr << "emot5-train: OpenBLAS took this CPU (" << kernels::cpu_info().model << ") for a " << loaded
            << " and chose kernels without AVX2; restarting with OPENBLAS_CORETYPE=" << core
            << " (set OPENBLAS_CORETYPE yourself to choose)\n";
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  std::cerr << "emot5-train: the restart failed; going on with " << loaded << "'s kernels\n";
  ::unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace emot5::train
