#include "tokenizer/pretokenizer.h"

namespace lockstep::tokenizer {

PreTokenizer::PreTokenizer(const std::vector<SplitRule>& rules) {
    rules_.reserve(rules.size());
    for (const auto& r : rules) rules_.push_back({Regex(r.pattern), r.behavior, r.invert});
}

void PreTokenizer::split(const CodepointText& text, std::vector<Span>& pieces) const {
    std::vector<Span> next;
    for (const auto& rule : rules_) {
        next.clear();
        for (const Span& piece : pieces) apply(rule, text, piece, next);
        pieces.swap(next);
    }
}

void PreTokenizer::apply(const Rule& rule, const CodepointText& text, Span piece, std::vector<Span>& out) const {
    // The piece alone is the pattern's input: lookahead stops at its end.
    const CodepointText view{text.cps + piece.begin, text.flags + piece.begin, piece.end - piece.begin};
    // Alternating runs of (matched, span) over the piece, in order.
    struct Part {
        Span span;
        bool matched;
    };
    std::vector<Part> parts;
    size_t pos = 0, begin = 0, end = 0;
    while (pos < view.size && rule.regex.search(view, pos, begin, end)) {
        if (begin > pos) parts.push_back({{uint32_t(pos), uint32_t(begin)}, rule.invert});
        parts.push_back({{uint32_t(begin), uint32_t(end)}, !rule.invert});
        pos = end;
    }
    if (pos < view.size) parts.push_back({{uint32_t(pos), uint32_t(view.size)}, rule.invert});

    // Hugging Face's folds over the parts, one per behavior.
    std::vector<Span> result;
    bool previous_matched = false;
    auto extend_last = [&](Span s) {
        if (result.empty()) result.push_back(s);
        else result.back().end = s.end;
    };
    for (const auto& p : parts) {
        switch (rule.behavior) {
            case SplitBehavior::kIsolated: result.push_back(p.span); break;
            case SplitBehavior::kRemoved:
                if (!p.matched) result.push_back(p.span);
                break;
            case SplitBehavior::kMergedWithPrevious:
                if (p.matched && !previous_matched && !result.empty()) extend_last(p.span);
                else result.push_back(p.span);
                break;
            case SplitBehavior::kMergedWithNext:
                if (previous_matched) extend_last(p.span);
                else result.push_back(p.span);
                break;
            case SplitBehavior::kContiguous:
                if (p.matched == previous_matched && !result.empty()) extend_last(p.span);
                else result.push_back(p.span);
                break;
        }
        previous_matched = p.matched;
    }
    for (const Span& r : result)
        if (r.end > r.begin) out.push_back({r.begin + piece.begin, r.end + piece.begin});
}

}  // namespace lockstep::tokenizer
