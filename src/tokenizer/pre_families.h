// The pre-tokenizer of each family that llama.cpp names in `tokenizer.ggml.pre`: the Split
// patterns of the original Hugging Face tokenizer.json, applied in order (each isolating its
// matches), and the family's tokenizer flags.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

struct PreFamily {
    std::vector<SplitRule> splits;
    bool byte_level = true;         // GPT-2 byte mapping (false: BPE over U+2581-escaped UTF-8)
    bool escape_whitespace = false;
    bool ignore_merges = false;
    bool clean_up_spaces = true;
    bool add_bos = false;
};

// nullopt for a name lockstep does not know (the caller reports it with the file).
std::optional<PreFamily> pre_family(std::string_view name);

// The GPT-2 pattern, also Hugging Face's ByteLevel pre-tokenizer with use_regex.
extern const char* const kGpt2Pattern;

}  // namespace lockstep::tokenizer
