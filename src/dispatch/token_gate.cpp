#include "dispatch/token_gate.h"

#include <algorithm>

namespace lockstep::dispatch {
namespace {

std::string join_pieces(Backend& backend, const std::vector<int32_t>& ids, size_t from, size_t to) {
    std::string text;
    for (size_t i = from; i < std::min(to, ids.size()); ++i) text += backend.token_piece(ids[i]);
    return text;
}

TokenSide side(Backend& backend, const std::vector<int32_t>& ids, int64_t index, int64_t window_start, int window) {
    TokenSide s;
    s.backend = backend.name();
    if (index < static_cast<int64_t>(ids.size())) {
        s.id = ids[index];
        s.piece = backend.token_piece(s.id);
    }
    const int64_t end = std::min<int64_t>(static_cast<int64_t>(ids.size()), index + window + 1);
    for (int64_t i = window_start; i < end; ++i) {
        s.window_ids.push_back(ids[i]);
        s.window_pieces.push_back(backend.token_piece(ids[i]));
    }
    return s;
}

bool starts_with_double(const std::vector<int32_t>& ids, int32_t bos) {
    return bos >= 0 && ids.size() >= 2 && ids[0] == bos && ids[1] == bos;
}

bool starts_with(const std::vector<int32_t>& ids, int32_t bos) { return bos >= 0 && !ids.empty() && ids[0] == bos; }

// Where one side has a single token whose piece the other side spells with several tokens,
// the single token is a special token that one tokenizer parsed and the other did not.
bool special_spelled_out(Backend& one, const std::vector<int32_t>& ids_one, Backend& other,
                         const std::vector<int32_t>& ids_other, size_t index) {
    if (index >= ids_one.size()) return false;
    const std::string piece = one.token_piece(ids_one[index]);
    if (piece.size() < 3) return false;
    std::string spelled;
    for (size_t i = index; i < ids_other.size() && spelled.size() < piece.size(); ++i)
        spelled += other.token_piece(ids_other[i]);
    return spelled.rfind(piece, 0) == 0 && spelled.size() >= piece.size() && ids_other.size() > index + 1 &&
           other.token_piece(ids_other[index]) != piece;
}

}  // namespace

std::optional<TokenMismatch> find_token_mismatch(Backend& a, const std::vector<int32_t>& ids_a, Backend& b,
                                                 const std::vector<int32_t>& ids_b, int window) {
    const size_t common = std::min(ids_a.size(), ids_b.size());
    size_t index = 0;
    while (index < common && ids_a[index] == ids_b[index]) ++index;
    if (index == ids_a.size() && index == ids_b.size()) return std::nullopt;

    TokenMismatch m;
    m.index = static_cast<int64_t>(index);
    m.window_start = std::max<int64_t>(0, m.index - window);
    m.a = side(a, ids_a, m.index, m.window_start, window);
    m.b = side(b, ids_b, m.index, m.window_start, window);

    const int32_t bos_a = a.bos_id(), bos_b = b.bos_id();
    if (a.vocab_size() != b.vocab_size() || bos_a != bos_b) {
        m.cause = "different-vocabulary";
        m.explanation = a.name() + " has " + std::to_string(a.vocab_size()) + " tokens (BOS " + std::to_string(bos_a) +
                        "), " + b.name() + " has " + std::to_string(b.vocab_size()) + " (BOS " + std::to_string(bos_b) +
                        "): the backends did not load the same vocabulary";
    } else if (starts_with_double(ids_a, bos_a) != starts_with_double(ids_b, bos_b)) {
        m.cause = "double-bos";
        const std::string& who = starts_with_double(ids_a, bos_a) ? a.name() : b.name();
        m.explanation = who + " starts with BOS twice: the prompt already contains BOS and the tokenizer added another";
    } else if (index == 0 && starts_with(ids_a, bos_a) != starts_with(ids_b, bos_b)) {
        m.cause = "missing-bos";
        const std::string& who = starts_with(ids_a, bos_a) ? b.name() : a.name();
        m.explanation = who + " did not add BOS where the other backend did";
    } else if (special_spelled_out(a, ids_a, b, ids_b, index) || special_spelled_out(b, ids_b, a, ids_a, index)) {
        m.cause = "special-not-parsed";
        const bool a_parsed = special_spelled_out(a, ids_a, b, ids_b, index);
        m.explanation = (a_parsed ? b.name() : a.name()) + " spelled out the special token " +
                        (a_parsed ? m.a.piece : m.b.piece) + " as text instead of parsing it";
    } else if (join_pieces(a, ids_a, 0, ids_a.size()) != join_pieces(b, ids_b, 0, ids_b.size())) {
        m.cause = "different-text";
        m.explanation = "the tokens spell different texts: the backends were given different prompts "
                        "(a different template or text normalisation)";
    } else {
        m.cause = "different-segmentation";
        m.explanation = "same text, split differently: the tokenizers' merge rules or pre-tokenizers disagree";
    }
    return m;
}

}  // namespace lockstep::dispatch
