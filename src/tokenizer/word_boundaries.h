// SentencePiece-style vocabularies mark a word start with U+2581. When no token has U+2581
// after another character, no token crosses the place where a word starts, so merging each
// word alone gives the same ids as merging the whole text, and words can be cached.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lockstep::tokenizer {

// True when no token holds U+2581 after a character other than U+2581.
bool tokens_stay_within_words(const std::vector<std::string>& tokens);

// Calls fn(word) for the words of `text`: each ends where a run of U+2581 follows
// another character.
template <typename Fn>
void for_each_word(std::string_view text, Fn&& fn) {
    constexpr std::string_view kSpace = "\xE2\x96\x81";
    size_t start = 0;
    for (size_t pos = 1; pos + kSpace.size() <= text.size(); ++pos) {
        if (text.compare(pos, kSpace.size(), kSpace) != 0) continue;
        const bool after_space = pos >= kSpace.size() && text.compare(pos - kSpace.size(), kSpace.size(), kSpace) == 0;
        // A code point boundary: U+2581's first byte never continues another sequence.
        if (!after_space) {
            fn(text.substr(start, pos - start));
            start = pos;
        }
        pos += kSpace.size() - 1;
    }
    fn(text.substr(start));
}

}  // namespace lockstep::tokenizer
