// The per-instruction-set tables, each defined in its own translation unit. Which ones
// exist is decided by CMake (LOCKSTEP_HAVE_* definitions), by what the compiler supports.
#pragma once

#include "kernels/kernel_table.h"

namespace lockstep::kernels {

const KernelTable& scalar_table();
#ifdef LOCKSTEP_HAVE_SSE42
const KernelTable& sse42_table();
#endif
#ifdef LOCKSTEP_HAVE_AVX2
const KernelTable& avx2_table();
#endif
#ifdef LOCKSTEP_HAVE_AVX512
const KernelTable& avx512_table();
#endif

}  // namespace lockstep::kernels
