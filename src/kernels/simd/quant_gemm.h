// Prefill's quantized matrix products: a tile of TileRows weight rows x TileTokens tokens at
// a time, so that each weight block is unpacked once per tile rather than once per token.
//
// Bit-identical to the per-token dots of quant_dots.h by construction: every (row, token)
// pair of a tile goes through the same Ops calls, on the same values, accumulating in the
// same order as its dot. All the tile shares is what depends on the weight block alone (its
// unpacking, the sign/abs the maddubs recipe takes of it, its scales) — pure functions the
// compiler evaluates once for the tile's tokens. This keeps "the last row of a prefill
// equals incremental decode, bit for bit" whatever the batch size. Rows and tokens left
// over from whole tiles take the per-token dot itself.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/simd/quant_dots.h"

namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE {

// Tile shapes. tile_blocks32 keeps one accumulator per (row, token) in registers at a time
// (the other chain parked): 3 x 4 = 12 of AVX2's 16 registers, the rest for the unpacked
// block and the products (measured best of 2x2, 2x4, 3x4, 4x3, 2x6 on an AVX2 Zen 3 EPYC with `kernels.matmul`
// Q4_0 / Q4_1 / Q8_0 2048 x 2048 x 256 tokens); AVX-512's 32 registers fit 4 x 4.
#if defined(__AVX512F__)
inline constexpr int kGemmRows = 4, kGemmTokens = 4;
#else
inline constexpr int kGemmRows = 3, kGemmTokens = 4;
#endif

// What one block of weight rows and one block of tokens may occupy together: half of a
// 512 KiB L2 (the smallest of the CPUs we run on), so that both stay there while every tile
// of the block pair runs.
inline constexpr size_t kGemmBlockBytes = 256 * 1024;

// Runs tile(r, t) over whole tiles and dot(r, t) over what is left:
// y[t * y_stride + r] for r < rows, t < tokens. Rows and tokens go in blocks of about
// kGemmBlockBytes / 2 each (w_stride and a_stride are the bytes of one row and one token):
// the weights of a row block are read from memory once and reused by every token block.
// Every y is computed by one tile or one dot whatever the blocking, so it does not change
// a single bit of the result.
template <int TileRows, int TileTokens, class Tile, class Dot>
void gemm_tiles(int64_t rows, int64_t tokens, size_t w_stride, size_t a_stride, float* y, int64_t y_stride,
                Tile tile, Dot dot) {
    auto whole = [](size_t budget, size_t stride, int64_t tile_size) {
        return std::max<int64_t>(1, static_cast<int64_t>(budget / std::max<size_t>(1, stride)) / tile_size) * tile_size;
    };
    const int64_t row_block = whole(kGemmBlockBytes / 2, w_stride, TileRows);
    const int64_t token_block = whole(kGemmBlockBytes / 2, a_stride, TileTokens);
    const int64_t whole_rows = rows / TileRows * TileRows;
    for (int64_t r0 = 0; r0 < whole_rows; r0 += row_block) {
        const int64_t r1 = std::min(whole_rows, r0 + row_block);
        for (int64_t t0 = 0; t0 < tokens; t0 += token_block) {
            const int64_t t1 = std::min(tokens, t0 + token_block);
            // A tile's tokens stay in L1 while the block's rows stream past them from L2.
            int64_t t = t0;
            for (; t + TileTokens <= t1; t += TileTokens)
                for (int64_t r = r0; r < r1; r += TileRows) tile(r, t);
            for (; t < t1; ++t)
                for (int64_t r = r0; r < r1; ++r) y[t * y_stride + r] = dot(r, t);
        }
    }
    for (int64_t r = whole_rows; r < rows; ++r)
        for (int64_t t = 0; t < tokens; ++t) y[t * y_stride + r] = dot(r, t);
}

// The dot kernels keep two accumulator chains over a row's units (32-element blocks, or
// float batches): chain 0 takes the even units, chain 1 the odd ones, each in increasing
// order. A tile may run the two chains one after the other over each chunk of ChunkUnits
// units (even, so every unit keeps its chain; small, so the chunk's rows and tokens stay in
// L1), the other chain's accumulators parked in memory, which is exact: only one chain's
// accumulators need registers. pass(h, first, end) runs chain h over units first, first + 2, ... < end.
template <int64_t ChunkUnits, class Pass>
void chains_by_chunk(int64_t units, Pass pass) {
    static_assert(ChunkUnits % 2 == 0, "a chunk must keep every unit's parity");
    for (int64_t c = 0; c < units; c += ChunkUnits) {
        const int64_t end = std::min(c + ChunkUnits, units);
        pass(0, c, end);
        pass(1, c + 1, end);
    }
}

// The 32-element block types: dot_blocks32 for R rows x T tokens, its two chains run by
// chains_by_chunk.
template <class Ops, bool with_min, class Block, class ActBlock, int R, int T, class Decode>
void tile_blocks32(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int64_t n, float* y,
                   int64_t y_stride, Decode decode) {
    using Floats = typename Ops::Floats;
    const Block* wb[R];
    const ActBlock* ab[T];
    for (int i = 0; i < R; ++i) wb[i] = reinterpret_cast<const Block*>(w + w_stride * static_cast<size_t>(i));
    for (int j = 0; j < T; ++j) ab[j] = reinterpret_cast<const ActBlock*>(a + a_stride * static_cast<size_t>(j));
    Floats parked[2][R][T];
    float min_sum[2][R][T];
    for (int h = 0; h < 2; ++h)
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) parked[h][i][j] = Floats(0.0f), min_sum[h][i][j] = 0.0f;
    chains_by_chunk<16>(n / QK8_0, [&](int h, int64_t first, int64_t end) {
        Floats acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) acc[i][j] = parked[h][i][j];
        // Block b, for every pair: the body of dot_blocks32's `block`.
        for (int64_t b = first; b < end; b += 2) {
            float da[T], sa[T];
            for (int j = 0; j < T; ++j) {
                da[j] = Ops::half(ab[j][b].d);
                if constexpr (with_min) sa[j] = Ops::half(ab[j][b].s);
            }
            for (int i = 0; i < R; ++i) {
                const auto q = decode(wb[i][b]);
                const float dw = weight_scale<Ops>(wb[i][b]);
                for (int j = 0; j < T; ++j) {
                    acc[i][j] = xsimd::fma(Ops::dot(q, Ops::load(ab[j][b].qs)), Floats(dw * da[j]), acc[i][j]);
                    if constexpr (with_min) min_sum[h][i][j] += Ops::half(wb[i][b].m) * sa[j];
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) parked[h][i][j] = acc[i][j];
    });
    for (int i = 0; i < R; ++i)
        for (int j = 0; j < T; ++j)
            y[j * y_stride + i] =
                xsimd::reduce_add(parked[0][i][j] + parked[1][i][j]) + (min_sum[0][i][j] + min_sum[1][i][j]);
}

template <class Ops, bool with_min, class Block, class ActBlock, class Decode>
void gemm_blocks32(const void* w, size_t w_stride, const void* a, size_t a_stride, int64_t n, int64_t rows,
                   int64_t tokens, float* y, int64_t y_stride, Decode decode, QuantDotFn dot) {
    const auto* wp = static_cast<const uint8_t*>(w);
    const auto* ap = static_cast<const uint8_t*>(a);
    gemm_tiles<kGemmRows, kGemmTokens>(
        rows, tokens, w_stride, a_stride, y, y_stride,
        [&](int64_t r, int64_t t) {
            tile_blocks32<Ops, with_min, Block, ActBlock, kGemmRows, kGemmTokens>(
                wp + w_stride * static_cast<size_t>(r), w_stride, ap + a_stride * static_cast<size_t>(t), a_stride, n,
                y + t * y_stride + r, y_stride, decode);
        },
        [&](int64_t r, int64_t t) {
            return dot(wp + w_stride * static_cast<size_t>(r), ap + a_stride * static_cast<size_t>(t), n);
        });
}

// The K-quants: sum over super-blocks of kblock(row's block, token's block), per pair in
// the order of its dot; the kblock bodies are inlined into the tile so that the weight
// unpacking is shared between the tile's tokens.
template <class Ops, class Block, int R, int T, class KBlock>
void tile_k(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int64_t n, float* y,
            int64_t y_stride, KBlock kblock) {
    const Block* wb[R];
    const BlockQ8_K* ab[T];
    for (int i = 0; i < R; ++i) wb[i] = reinterpret_cast<const Block*>(w + w_stride * static_cast<size_t>(i));
    for (int j = 0; j < T; ++j) ab[j] = reinterpret_cast<const BlockQ8_K*>(a + a_stride * static_cast<size_t>(j));
    float sum[R][T] = {};
    for (int64_t b = 0; b < n / QK_K; ++b)
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) sum[i][j] += kblock(wb[i][b], ab[j][b]);
    for (int i = 0; i < R; ++i)
        for (int j = 0; j < T; ++j) y[j * y_stride + i] = sum[i][j];
}

template <class Ops, class Block, class KBlock>
void gemm_k(const void* w, size_t w_stride, const void* a, size_t a_stride, int64_t n, int64_t rows, int64_t tokens,
            float* y, int64_t y_stride, KBlock kblock, QuantDotFn dot) {
    const auto* wp = static_cast<const uint8_t*>(w);
    const auto* ap = static_cast<const uint8_t*>(a);
    // One row per tile: a K-quant super-block unpacks into 8 vectors, a register file's worth.
    constexpr int R = 1, T = 4;
    gemm_tiles<R, T>(
        rows, tokens, w_stride, a_stride, y, y_stride,
        [&](int64_t r, int64_t t) {
            tile_k<Ops, Block, R, T>(wp + w_stride * static_cast<size_t>(r), w_stride,
                                     ap + a_stride * static_cast<size_t>(t), a_stride, n, y + t * y_stride + r,
                                     y_stride, kblock);
        },
        [&](int64_t r, int64_t t) {
            return dot(wp + w_stride * static_cast<size_t>(r), ap + a_stride * static_cast<size_t>(t), n);
        });
}

// --- The KernelTable entries (QuantGemmFn).

#define LOCKSTEP_GEMM_ARGS                                                                              \
    const void *w, size_t w_stride, const void *a, size_t a_stride, int64_t n, int64_t rows, int64_t tokens, \
        float *y, int64_t y_stride

template <class Ops>
void gemm_q8_0(LOCKSTEP_GEMM_ARGS) {
    gemm_blocks32<Ops, false, BlockQ8_0, BlockQ8_0>(
        w, w_stride, a, a_stride, n, rows, tokens, y, y_stride, [](const BlockQ8_0& b) { return Ops::load(b.qs); },
        dot_q8_0<Ops>);
}

template <class Ops>
void gemm_q4_0(LOCKSTEP_GEMM_ARGS) {
    gemm_blocks32<Ops, false, BlockQ4_0, BlockQ8_0>(
        w, w_stride, a, a_stride, n, rows, tokens, y, y_stride,
        [](const BlockQ4_0& b) { return Ops::sub(Ops::nibbles(b.qs), Ops::splat(8)); }, dot_q4_0<Ops>);
}

template <class Ops>
void gemm_q4_1(LOCKSTEP_GEMM_ARGS) {
    gemm_blocks32<Ops, true, BlockQ4_1, BlockQ8_1>(
        w, w_stride, a, a_stride, n, rows, tokens, y, y_stride, [](const BlockQ4_1& b) { return Ops::nibbles(b.qs); },
        dot_q4_1<Ops>);
}

template <class Ops>
void gemm_q5_0(LOCKSTEP_GEMM_ARGS) {
    gemm_blocks32<Ops, false, BlockQ5_0, BlockQ8_0>(
        w, w_stride, a, a_stride, n, rows, tokens, y, y_stride,
        [](const BlockQ5_0& b) {
            return Ops::sub(Ops::bit_or(Ops::nibbles(b.qs), q5_high_bits<Ops>(b.qh)), Ops::splat(16));
        },
        dot_q5_0<Ops>);
}

template <class Ops>
void gemm_q5_1(LOCKSTEP_GEMM_ARGS) {
    gemm_blocks32<Ops, true, BlockQ5_1, BlockQ8_1>(
        w, w_stride, a, a_stride, n, rows, tokens, y, y_stride,
        [](const BlockQ5_1& b) { return Ops::bit_or(Ops::nibbles(b.qs), q5_high_bits<Ops>(b.qh)); }, dot_q5_1<Ops>);
}

template <class Ops>
void gemm_mxfp4(LOCKSTEP_GEMM_ARGS) {
    gemm_blocks32<Ops, false, BlockMXFP4, BlockQ8_0>(w, w_stride, a, a_stride, n, rows, tokens, y, y_stride,
                                                     [](const BlockMXFP4& b) { return mxfp4_values<Ops>(b); },
                                                     dot_mxfp4<Ops>);
}

#define LOCKSTEP_GEMM_K(NAME, BLOCK)                                                                          \
    template <class Ops>                                                                                      \
    void gemm_##NAME(LOCKSTEP_GEMM_ARGS) {                                                                    \
        gemm_k<Ops, BLOCK>(                                                                                   \
            w, w_stride, a, a_stride, n, rows, tokens, y, y_stride,                                           \
            [](const BLOCK& wb, const BlockQ8_K& ab) { return kblock_##NAME<Ops>(wb, ab); }, dot_##NAME<Ops>); \
    }
LOCKSTEP_GEMM_K(q2_k, BlockQ2_K)
LOCKSTEP_GEMM_K(q3_k, BlockQ3_K)
LOCKSTEP_GEMM_K(q4_k, BlockQ4_K)
LOCKSTEP_GEMM_K(q5_k, BlockQ5_K)
LOCKSTEP_GEMM_K(q6_k, BlockQ6_K)
#undef LOCKSTEP_GEMM_K
#undef LOCKSTEP_GEMM_ARGS

}  // namespace lockstep::kernels::LOCKSTEP_SIMD_NAMESPACE
