// Text <-> token ids for one vocabulary: special-token splitting, normalization,
// pre-tokenization and the segmentation model, with the vocabulary's BOS/EOS rules.
// Immutable after construction, so one Tokenizer serves many threads.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lockstep::gguf {
class File;
}

namespace lockstep::tokenizer {

class BpeModel;
class SpmModel;
class WordPieceModel;
class UnigramModel;
class PreTokenizer;
class SpecialTokenSplitter;

class Tokenizer {
public:
    // Throws FormatError (naming vocab.source) when the vocabulary is unusable.
    explicit Tokenizer(Vocab vocab);
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    // A .gguf file (tokenizer.ggml.*) or a Hugging Face tokenizer.json (with the
    // tokenizer_config.json beside it, if any).
    static Tokenizer from_file(const std::string& path);
    // The vocabulary of an opened GGUF file (a model loader's own, so it is read once).
    static Tokenizer from_gguf(const gguf::File& file);

    // Throws std::invalid_argument when `text` is not valid UTF-8.
    std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const;
    // The bytes of the ids' text; control tokens are rendered unless skipped. Throws
    // std::out_of_range for an id outside the vocabulary.
    std::string decode(std::span<const TokenId> ids, bool skip_special = false) const;
    // One token's bytes (possibly a partial UTF-8 sequence); control tokens as their text.
    std::string token_to_piece(TokenId id) const;

    const Vocab& vocab() const { return vocab_; }
    size_t vocab_size() const { return vocab_.tokens.size(); }
    TokenId bos_id() const { return vocab_.bos; }  // kNoToken when the vocabulary has none
    TokenId eos_id() const { return vocab_.eos; }
    bool add_bos() const { return vocab_.add_bos; }  // encode(add_special=true) prepends BOS
    bool add_eos() const { return vocab_.add_eos; }
    bool is_control(TokenId id) const;
    // The piece of `id` as text of the ids' first token: the space a SentencePiece or WordPiece
    // vocabulary writes before each word is dropped there (not before control tokens). The one
    // rule for decode and StreamingDecoder.
    std::string first_piece(TokenId id) const;

private:
    void check_id(TokenId id) const;
    void encode_text(std::string_view text, bool prefix_space, std::vector<TokenId>& out) const;
    std::string piece(TokenId id) const;

    Vocab vocab_;
    std::unique_ptr<BpeModel> bpe_;
    std::unique_ptr<SpmModel> spm_;
    std::unique_ptr<WordPieceModel> wordpiece_;
    std::unique_ptr<UnigramModel> unigram_;
    std::unique_ptr<PreTokenizer> pre_;
    std::unique_ptr<SpecialTokenSplitter> specials_;
};

// Turns ids into text as they arrive, never cutting a UTF-8 sequence: bytes of an
// incomplete sequence wait for the next token; bytes that cannot start or continue a
// valid sequence come out as U+FFFD.
class StreamingDecoder {
public:
    explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special = false)
        : tokenizer_(tokenizer), skip_special_(skip_special) {}
    // The complete text that `id` finishes (possibly empty).
    std::string push(TokenId id);
    // What is left at the end (an incomplete sequence becomes U+FFFD).
    std::string flush();

private:
    const Tokenizer& tokenizer_;
    bool skip_special_;
    bool first_ = true;
    std::string pending_;
};

// Valid UTF-8 with each ill-formed subsequence replaced by U+FFFD (as Python's "replace").
std::string sanitize_utf8(std::string_view bytes);

}  // namespace lockstep::tokenizer
