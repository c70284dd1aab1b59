// OpenBLAS's kernel choice for the trainer. Debian's libtorch calls OpenBLAS for f32 matrix
// products, and OpenBLAS picks its kernels when it is loaded, from the CPU models it knows; a CPU
// newer than the library is not among them. OpenBLAS 0.3.21 (Debian 12) reads an Intel Xeon of
// family 6, model 207 as a "Prescott" and runs its SSE3 kernels there, 2.1x slower per training
// step of the default model's recipe than its AVX-512 ("SkylakeX") kernels on the same machine.
// OPENBLAS_CORETYPE, read when the library loads, overrides the choice, so the fix is a restart.
#pragma once
#include <string>
#include <string_view>

#include "kernels/cpu.h"

namespace emot5::train {

// The OpenBLAS core to ask for instead of `loaded` (openblas_get_corename()), or "" to keep it:
// only when `loaded` is one of OpenBLAS's cores without AVX2 kernels while the CPU offers AVX-512
// F and BW ("SkylakeX") or AVX2 with FMA ("Haswell").
std::string better_openblas_core(std::string_view loaded, const kernels::CpuInfo& cpu);

// When OPENBLAS_CORETYPE is unset, OpenBLAS is the BLAS this process loaded, and
// better_openblas_core names a core: says so on stderr and re-executes this program (the same
// argv, the same pid) with OPENBLAS_CORETYPE set to it. Otherwise, or when the exec fails,
// returns and the run goes on with the kernels it has.
void restart_with_better_openblas_core(char** argv);

}  // namespace emot5::train
