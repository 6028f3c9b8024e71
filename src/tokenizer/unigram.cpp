#include "tokenizer/unigram.h"

#include <algorithm>
#include <cfloat>
#include <stdexcept>

#include "formats/errors.h"
#include "tokenizer/unicode.h"

namespace lockstep::tokenizer {

namespace {

constexpr double kUnknownPenalty = 10.0;  // SentencePiece's kUnkPenalty

}  // namespace

UnigramModel::UnigramModel(const Vocab& v)
    : source_(v.source),
      unk_(v.unk),
      prepend_space_(v.space_prefix != SpacePrefix::kNever),
      merge_spaces_(v.remove_extra_whitespaces),
      space_(v.escape_whitespace ? "\xE2\x96\x81" : " ") {
    if (unk_ == kNoToken) throw std::invalid_argument("a Unigram vocabulary needs an unknown token");
    if (!v.precompiled_charsmap.empty()) charsmap_ = PrecompiledCharsmap(v.precompiled_charsmap);
    const size_t n = v.tokens.size();
    if (v.scores.size() != n) throw std::invalid_argument("a Unigram vocabulary needs a score for every token");
    std::vector<std::pair<std::string_view, TokenId>> matchable, user_defined;
    scores_.assign(n, 0.0);
    double min_score = DBL_MAX;
    for (size_t id = 0; id < n; ++id) {
        const TokenType t = v.types[id];
        const auto token = static_cast<TokenId>(id);
        if (t == TokenType::kNormal) {
            scores_[id] = v.scores[id];
            min_score = std::min(min_score, scores_[id]);
        }
        if (t == TokenType::kNormal || t == TokenType::kUserDefined || t == TokenType::kUnused)
            matchable.emplace_back(v.tokens[id], token);
        if (t == TokenType::kUnused) scores_[id] = v.scores[id];
        if (t == TokenType::kUserDefined) user_defined.emplace_back(v.tokens[id], token);
    }
    // llama.cpp's bound is a float starting at FLT_MAX, so a vocabulary without normal tokens
    // penalizes from there.
    if (min_score == DBL_MAX) min_score = FLT_MAX;
    unknown_score_ = static_cast<float>(min_score) - static_cast<float>(kUnknownPenalty);
    tokens_ = ByteTrie(std::move(matchable));
    user_defined_ = ByteTrie(std::move(user_defined));
}

std::string UnigramModel::normalize(std::string_view text) const {
    std::string out;
    out.reserve(text.size() * 3 / 2 + space_.size());
    bool in_word = false, prepended = false;
    auto emit = [&](std::string_view piece) {
        for (char c : piece) {
            if (c != ' ') {
                if (!in_word) {
                    in_word = true;
                    if ((prepend_space_ && !prepended) || merge_spaces_) {
                        out += space_;
                        prepended = true;
                    }
                }
                out.push_back(c);
            } else {
                in_word = false;
                if (!merge_spaces_) out += space_;
            }
        }
    };
    for (size_t pos = 0; pos < text.size();) {
        const std::string_view rest = text.substr(pos);
        if (const size_t user = user_defined_.longest_prefix(rest)) {  // user-defined tokens stay as written
            emit(rest.substr(0, user));
            pos += user;
            continue;
        }
        std::string_view replacement;
        size_t matched = 0;
        try {
            matched = charsmap_.longest_match(rest, replacement);
        } catch (const std::invalid_argument& e) {  // a damaged rule, found only when text reaches it
            throw FormatError(source_, FormatError::kNoOffset, e.what());
        }
        if (matched) {
            emit(replacement);
            pos += matched;
            continue;
        }
        const size_t length = std::min(utf8_length_from_lead(static_cast<uint8_t>(rest[0])), rest.size());
        emit(rest.substr(0, length));  // the text is valid UTF-8: one code point as it is
        pos += length;
    }
    return out;
}

void UnigramModel::encode(std::string_view text, std::vector<TokenId>& out) const {
    const std::string normalized = normalize(text);
    const size_t n = normalized.size();
    if (n == 0) return;
    // best[i]: the best segmentation of the first i bytes ends with `token`, which starts at `from`.
    struct Best {
        TokenId token;
        size_t from;
        double score;
    };
    std::vector<Best> best(n + 1, Best{unk_, 0, -DBL_MAX});
    best[0] = Best{unk_, 0, 0.0};
    for (size_t pos = 0; pos < n;) {
        const size_t char_length = std::min(utf8_length_from_lead(static_cast<uint8_t>(normalized[pos])), n - pos);
        const double base = best[pos].score;
        bool whole_char_token = false;
        tokens_.for_each_prefix(std::string_view(normalized).substr(pos), [&](size_t length, TokenId id) {
            if (length == char_length) whole_char_token = true;
            const double score = base + scores_[id];
            if (score > best[pos + length].score) best[pos + length] = Best{id, pos, score};
        });
        if (!whole_char_token) {  // no token is this code point alone: it may be unknown
            const double score = base + unknown_score_;
            if (score > best[pos + char_length].score) best[pos + char_length] = Best{unk_, pos, score};
        }
        pos += char_length;
    }
    // Back from the end; a run of unknown tokens becomes one.
    const size_t start = out.size();
    bool previous_unknown = false;
    for (size_t end = n;;) {
        const Best& b = best[end];
        const bool unknown = b.token == unk_;
        if (!(previous_unknown && unknown)) out.push_back(b.token);
        if (b.from == 0) break;
        previous_unknown = unknown;
        end = b.from;
    }
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
}

}  // namespace lockstep::tokenizer
