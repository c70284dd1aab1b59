// Run-time ISA selection for plain loops. A kernel's body is written once as an always-inline
// function; EMOT5_VERSIONS compiles it three times (AVX-512, AVX2+FMA, baseline x86-64) and
// defines an entry point that calls the best version the running CPU offers (cpu_info()), or a
// lower one when capped (set_isa_cap, or the environment variable EMOT5_ISA=avx2|baseline: for
// tests and for comparing). The build host's flags never decide.
#pragma once
#include "kernels/cpu.h"

#define EMOT5_INLINE inline __attribute__((always_inline))

#if defined(__GNUC__) && defined(__x86_64__)
#define EMOT5_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma,f16c")))
#define EMOT5_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define EMOT5_VERSIONS(RET, NAME, PARAMS, ARGS)                            \
  EMOT5_TARGET_AVX512 RET NAME##_avx512 PARAMS { return NAME##_body ARGS; } \
  EMOT5_TARGET_AVX2 RET NAME##_avx2 PARAMS { return NAME##_body ARGS; }     \
  RET NAME##_base PARAMS { return NAME##_body ARGS; }                      \
  RET NAME PARAMS {                                                        \
    switch (::emot5::kernels::active_isa()) {                              \
      case ::emot5::kernels::Isa::Avx512: return NAME##_avx512 ARGS;       \
      case ::emot5::kernels::Isa::Avx2: return NAME##_avx2 ARGS;           \
      default: return NAME##_base ARGS;                                    \
    }                                                                      \
  }
#else
#define EMOT5_VERSIONS(RET, NAME, PARAMS, ARGS) \
  RET NAME PARAMS { return NAME##_body ARGS; }
#endif

namespace emot5::kernels {

enum class Isa { Base = 0, Avx2 = 1, Avx512 = 2 };

// The best version this CPU runs, capped by set_isa_cap() / EMOT5_ISA.
Isa active_isa();
// Caps the versions used from now on (tests run every version the CPU has this way).
void set_isa_cap(Isa cap);
const char* isa_name(Isa isa);

// Runs f(begin, end) over [0, n) in chunks of `chunk`, split across the OpenMP threads when n is
// at least `parallel_from`.
template <class F>
void parallel_chunks(long n, long chunk, long parallel_from, F&& f) {
  const long chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n >= parallel_from)
  for (long c = 0; c < chunks; ++c) f(c * chunk, c * chunk + chunk < n ? c * chunk + chunk : n);
}

}  // namespace emot5::kernels
