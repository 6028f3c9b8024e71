#include "tokenizer/word_boundaries.h"

namespace lockstep::tokenizer {

bool tokens_stay_within_words(const std::vector<std::string>& tokens) {
    constexpr std::string_view kSpace = "\xE2\x96\x81";
    for (const std::string& t : tokens) {
        size_t pos = t.find(kSpace, 1);
        while (pos != std::string::npos) {
            const bool after_space = pos >= kSpace.size() && t.compare(pos - kSpace.size(), kSpace.size(), kSpace) == 0;
            if (!after_space) return false;
            pos = t.find(kSpace, pos + kSpace.size());
        }
    }
    return true;
}

}  // namespace lockstep::tokenizer
