#include "tokenizer/tokenizer.h"

#include <fstream>
#include <stdexcept>

#include "formats/errors.h"
#include "formats/utf8_validate.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm.h"
#include "tokenizer/unicode.h"
#include "tokenizer/unigram.h"
#include "tokenizer/vocab_gguf.h"
#include "tokenizer/vocab_hf.h"
#include "tokenizer/wordpiece.h"

namespace lockstep::tokenizer {

namespace {

constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";  // U+2581

std::string escape_spaces(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (char c : text) {
        if (c == ' ') out += kEscapedSpace;
        else out.push_back(c);
    }
    return out;
}

// <0xXX> -> the byte.
std::optional<uint8_t> byte_token_value(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<uint8_t>(hi * 16 + lo);
}

std::string unescape_spaces(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) {
        if (s.compare(pos, kEscapedSpace.size(), kEscapedSpace) == 0) {
            out.push_back(' ');
            pos += kEscapedSpace.size();
        } else {
            out.push_back(s[pos++]);
        }
    }
    return out;
}

}  // namespace

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
    const size_t n = vocab_.tokens.size();
    if (n == 0) throw FormatError(vocab_.source, FormatError::kNoOffset, "the vocabulary is empty");
    if (vocab_.types.size() != n)
        throw FormatError(vocab_.source, FormatError::kNoOffset, "token types do not match the vocabulary size");
    for (TokenId id : {vocab_.bos, vocab_.eos, vocab_.unk, vocab_.sep, vocab_.pad, vocab_.cls, vocab_.mask, vocab_.eot})
        if (id != kNoToken && (id < 0 || static_cast<size_t>(id) >= n))
            throw FormatError(vocab_.source, FormatError::kNoOffset,
                              "special token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(n));
    try {
        switch (vocab_.model) {
            case ModelKind::kBpe: bpe_ = std::make_unique<BpeModel>(vocab_); break;
            case ModelKind::kSpm: spm_ = std::make_unique<SpmModel>(vocab_); break;
            case ModelKind::kWordPiece:
                if (vocab_.unk == kNoToken)
                    throw std::invalid_argument("a WordPiece vocabulary needs an unknown token");
                wordpiece_ = std::make_unique<WordPieceModel>(vocab_);
                break;
            case ModelKind::kUnigram: unigram_ = std::make_unique<UnigramModel>(vocab_); break;
        }
        pre_ = std::make_unique<PreTokenizer>(vocab_.splits);
    } catch (const std::invalid_argument& e) {
        throw FormatError(vocab_.source, FormatError::kNoOffset, e.what());
    }
    specials_ = std::make_unique<SpecialTokenSplitter>(vocab_);
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::from_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FormatError(path, FormatError::kNoOffset, "cannot open the file");
    char magic[4] = {};
    in.read(magic, 4);
    if (in.gcount() == 4 && std::string_view(magic, 4) == "GGUF") return Tokenizer(load_vocab_gguf(path));
    return Tokenizer(load_vocab_hf(path));
}

Tokenizer Tokenizer::from_gguf(const gguf::File& file) { return Tokenizer(load_vocab_gguf(file)); }

void Tokenizer::check_id(TokenId id) const {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.tokens.size())
        throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary of " +
                                std::to_string(vocab_.tokens.size()));
}

bool Tokenizer::is_control(TokenId id) const {
    check_id(id);
    const TokenType t = vocab_.types[id];
    return t == TokenType::kControl || t == TokenType::kUnknown;
}

void Tokenizer::encode_text(std::string_view text, bool prefix_space, std::vector<TokenId>& out) const {
    if (wordpiece_) {
        wordpiece_->encode(text, out);
        return;
    }
    if (unigram_) {  // normalizes and adds its own space prefix
        unigram_->encode(text, out);
        return;
    }
    std::string prepared;
    if (prefix_space) prepared.push_back(' ');
    prepared.append(text);
    if (vocab_.escape_whitespace) prepared = escape_spaces(prepared);
    if (spm_) {
        spm_->encode(prepared, out);
        return;
    }
    // Code points, their flags and byte offsets, then the pre-tokenizer's pieces.
    thread_local std::u32string cps;
    thread_local std::vector<uint16_t> flags;
    thread_local std::vector<uint32_t> offsets;
    thread_local std::vector<Span> pieces;
    cps.clear();
    flags.clear();
    offsets.clear();
    for (size_t pos = 0; pos < prepared.size();) {
        offsets.push_back(static_cast<uint32_t>(pos));
        const char32_t c = decode_utf8_at(prepared, pos);
        cps.push_back(c);
        flags.push_back(codepoint_flags(c));
    }
    offsets.push_back(static_cast<uint32_t>(prepared.size()));
    pieces.assign(1, Span{0, static_cast<uint32_t>(cps.size())});
    if (cps.empty()) return;
    pre_->split(CodepointText{cps.data(), flags.data(), cps.size()}, pieces);
    for (const Span& s : pieces)
        bpe_->encode(std::string_view(prepared).substr(offsets[s.begin], offsets[s.end] - offsets[s.begin]), out);
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    const size_t bad = first_invalid_utf8(text);
    if (bad != std::string_view::npos)
        throw std::invalid_argument("text is not valid UTF-8 at byte " + std::to_string(bad));
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 4);
    if (add_special) {
        if (vocab_.model == ModelKind::kWordPiece && vocab_.add_sep) {
            const TokenId first = vocab_.cls != kNoToken ? vocab_.cls : vocab_.bos;
            if (first != kNoToken) out.push_back(first);
        } else if (vocab_.add_bos && vocab_.bos != kNoToken) {
            out.push_back(vocab_.bos);
        }
    }
    bool previous_special = true;  // the start of the text counts as following a special token
    for (const Fragment& f : specials_->split(text, parse_special)) {
        if (f.token != kNoToken) {
            out.push_back(f.token);
            previous_special = true;
            continue;
        }
        bool prefix = false;
        switch (vocab_.space_prefix) {
            case SpacePrefix::kNever: break;
            case SpacePrefix::kFirst: prefix = f.begin == 0; break;
            case SpacePrefix::kAfterSpecial: prefix = previous_special; break;
            case SpacePrefix::kAlways: prefix = true; break;
        }
        try {
            encode_text(text.substr(f.begin, f.end - f.begin), prefix, out);
        } catch (const RegexTooSlow& e) {  // the vocabulary's own pattern is at fault, not the text
            throw FormatError(vocab_.source, FormatError::kNoOffset, std::string("pre-tokenizer: ") + e.what());
        }
        previous_special = false;
    }
    if (add_special) {
        if (vocab_.add_eos && vocab_.eos != kNoToken) out.push_back(vocab_.eos);
        if (vocab_.model == ModelKind::kWordPiece && vocab_.add_sep && vocab_.sep != kNoToken) out.push_back(vocab_.sep);
    }
    return out;
}

std::string Tokenizer::piece(TokenId id) const {
    const std::string& text = vocab_.tokens[id];
    switch (vocab_.types[id]) {
        case TokenType::kControl:
        case TokenType::kUnknown:
        case TokenType::kUserDefined: return text;
        default: break;
    }
    if (vocab_.types[id] == TokenType::kByte || (!vocab_.byte_level && vocab_.model != ModelKind::kWordPiece)) {
        if (auto b = byte_token_value(text)) return std::string(1, static_cast<char>(*b));
    }
    if (vocab_.byte_level) {
        if (auto raw = unmap_bytes(text)) return *raw;
        return text;
    }
    if (vocab_.model == ModelKind::kWordPiece) {
        const std::string& cont = vocab_.bert.continuing_prefix;
        const std::string& word = vocab_.bert.word_prefix;
        if (!cont.empty() && text.compare(0, cont.size(), cont) == 0) return text.substr(cont.size());
        if (!word.empty()) {
            if (text.compare(0, word.size(), word) != 0) return text;
            std::string spaced(1, ' ');
            spaced.append(text, word.size(), std::string::npos);
            return spaced;
        }
        std::string spaced(1, ' ');
        spaced += text;
        return spaced;
    }
    return unescape_spaces(text);
}

std::string Tokenizer::token_to_piece(TokenId id) const {
    check_id(id);
    return piece(id);
}

std::string Tokenizer::first_piece(TokenId id) const {
    check_id(id);
    std::string p = piece(id);
    const bool strip = !p.empty() && p[0] == ' ' &&
                       (vocab_.strip_leading_space || vocab_.model == ModelKind::kWordPiece) && !is_control(id);
    if (strip) p.erase(0, 1);
    return p;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool skip_special) const {
    std::string out;
    bool first = true;
    for (TokenId id : ids) {
        check_id(id);
        if (skip_special && is_control(id)) continue;
        out += first ? first_piece(id) : piece(id);
        first = false;
    }
    return out;
}

std::string StreamingDecoder::push(TokenId id) {
    if (skip_special_ && tokenizer_.is_control(id)) return {};
    std::string p = first_ ? tokenizer_.first_piece(id) : tokenizer_.token_to_piece(id);
    first_ = false;
    pending_ += p;
    // Emit everything up to the start of a sequence that may still complete.
    size_t cut = pending_.size();
    for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
        const auto b = static_cast<uint8_t>(pending_[pending_.size() - back]);
        if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back
        if (b >= 0xC0 && utf8_length_from_lead(b) > back) cut = pending_.size() - back;
        break;
    }
    std::string ready = sanitize_utf8(std::string_view(pending_).substr(0, cut));
    pending_.erase(0, cut);
    return ready;
}

std::string StreamingDecoder::flush() {
    std::string rest = sanitize_utf8(pending_);
    pending_.clear();
    return rest;
}

std::string sanitize_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    while (!bytes.empty()) {
        const size_t bad = first_invalid_utf8(bytes);
        if (bad == std::string_view::npos) {
            out.append(bytes);
            break;
        }
        out.append(bytes.substr(0, bad));
        out += "\xEF\xBF\xBD";
        // Skip the maximal prefix of a valid sequence (Unicode's "substitution of maximal
        // subparts"), at least one byte.
        size_t skip = 1;
        const auto lead = static_cast<uint8_t>(bytes[bad]);
        if (lead >= 0xC2 && lead <= 0xF4) {
            const size_t need = utf8_length_from_lead(lead);
            uint8_t lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
            if (lead == 0xE0) lo = 0xA0;
            if (lead == 0xED) hi = 0x9F;
            if (lead == 0xF0) lo = 0x90;
            if (lead == 0xF4) hi = 0x8F;
            while (skip < need && bad + skip < bytes.size()) {
                const auto b = static_cast<uint8_t>(bytes[bad + skip]);
                if (skip == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) break;
                ++skip;
            }
        }
        bytes.remove_prefix(bad + skip);
    }
    return out;
}

}  // namespace lockstep::tokenizer
