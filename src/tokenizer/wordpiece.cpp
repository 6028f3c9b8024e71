#include "tokenizer/wordpiece.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace lockstep::tokenizer {

namespace {

bool is_chinese_char(char32_t c) {
    // The CJK blocks of Hugging Face's BertNormalizer (and Google's BERT).
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_bert_whitespace(char32_t c) {
    return c == '\t' || c == '\n' || c == '\r' || (codepoint_flags(c) & cp::kWhiteSpace);
}

bool is_bert_control(char32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    return codepoint_flags(c) & cp::kOther;
}

bool is_bert_punctuation(char32_t c) {
    const bool ascii_punct = c < 128 && std::ispunct(static_cast<int>(c));
    return ascii_punct || (codepoint_flags(c) & cp::kPunctuation);
}

}  // namespace

WordPieceModel::WordPieceModel(const Vocab& v) : options_(v.bert), unk_(v.unk) {
    by_text_.reserve(v.tokens.size());
    for (size_t id = 0; id < v.tokens.size(); ++id) {
        by_text_[v.tokens[id]] = static_cast<TokenId>(id);
        max_token_bytes_ = std::max(max_token_bytes_, v.tokens[id].size());
    }
}

std::u32string WordPieceModel::normalize(std::string_view text) const {
    const std::u32string in = decode_utf8(text);
    std::u32string a;
    a.reserve(in.size());
    for (char32_t c : in) {
        if (options_.clean_text) {
            if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
            if (is_bert_whitespace(c)) c = ' ';
        }
        if (options_.handle_chinese_chars && is_chinese_char(c)) {
            a.push_back(' ');
            a.push_back(c);
            a.push_back(' ');
        } else {
            a.push_back(c);
        }
    }
    if (options_.strip_accents) {
        std::u32string d;
        d.reserve(a.size());
        for (char32_t c : a) append_decomposition(c, d);
        a.clear();
        for (char32_t c : d)
            if (!(codepoint_flags(c) & cp::kNonspacing)) a.push_back(c);
    }
    if (options_.lowercase) {
        std::u32string l;
        l.reserve(a.size());
        for (char32_t c : a) append_lowercase(c, l);
        a.swap(l);
    }
    return a;
}

void WordPieceModel::encode(std::string_view text, std::vector<TokenId>& out) const {
    const std::u32string norm = normalize(text);
    size_t start = 0;
    auto flush = [&](size_t end) {
        if (end > start) encode_word(std::u32string_view(norm).substr(start, end - start), out);
    };
    for (size_t i = 0; i < norm.size(); ++i) {
        const char32_t c = norm[i];
        if (is_bert_whitespace(c)) {
            flush(i);
            start = i + 1;
        } else if (is_bert_punctuation(c)) {
            flush(i);
            encode_word(std::u32string_view(norm).substr(i, 1), out);
            start = i + 1;
        }
    }
    flush(norm.size());
}

void WordPieceModel::encode_word(std::u32string_view word, std::vector<TokenId>& out) const {
    if (word.size() > options_.max_input_chars_per_word) {
        out.push_back(unk_);
        return;
    }
    const size_t mark = out.size();
    size_t start = 0;
    std::string candidate;
    while (start < word.size()) {
        size_t end = word.size();
        TokenId found = kNoToken;
        while (end > start) {
            candidate = start == 0 ? options_.word_prefix : options_.continuing_prefix;
            candidate += encode_utf8(word.substr(start, end - start));
            if (candidate.size() <= max_token_bytes_) found = find_token(by_text_, candidate);
            if (found != kNoToken) break;
            --end;
        }
        if (found == kNoToken) {
            out.resize(mark);
            out.push_back(unk_);
            return;
        }
        out.push_back(found);
        start = end;
    }
}

}  // namespace lockstep::tokenizer
