// The regular expressions of pre-tokenizers (GPT-2's, Llama 3's, Qwen's, ... and any Split
// pattern of a tokenizer.json), matched over code points with Perl/Oniguruma semantics:
// leftmost-first alternation, greedy or lazy quantifiers, atomic lookahead.
//
// A small backtracking matcher rather than a general regex library: these patterns use a
// narrow subset (classes with \p{..}, alternation, lookahead, counted repetition) and must
// follow Unicode general categories exactly as Oniguruma (Hugging Face tokenizers) and
// fancy-regex (tiktoken) do. Anything outside the subset is rejected at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lockstep::tokenizer {

// A search stopped by its step budget: the pattern backtracks catastrophically on this text.
class RegexTooSlow : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Text prepared for matching: code points with their flags (unicode.h), computed once.
struct CodepointText {
    const char32_t* cps;
    const uint16_t* flags;
    size_t size;
};

// A set of code points: a bitmap for ASCII, category flags and ranges above it.
struct CharClass {
    uint64_t ascii[2] = {0, 0};
    bool negated = false;
    uint16_t any_flags = 0;               // member if (flags & any_flags) != 0
    std::vector<uint16_t> missing_flags;  // member if (flags & m) == 0 for some m (\S, \P{..})
    std::vector<std::pair<char32_t, char32_t>> ranges;

    bool contains_slow(char32_t c, uint16_t flags) const;
    void finalize();  // fills the ASCII bitmap from the rest
    bool contains(char32_t c, uint16_t flags) const {
        if (c < 128) return (ascii[c >> 6] >> (c & 63)) & 1;
        return contains_slow(c, flags);
    }
};

class Regex {
public:
    // Throws std::invalid_argument naming the pattern, the position and the construct when
    // the pattern is malformed or uses syntax outside the supported subset.
    explicit Regex(std::string_view pattern);

    const std::string& pattern() const { return pattern_; }

    // The leftmost match that starts at or after `from`: true with [begin, end) set.
    // Empty matches are skipped (pre-tokenizers drop empty pieces). Throws
    // RegexTooSlow when the search takes more than kStepBudget + kStepsPerCodepoint
    // x (code points after `from`) matcher steps (catastrophic backtracking).
    static constexpr uint64_t kStepBudget = 1u << 22, kStepsPerCodepoint = 1024;
    bool search(const CodepointText& text, size_t from, size_t& begin, size_t& end) const;

    struct Instruction {
        enum Op : uint8_t { kClass, kRepeat, kSplit, kJump, kLook, kLookEnd, kEndOfLine, kMatch } op;
        bool greedy = true;
        bool possessive = false;
        bool negate = false;
        uint32_t cls = 0;      // kClass, kRepeat: index into classes_
        uint32_t min = 0;      // kRepeat
        uint32_t max = 0;      // kRepeat (UINT32_MAX: unbounded)
        uint32_t target = 0;   // kSplit: the second choice; kJump; kLook: past the kLookEnd
        int32_t guard = -1;    // kSplit: index into guards_; the first choice is skipped when
                               // the next code point is in none of the guard's classes
    };

private:
    // End of the match of the program from `pc` at `pos`, or -1.
    long run(const CodepointText& text, uint32_t pc, size_t pos, std::vector<struct Backtrack>& stack, uint64_t& budget) const;
    bool may_start_at(const CodepointText& text, size_t pos) const;
    bool in_any(const std::vector<uint32_t>& classes, const CodepointText& text, size_t pos) const;

    std::string pattern_;
    std::vector<CharClass> classes_;
    std::vector<Instruction> program_;
    std::vector<std::vector<uint32_t>> guards_;
    // Classes one of which the first code point of any match belongs to; empty when the
    // pattern may match the empty string (then every position is tried).
    std::vector<uint32_t> first_classes_;
    bool nullable_ = false;

    friend class RegexCompiler;
};

}  // namespace lockstep::tokenizer
