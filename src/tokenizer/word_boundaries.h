// SentencePiece-style vocabularies mark a word start with U+2581. A token can cross the
// start of a word only if it holds the character before that U+2581 followed by U+2581.
// Where no token does, merging the words on either side alone gives the same ids as
// merging the whole text (no merge ever joins them, and merges on one side never depend
// on the other), so words can be merged, and cached, one by one.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace lockstep::tokenizer {

class WordSplitter {
public:
    // Learns from `tokens` which characters some token holds right before a U+2581.
    explicit WordSplitter(const std::vector<std::string>& tokens);

    // Calls fn(piece) for consecutive pieces of `text` that no token crosses: a piece ends
    // where a run of U+2581 follows a character that no token holds before U+2581.
    template <typename Fn>
    void for_each_word(std::string_view text, Fn&& fn) const {
        size_t start = 0;
        for (size_t pos = 1; pos + kSpace.size() <= text.size(); ++pos) {
            if (text.compare(pos, kSpace.size(), kSpace) != 0) continue;
            // U+2581's first byte (E2) never continues a sequence: pos is a character boundary.
            if (!after_space(text, pos) && !bridged(text, start, pos)) {
                fn(text.substr(start, pos - start));
                start = pos;
            }
            pos += kSpace.size() - 1;
        }
        fn(text.substr(start));
    }

private:
    static constexpr std::string_view kSpace = "\xE2\x96\x81";

    static bool after_space(std::string_view text, size_t pos) {
        return pos >= kSpace.size() && text.compare(pos - kSpace.size(), kSpace.size(), kSpace) == 0;
    }
    // Whether some token holds the character ending at `pos` followed by U+2581.
    bool bridged(std::string_view text, size_t start, size_t pos) const {
        if (bridging_.empty()) return false;
        size_t lead = pos - 1;
        while (lead > start && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
        return std::binary_search(bridging_.begin(), bridging_.end(), text.substr(lead, pos - lead));
    }

    std::vector<std::string> bridging_;  // sorted UTF-8 characters
};

}  // namespace lockstep::tokenizer
