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

// A token of `one` near the mismatch that its tokenizer reads as one token and the other's
// spells with several, although the other vocabulary has it too: a special token that one
// tokenizer parsed and the other did not (e.g. a converter that typed it as plain text).
// Returns its position in `one`, or -1.
int64_t special_spelled_out(const Tokenization& one, const Tokenization& other, size_t index, int window,
                            const VocabBridge& bridge, bool one_is_a) {
    const size_t end = std::min(one.ids.size(), index + static_cast<size_t>(window) + 1);
    for (size_t i = index; i < end; ++i) {
        const int32_t id = one.ids[i];
        if ((one_is_a ? bridge.to_b(id) : bridge.to_a(id)) < 0) continue;
        const std::string piece = one.backend.token_piece(id);
        if (piece.size() < 2) continue;
        if (one.backend.tokenize(piece, false, true) != std::vector<int32_t>{id}) continue;
        if (other.backend.tokenize(piece, false, true).size() > 1) return static_cast<int64_t>(i);
    }
    return -1;
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
    } else if (a.text != b.text) {
        m.cause = "different-template";
        const auto diff = std::mismatch(a.text.begin(), a.text.end(), b.text.begin(), b.text.end());
        m.explanation = "the rendered prompts differ from character " + std::to_string(diff.first - a.text.begin()) +
                        " on: the model files of " + a.label + " and " + b.label +
                        " carry different chat templates";
    } else if (const int64_t at = special_spelled_out(a, b, index, window, bridge, true),
               bt = at >= 0 ? -1 : special_spelled_out(b, a, index, window, bridge, false);
               at >= 0 || bt >= 0) {
        m.cause = "special-not-parsed";
        const Tokenization& parsed = at >= 0 ? a : b;
        const int32_t id = parsed.ids[at >= 0 ? at : bt];
        m.explanation = (at >= 0 ? b.label : a.label) + " spelled out the special token '" +
                        parsed.backend.token_piece(id) + "' (id " + std::to_string(id) + " of " + parsed.label +
                        ") as text instead of parsing it, although its vocabulary has it";
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
