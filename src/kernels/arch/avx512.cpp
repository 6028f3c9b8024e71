// The AVX-512 (F, BW, DQ, VL) kernel table: 512-bit float kernels; the quantized dot
// products keep the 256-bit int8 code, since a quantized block is 32 bytes.
#define LOCKSTEP_SIMD_NAMESPACE avx512
#include "kernels/arch/arch_tables.h"
#include "kernels/simd/make_table.h"

namespace lockstep::kernels {

const KernelTable& avx512_table() {
    static const KernelTable table = avx512::make_table<xsimd::avx512bw, avx512::Avx2Int8>(Isa::AVX512);
    return table;
}

}  // namespace lockstep::kernels
