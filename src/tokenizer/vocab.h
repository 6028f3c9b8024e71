// A vocabulary and the rules that turn text into its ids, as plain data. The loaders
// (vocab_gguf.h from GGUF metadata, vocab_hf.h from a Hugging Face tokenizer.json) fill it;
// the Tokenizer (tokenizer.h) is built from it and knows nothing about file formats.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lockstep::tokenizer {

using TokenId = int32_t;
constexpr TokenId kNoToken = -1;

// The segmentation algorithm.
enum class ModelKind {
    kBpe,        // merges by rank (GPT-2 byte-level, or over UTF-8 text with byte fallback)
    kSpm,        // SentencePiece BPE: merges by piece score (llama.cpp's "llama" / "spm")
    kWordPiece,  // greedy longest match (BERT)
    kUnigram,    // most probable segmentation by token log-probabilities (T5; llama.cpp's "t5" / UGM)
};

// GGUF's token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t {
    kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

// How a Split pre-tokenizer treats the matches of its pattern (Hugging Face's names).
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct SplitRule {
    std::string pattern;  // regex.h syntax
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;  // split on what does not match
};

// When a word-boundary marker (a space, or U+2581 after escaping) is put before text.
enum class SpacePrefix {
    kNever,
    kFirst,         // before the text's first fragment only, if it starts the input
    kAfterSpecial,  // before the first fragment and every fragment following a special token
    kAlways,        // before every fragment between special tokens
};

// BERT's normalizer and pre-tokenizer.
struct BertOptions {
    bool clean_text = true;           // drop controls, map whitespace to ' '
    bool handle_chinese_chars = true; // isolate CJK ideographs
    bool strip_accents = true;        // NFD, then drop nonspacing marks
    bool lowercase = true;
    std::string continuing_prefix = "##";  // marks a piece inside a word ("" in GGUF files)
    std::string word_prefix;               // marks a piece starting a word (U+2581 in GGUF)
    size_t max_input_chars_per_word = 100;
};

struct Vocab {
    std::string source;  // the file it came from, for error messages
    ModelKind model = ModelKind::kBpe;

    std::vector<std::string> tokens;  // as stored: GPT-2 byte-mapped for byte-level BPE
    std::vector<float> scores;        // SentencePiece log-probabilities; empty when unused
    std::vector<TokenType> types;     // same length as tokens
    std::vector<uint8_t> lstrip;      // special token swallows whitespace on its left
    std::vector<uint8_t> rstrip;      // ... on its right
    std::vector<std::pair<std::string, std::string>> merges;  // in rank order (BPE)

    // Pre-tokenization and normalization.
    std::vector<SplitRule> splits;  // applied in order, each to the pieces of the last
    bool byte_level = false;        // GPT-2 byte-to-unicode mapping of tokens and text
    bool byte_fallback = false;     // unknown characters become <0xXX> tokens
    bool ignore_merges = false;     // a piece that is a whole token is taken as is
    bool escape_whitespace = false; // ' ' becomes U+2581 (SentencePiece)
    SpacePrefix space_prefix = SpacePrefix::kNever;
    bool remove_extra_whitespaces = false;
    bool fuse_unknown = false;      // consecutive unknown pieces become one unknown token
    std::string precompiled_charsmap;  // Unigram: SentencePiece's normalization rules (charsmap.h)
    BertOptions bert;

    // Special tokens and the rules for adding them.
    TokenId bos = kNoToken, eos = kNoToken, unk = kNoToken, sep = kNoToken, pad = kNoToken;
    TokenId cls = kNoToken, mask = kNoToken, eot = kNoToken;
    bool add_bos = false;
    bool add_eos = false;
    bool add_sep = false;  // BERT: [CLS] text [SEP], with cls as the leading token

    // Decoding.
    bool clean_up_spaces = false;      // " ." -> "." etc. (Hugging Face clean_up_tokenization_spaces)
    bool strip_leading_space = false;  // drop the space the prefix rule added at the start
};

}  // namespace lockstep::tokenizer
