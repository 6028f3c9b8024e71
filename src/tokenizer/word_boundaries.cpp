#include "tokenizer/word_boundaries.h"

namespace lockstep::tokenizer {

WordSplitter::WordSplitter(const std::vector<std::string>& tokens) {
    for (const std::string& t : tokens) {
        for (size_t pos = t.find(kSpace, 1); pos != std::string::npos; pos = t.find(kSpace, pos + kSpace.size())) {
            if (after_space(t, pos)) continue;
            size_t lead = pos - 1;
            while (lead > 0 && (static_cast<unsigned char>(t[lead]) & 0xC0) == 0x80) --lead;
            bridging_.push_back(t.substr(lead, pos - lead));
        }
    }
    std::sort(bridging_.begin(), bridging_.end());
    bridging_.erase(std::unique(bridging_.begin(), bridging_.end()), bridging_.end());
}

}  // namespace lockstep::tokenizer
