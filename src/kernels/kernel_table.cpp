// Run-time choice of the kernel table: compiled in (CMake) and supported by this CPU
// (cpuid and the OS's saved register state, as xsimd reports them).
#include "kernels/kernel_table.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <xsimd/xsimd.hpp>

#include "kernels/arch/arch_tables.h"

namespace lockstep::kernels {

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::SSE4_2: return "sse4.2";
        case Isa::AVX2: return "avx2";
        case Isa::AVX512: return "avx512";
    }
    return "unknown";
}

std::vector<Isa> compiled_isas() {
    std::vector<Isa> isas{Isa::Scalar};
#ifdef LOCKSTEP_HAVE_SSE42
    isas.push_back(Isa::SSE4_2);
#endif
#ifdef LOCKSTEP_HAVE_AVX2
    isas.push_back(Isa::AVX2);
#endif
#ifdef LOCKSTEP_HAVE_AVX512
    isas.push_back(Isa::AVX512);
#endif
    return isas;
}

bool cpu_supports(Isa isa) {
    const auto cpu = xsimd::available_architectures();
    switch (isa) {
        case Isa::Scalar: return true;
        case Isa::SSE4_2: return cpu.sse4_2 && cpu.ssse3;
        case Isa::AVX2: return cpu.fma3_avx2 && cpu.avx2;  // F16C ships with every AVX2 CPU
        case Isa::AVX512: return cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512cd;
    }
    return false;
}

Isa best_isa() {
    Isa best = Isa::Scalar;
    for (Isa isa : compiled_isas())
        if (cpu_supports(isa)) best = isa;
    return best;
}

Isa default_isa() {
    const char* forced = std::getenv(kIsaVariable);
    if (forced == nullptr || *forced == '\0') return best_isa();
    const Isa isa = compiled_isa(forced);
    if (!cpu_supports(isa))
        throw std::invalid_argument(std::string(kIsaVariable) + "=" + forced + ": this CPU does not support it");
    return isa;
}

Isa compiled_isa(std::string_view name) {
    std::string choices;
    for (Isa isa : compiled_isas()) {
        if (isa_name(isa) == name) return isa;
        choices += (choices.empty() ? "" : ", ") + std::string(isa_name(isa));
    }
    throw std::invalid_argument("unknown or not compiled instruction set '" + std::string(name) + "' (compiled: " +
                                choices + ")");
}

const KernelTable& kernel_table(Isa isa) {
    if (!cpu_supports(isa)) throw std::invalid_argument("this CPU does not support " + std::string(isa_name(isa)));
    switch (isa) {
        case Isa::Scalar: return scalar_table();
#ifdef LOCKSTEP_HAVE_SSE42
        case Isa::SSE4_2: return sse42_table();
#endif
#ifdef LOCKSTEP_HAVE_AVX2
        case Isa::AVX2: return avx2_table();
#endif
#ifdef LOCKSTEP_HAVE_AVX512
        case Isa::AVX512: return avx512_table();
#endif
        default: break;
    }
    throw std::invalid_argument(std::string(isa_name(isa)) + " kernels are not compiled into this build");
}

const KernelTable& active_kernels() { return kernel_table(default_isa()); }

}  // namespace lockstep::kernels
