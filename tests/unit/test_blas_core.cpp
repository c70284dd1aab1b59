// The trainer's choice of OpenBLAS kernels on CPUs the library does not know (train/blas_core.h).
#include <gtest/gtest.h>

#include "train/blas_core.h"

namespace {

using emot5::kernels::CpuInfo;
using emot5::train::better_openblas_core;

CpuInfo cpu(bool avx512, bool avx2) {
  CpuInfo c;
  c.avx512f = c.avx512bw = avx512;
  c.avx2 = c.fma = avx2;
  return c;
}

TEST(BlasCore, GenericCoreOnAvx512CpuAsksForSkylakeX) {
  // OpenBLAS 0.3.21 on an Intel Xeon of family 6, model 207 (this project's machine in one session).
  EXPECT_EQ(better_openblas_core("Prescott", cpu(true, true)), "SkylakeX");
  EXPECT_EQ(better_openblas_core("Nehalem", cpu(true, true)), "SkylakeX");
  EXPECT_EQ(better_openblas_core("Sandybridge", cpu(true, true)), "SkylakeX");
}

TEST(BlasCore, GenericCoreOnAvx2CpuAsksForHaswell) {
  EXPECT_EQ(better_openblas_core("Prescott", cpu(false, true)), "Haswell");
  EXPECT_EQ(better_openblas_core("Unknown", cpu(false, true)), "Haswell");
}

TEST(BlasCore, KeepsWhatOpenBlasChoseWhenItKnowsTheCpuOrTheCpuIsOld) {
  EXPECT_EQ(better_openblas_core("SkylakeX", cpu(true, true)), "");
  EXPECT_EQ(better_openblas_core("Haswell", cpu(true, true)), "");  // e.g. OPENBLAS_CORETYPE=Haswell, or a Zen
  EXPECT_EQ(better_openblas_core("Zen", cpu(true, true)), "");
  EXPECT_EQ(better_openblas_core("SapphireRapids", cpu(true, true)), "");
  EXPECT_EQ(better_openblas_core("Prescott", cpu(false, false)), "");  // nothing better to ask for
  EXPECT_EQ(better_openblas_core("", cpu(true, true)), "");
}

TEST(BlasCore, AvxWithoutFmaIsNotHaswell) {
  CpuInfo c = cpu(false, true);
  c.fma = false;
  EXPECT_EQ(better_openblas_core("Prescott", c), "");
}

}  // namespace
