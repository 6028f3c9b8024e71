// Token text -> id, looked up by string_view without building a std::string.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using TokenMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

inline TokenId find_token(const TokenMap& map, std::string_view text) {
    auto it = map.find(text);
    return it == map.end() ? kNoToken : it->second;
}

}  // namespace lockstep::tokenizer
