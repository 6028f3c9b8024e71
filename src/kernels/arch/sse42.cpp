// The SSE4.2 kernel table (compiled with -msse4.2; see CMakeLists.txt).
#define LOCKSTEP_SIMD_NAMESPACE sse42
#include "kernels/arch/arch_tables.h"
#include "kernels/simd/make_table.h"

namespace lockstep::kernels {

const KernelTable& sse42_table() {
    static const KernelTable table = sse42::make_table<xsimd::sse4_2, sse42::Sse42Int8>(Isa::SSE4_2);
    return table;
}

}  // namespace lockstep::kernels
