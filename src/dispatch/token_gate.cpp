#include "dispatch/token_gate.h"

#include <algorithm>

namespace lockstep::dispatch {
namespace {

std::string join_pieces(Backend& backend, const std::vector<int32_t>& ids) {
    std::string text;
    for (const int32_t id : ids) text += backend.token_piece(id);
    return text;
}

TokenSide side(const Tokenization& t, int64_t index, int64_t window_start, int window, int32_t counterpart) {
    TokenSide s;
    s.backend = t.label;
    if (index < static_cast<int64_t>(t.ids.size())) {
        s.id = t.ids[index];
        s.counterpart = counterpart;
        s.piece = t.backend.token_piece(s.id);
    }
    const int64_t end = std::min<int64_t>(static_cast<int64_t>(t.ids.size()), index + window + 1);
    for (int64_t i = window_start; i < end; ++i) {
        s.window_ids.push_back(t.ids[i]);
        s.window_pieces.push_back(t.backend.token_piece(t.ids[i]));
    }
    return s;
}

bool starts_with_double(const std::vector<int32_t>& ids, int32_t bos) {
    return bos >= 0 && ids.size() >= 2 && ids[0] == bos && ids[1] == bos;
}

bool starts_with(const std::vector<int32_t>& ids, int32_t bos) { return bos >= 0 && !ids.empty() && ids[0] == bos; }

// Where one side has a single token whose piece the other side spells with several tokens,
// the single token is a special token that one tokenizer parsed and the other did not.
bool special_spelled_out(const Tokenization& one, const Tokenization& other, size_t index) {
    if (index >= one.ids.size()) return false;
    const std::string piece = one.backend.token_piece(one.ids[index]);
    if (piece.size() < 3) return false;
    std::string spelled;
    for (size_t i = index; i < other.ids.size() && spelled.size() < piece.size(); ++i)
        spelled += other.backend.token_piece(other.ids[i]);
    return spelled.rfind(piece, 0) == 0 && other.ids.size() > index + 1 &&
           other.backend.token_piece(other.ids[index]) != piece;
}

// The first token of `t` from `index` within `window` that the other vocabulary lacks, or -1:
// a mismatch next to such a token comes from the vocabularies, not from the tokenizers.
int64_t unaligned_near(const Tokenization& t, size_t index, int window, const VocabBridge& bridge, bool is_a) {
    for (size_t i = index; i < t.ids.size() && i <= index + static_cast<size_t>(window); ++i)
        if ((is_a ? bridge.to_b(t.ids[i]) : bridge.to_a(t.ids[i])) < 0) return static_cast<int64_t>(i);
    return -1;
}

std::string vocabulary_note(const Tokenization& a, const Tokenization& b, const VocabBridge& bridge) {
    if (bridge.identity) return "";
    return " (the vocabularies differ: " + std::to_string(bridge.unaligned_a) + " tokens of " + a.label +
           " and " + std::to_string(bridge.unaligned_b) + " of " + b.label + " have no counterpart)";
}

}  // namespace

std::optional<TokenMismatch> find_token_mismatch(const Tokenization& a, const Tokenization& b,
                                                 const VocabBridge& bridge, int window) {
    const size_t common = std::min(a.ids.size(), b.ids.size());
    size_t index = 0;
    while (index < common && bridge.to_b(a.ids[index]) == b.ids[index]) ++index;
    if (index == a.ids.size() && index == b.ids.size()) return std::nullopt;

    TokenMismatch m;
    m.index = static_cast<int64_t>(index);
    m.window_start = std::max<int64_t>(0, m.index - window);
    const bool has_a = index < a.ids.size(), has_b = index < b.ids.size();
    m.a = side(a, m.index, m.window_start, window, has_a ? bridge.to_b(a.ids[index]) : -1);
    m.b = side(b, m.index, m.window_start, window, has_b ? bridge.to_a(b.ids[index]) : -1);

    const int32_t bos_a = a.backend.bos_id(), bos_b = b.backend.bos_id();
    const int64_t lone_a = unaligned_near(a, index, window, bridge, true);
    const int64_t lone_b = lone_a >= 0 ? -1 : unaligned_near(b, index, window, bridge, false);
    if (lone_a >= 0 || lone_b >= 0) {
        m.cause = "different-vocabulary";
        const Tokenization& lone = lone_a >= 0 ? a : b;
        const int32_t id = lone.ids[lone_a >= 0 ? lone_a : lone_b];
        m.explanation = "token " + std::to_string(id) + " '" + lone.backend.token_piece(id) + "' of " + lone.label +
                        " has no counterpart in the vocabulary of " + (lone_a >= 0 ? b.label : a.label);
    } else if (starts_with_double(a.ids, bos_a) != starts_with_double(b.ids, bos_b)) {
        m.cause = "double-bos";
        const std::string& who = starts_with_double(a.ids, bos_a) ? a.label : b.label;
        m.explanation = who + " starts with BOS twice: the prompt already contains BOS and the tokenizer added another";
    } else if (index == 0 && starts_with(a.ids, bos_a) != starts_with(b.ids, bos_b)) {
        m.cause = "missing-bos";
        const std::string& who = starts_with(a.ids, bos_a) ? b.label : a.label;
        m.explanation = who + " did not add BOS where the other backend did";
    } else if (special_spelled_out(a, b, index) || special_spelled_out(b, a, index)) {
        m.cause = "special-not-parsed";
        const bool a_parsed = special_spelled_out(a, b, index);
        m.explanation = (a_parsed ? b.label : a.label) + " spelled out the special token " +
                        (a_parsed ? m.a.piece : m.b.piece) + " as text instead of parsing it";
    } else if (join_pieces(a.backend, a.ids) != join_pieces(b.backend, b.ids)) {
        m.cause = "different-text";
        m.explanation = "the tokens spell different texts: the backends were given different prompts "
                        "(a different template or text normalisation)";
    } else {
        m.cause = "different-segmentation";
        m.explanation = "same text, split differently: the tokenizers' merge rules or pre-tokenizers disagree";
    }
    m.explanation += vocabulary_note(a, b, bridge);
    return m;
}

}  // namespace lockstep::dispatch
