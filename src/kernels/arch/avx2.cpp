// The AVX2 + FMA + F16C kernel table (compiled with those -m flags; see CMakeLists.txt).
#define LOCKSTEP_SIMD_NAMESPACE avx2
#include "kernels/arch/arch_tables.h"
#include "kernels/simd/make_table.h"

namespace lockstep::kernels {

const KernelTable& avx2_table() {
    static const KernelTable table = avx2::make_table<xsimd::fma3<xsimd::avx2>, avx2::Avx2Int8>(Isa::AVX2);
    return table;
}

}  // namespace lockstep::kernels
