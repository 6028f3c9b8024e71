#include "dispatch/vocab_bridge.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

namespace lockstep::dispatch {
namespace {

constexpr size_t kExamples = 8;

using PieceIndex = std::unordered_map<std::string_view, std::vector<int32_t>>;

PieceIndex index_pieces(const std::vector<std::string>& pieces) {
    PieceIndex index;
    index.reserve(pieces.size());
    for (size_t id = 0; id < pieces.size(); ++id) index[pieces[id]].push_back(static_cast<int32_t>(id));
    return index;
}

void pair(VocabBridge& bridge, int32_t a, int32_t b) {
    bridge.a_to_b[a] = b;
    bridge.b_to_a[b] = a;
}

// Counts one side's unpaired ids, keeps a few examples, and counts as ambiguous those whose
// piece the other side has too (so they were unpaired only because the piece was shared).
void count_unaligned(const std::vector<int32_t>& map, const std::vector<std::string>& pieces, const PieceIndex& other,
                     int64_t& unaligned, int64_t& ambiguous, std::vector<std::string>& examples) {
    for (size_t id = 0; id < map.size(); ++id) {
        if (map[id] >= 0) continue;
        ++unaligned;
        if (other.count(pieces[id])) ++ambiguous;
        if (examples.size() < kExamples) examples.push_back(pieces[id]);
    }
}

}  // namespace

int32_t VocabBridge::to_b(int32_t id) const {
    if (id < 0 || id >= size_a) return -1;
    return identity ? id : a_to_b[id];
}

int32_t VocabBridge::to_a(int32_t id) const {
    if (id < 0 || id >= size_b) return -1;
    return identity ? id : b_to_a[id];
}

std::vector<std::string> vocabulary_pieces(Backend& backend) {
    const int64_t n = backend.vocab_size();
    std::vector<std::string> pieces;
    pieces.reserve(static_cast<size_t>(std::max<int64_t>(n, 0)));
    for (int64_t id = 0; id < n; ++id) pieces.push_back(backend.token_piece(static_cast<int32_t>(id)));
    return pieces;
}

VocabBridge build_vocab_bridge(const std::vector<std::string>& pieces_a, const std::vector<std::string>& pieces_b) {
    VocabBridge bridge;
    bridge.size_a = static_cast<int64_t>(pieces_a.size());
    bridge.size_b = static_cast<int64_t>(pieces_b.size());
    bridge.a_to_b.assign(pieces_a.size(), -1);
    bridge.b_to_a.assign(pieces_b.size(), -1);
    if (pieces_a == pieces_b) {
        bridge.identity = true;
        std::iota(bridge.a_to_b.begin(), bridge.a_to_b.end(), 0);
        std::iota(bridge.b_to_a.begin(), bridge.b_to_a.end(), 0);
        bridge.columns_a = bridge.a_to_b;
        bridge.columns_b = bridge.a_to_b;
        return bridge;
    }

    const PieceIndex index_a = index_pieces(pieces_a), index_b = index_pieces(pieces_b);
    for (const auto& [piece, ids_a] : index_a) {
        const auto found = index_b.find(piece);
        if (found == index_b.end()) continue;
        const std::vector<int32_t>& ids_b = found->second;
        if (ids_a.size() == 1 && ids_b.size() == 1) {
            pair(bridge, ids_a[0], ids_b[0]);
            continue;
        }
        for (const int32_t id : ids_a)  // a shared piece: only where the same id holds it on both sides
            if (id < bridge.size_b && pieces_b[id] == piece) pair(bridge, id, id);
    }
    for (int32_t a = 0; a < bridge.size_a; ++a)
        if (bridge.a_to_b[a] >= 0) {
            bridge.columns_a.push_back(a);
            bridge.columns_b.push_back(bridge.a_to_b[a]);
        }
    count_unaligned(bridge.a_to_b, pieces_a, index_b, bridge.unaligned_a, bridge.ambiguous_a, bridge.examples_a);
    count_unaligned(bridge.b_to_a, pieces_b, index_a, bridge.unaligned_b, bridge.ambiguous_b, bridge.examples_b);
    return bridge;
}

Logits aligned_logits(const Logits& logits, const VocabBridge& bridge, int side, int64_t first_row, int64_t rows) {
    if (first_row < 0 || rows < 0 || first_row + rows > logits.rows)
        throw std::out_of_range("aligned_logits: rows outside the logits");
    if (bridge.identity) {
        return {logits.data + first_row * logits.vocab, rows, logits.vocab, logits.owner};
    }
    const std::vector<int32_t>& columns = side == 0 ? bridge.columns_a : bridge.columns_b;
    const int64_t width = static_cast<int64_t>(columns.size());
    auto buffer = std::make_shared<std::vector<float>>(static_cast<size_t>(rows * width));
    for (int64_t r = 0; r < rows; ++r) {
        const float* in = logits.data + (first_row + r) * logits.vocab;
        float* out = buffer->data() + r * width;
        for (int64_t k = 0; k < width; ++k) out[k] = in[columns[k]];
    }
    Logits out;
    out.data = buffer->data();
    out.rows = rows;
    out.vocab = width;
    out.owner = buffer;
    return out;
}

double max_unaligned_mass(const Logits& logits, const VocabBridge& bridge, int side) {
    if (bridge.identity) return 0.0;
    const std::vector<int32_t>& map = side == 0 ? bridge.a_to_b : bridge.b_to_a;
    std::vector<int64_t> unaligned;
    for (size_t id = 0; id < map.size() && static_cast<int64_t>(id) < logits.vocab; ++id)
        if (map[id] < 0) unaligned.push_back(static_cast<int64_t>(id));
    if (unaligned.empty()) return 0.0;
    double worst = 0.0;
    for (int64_t r = 0; r < logits.rows; ++r) {
        const float* x = logits.data + r * logits.vocab;
        const double top = *std::max_element(x, x + logits.vocab);
        double all = 0.0, outside = 0.0;
        for (int64_t i = 0; i < logits.vocab; ++i) all += std::exp(static_cast<double>(x[i]) - top);
        for (const int64_t i : unaligned) outside += std::exp(static_cast<double>(x[i]) - top);
        worst = std::max(worst, outside / all);
    }
    return worst;
}

}  // namespace lockstep::dispatch
