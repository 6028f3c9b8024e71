#include "tokenizer/vocab_gguf.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <unordered_map>

#include "formats/errors.h"
#include "tokenizer/pre_families.h"

namespace lockstep::tokenizer {

namespace {

bool in(std::string_view s, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), s) != names.end();
}

// Token ids given by metadata keys; an id outside the vocabulary keeps the default, as in
// llama.cpp (which warns).
void read_special_id(const gguf::File& f, std::string_view key, size_t n, TokenId& id) {
    if (id != kNoToken && static_cast<size_t>(id) >= n) id = kNoToken;
    const auto v = f.get_uint(key);
    if (v && *v < n) id = static_cast<TokenId>(*v);
}

// llama.cpp recognizes end-of-generation and fill-in-the-middle tokens by their text and
// makes them control tokens, so they are parsed only as special tokens.
void apply_token_type_fixups(Vocab& v, const gguf::File& f) {
    static const std::initializer_list<std::string_view> kEndOfGeneration = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~["};
    struct FimKind {
        std::string_view key;
        std::initializer_list<std::string_view> names;
    };
    static const FimKind kFim[] = {
        {"tokenizer.ggml.fim_pre_token_id", {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}},
        {"tokenizer.ggml.fim_suf_token_id", {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}},
        {"tokenizer.ggml.fim_mid_token_id", {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}},
        {"tokenizer.ggml.fim_pad_token_id", {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
        {"tokenizer.ggml.fim_rep_token_id", {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
        {"tokenizer.ggml.fim_sep_token_id", {"<|file_sep|>"}},
    };
    const size_t n = v.tokens.size();
    std::vector<TokenId> eog;
    bool has_return = false, has_call = false, has_flush = false, has_normal_s_marker = false;
    TokenId end_id = kNoToken, s_id = kNoToken;
    for (size_t id = 0; id < n; ++id) {
        const std::string_view t = v.tokens[id];
        if (in(t, kEndOfGeneration)) {
            if (v.types[id] != TokenType::kControl) v.types[id] = TokenType::kControl;
            eog.push_back(static_cast<TokenId>(id));
            if (t == "<|return|>") has_return = true;
            if (t == "<|call|>" || t == "<|calls|>") has_call = true;
            if (t == "<|flush|>") has_flush = true;
            if (t == "<|end|>") end_id = static_cast<TokenId>(id);
            if (t == "<|tool_response>") has_normal_s_marker = true;
            if (t == "</s>") s_id = static_cast<TokenId>(id);
        }
        if (t == "<|plamo:eos|>") has_normal_s_marker = true;
        for (const auto& fim : kFim)
            if (!f.find(fim.key) && in(t, fim.names)) v.types[id] = TokenType::kControl;
        // gpt-oss: these structure tokens are always rendered.
        if (in(t, {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"})) v.types[id] = TokenType::kUserDefined;
    }
    if (end_id != kNoToken && ((has_return && has_call) || (has_call && has_flush)))
        v.types[end_id] = TokenType::kUserDefined;
    if (has_normal_s_marker && s_id != kNoToken) v.types[s_id] = TokenType::kNormal;

    // Per-model strip attributes of special tokens (not stored in GGUF).
    std::string name(f.get_string("general.name").value_or(""));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const std::string pre(f.get_string("tokenizer.ggml.pre").value_or(""));
    const std::string arch(f.get_string("general.architecture").value_or(""));
    auto find_text = [&](std::string_view text) -> TokenId {
        for (size_t id = 0; id < n; ++id)
            if (v.tokens[id] == text) return static_cast<TokenId>(id);
        return kNoToken;
    };
    auto contains_any = [](const std::string& s, std::initializer_list<std::string_view> parts) {
        for (auto p : parts)
            if (s.find(p) != std::string::npos) return true;
        return false;
    };
    if (contains_any(pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) || contains_any(arch, {"nomic-bert-moe", "jina-bert-v3"})) {
        if (TokenId m = find_text("<mask>"); m != kNoToken) v.lstrip[m] = 1;
    } else if (contains_any(name, {"phi-3", "phi3"})) {
        for (size_t id = 0; id < n; ++id) {
            const TokenType t = v.types[id];
            if (t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) v.rstrip[id] = 1;
        }
        if (TokenId s = find_text("</s>"); s != kNoToken) v.rstrip[s] = 1;
        for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"})
            if (TokenId id = find_text(t); id != kNoToken) v.rstrip[id] = 0;
    } else if (contains_any(name, {"modern-bert"})) {
        if (TokenId m = find_text("[MASK]"); m != kNoToken) v.lstrip[m] = 1;
    }
}

}  // namespace

Vocab load_vocab_gguf(const gguf::File& f) {
    Vocab v;
    v.source = f.path();
    auto fail = [&](const std::string& what) -> FormatError { return FormatError(f.path(), FormatError::kNoOffset, what); };

    const auto model = f.get_string("tokenizer.ggml.model");
    if (!model) throw fail("no tokenizer: the key tokenizer.ggml.model is absent");
    const std::string pre_name(f.get_string("tokenizer.ggml.pre").value_or(""));

    auto tokens = f.get_strings("tokenizer.ggml.tokens");
    if (tokens.empty()) throw fail("tokenizer.ggml.tokens is absent or empty");
    const size_t n = tokens.size();
    v.tokens.reserve(n);
    for (size_t i = 0; i < n; ++i)
        v.tokens.emplace_back(tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : std::string(tokens[i]));

    if (f.find("tokenizer.ggml.scores")) {
        v.scores = f.get_floats("tokenizer.ggml.scores");
        if (v.scores.size() < n)
            throw fail("tokenizer.ggml.scores has " + std::to_string(v.scores.size()) + " entries for " + std::to_string(n) + " tokens");
        v.scores.resize(n);
    }
    v.types.assign(n, TokenType::kNormal);
    if (f.find("tokenizer.ggml.token_type")) {
        const auto types = f.get_ints("tokenizer.ggml.token_type");
        if (types.size() < n)
            throw fail("tokenizer.ggml.token_type has " + std::to_string(types.size()) + " entries for " + std::to_string(n) + " tokens");
        for (size_t i = 0; i < n; ++i)
            v.types[i] = (types[i] >= 1 && types[i] <= 6) ? static_cast<TokenType>(types[i]) : TokenType::kUndefined;
    }
    v.lstrip.assign(n, 0);
    v.rstrip.assign(n, 0);

    bool add_space_prefix = false;
    if (*model == "llama") {
        v.model = ModelKind::kSpm;
        v.bos = 1, v.eos = 2, v.unk = 0;
        v.escape_whitespace = true;
        add_space_prefix = true;
        v.add_bos = true;
    } else if (*model == "bert") {
        v.model = ModelKind::kWordPiece;
        v.bos = 101, v.unk = 100, v.sep = 102, v.pad = 0, v.mask = 103;
        v.add_bos = true;
        v.add_sep = true;
        v.bert.continuing_prefix = "";      // the converter dropped "##" ...
        v.bert.word_prefix = "\xE2\x96\x81";  // ... and marks word starts with U+2581 instead
        v.bert.lowercase = f.get_bool("tokenizer.ggml.normalizer.lowercase").value_or(true);
        v.bert.strip_accents = f.get_bool("tokenizer.ggml.normalizer.strip_accents").value_or(v.bert.lowercase);
    } else if (*model == "gpt2" || *model == "gemma4") {
        v.model = ModelKind::kBpe;
        const std::string family_name = *model == "gemma4" ? "gemma4" : pre_name;
        const auto family = pre_family(family_name);
        if (!family) throw fail("unknown pre-tokenizer '" + family_name + "' (tokenizer.ggml.pre)");
        v.splits = family->splits;
        v.byte_level = family->byte_level;
        v.escape_whitespace = family->escape_whitespace;
        v.byte_fallback = !family->byte_level;
        v.ignore_merges = family->ignore_merges;
        v.clean_up_spaces = family->clean_up_spaces;
        v.add_bos = family->add_bos || *model == "gemma4";
        if (*model == "gpt2") v.bos = 11, v.eos = 11;
        const auto merges = f.get_strings("tokenizer.ggml.merges");
        if (merges.empty()) throw fail("tokenizer.ggml.merges is absent or empty");
        v.merges.reserve(merges.size());
        for (std::string_view m : merges) {
            const size_t space = m.find(' ', 1);
            if (space == std::string_view::npos) continue;  // not a pair: cannot apply
            v.merges.emplace_back(std::string(m.substr(0, space)), std::string(m.substr(space + 1)));
        }
    } else if (*model == "t5") {
        v.model = ModelKind::kUnigram;
        v.eos = 1, v.unk = 2, v.pad = 0;
        v.escape_whitespace = true;
        v.add_eos = true;
        if (f.find("tokenizer.ggml.precompiled_charsmap")) {
            const auto bytes = f.get_ints("tokenizer.ggml.precompiled_charsmap");  // INT8 or UINT8
            v.precompiled_charsmap.reserve(bytes.size());
            for (int64_t b : bytes) {
                if (b < -128 || b > 255) throw fail("tokenizer.ggml.precompiled_charsmap holds a value that is not a byte");
                v.precompiled_charsmap.push_back(static_cast<char>(b));
            }
        }
    } else {
        throw fail("unsupported tokenizer model '" + std::string(*model) + "' (tokenizer.ggml.model)");
    }

    if (const auto p = f.get_bool("tokenizer.ggml.add_space_prefix")) add_space_prefix = *p;
    if (v.model == ModelKind::kSpm && add_space_prefix) v.space_prefix = SpacePrefix::kAfterSpecial;
    if (v.model == ModelKind::kUnigram && add_space_prefix) v.space_prefix = SpacePrefix::kAlways;
    v.strip_leading_space = add_space_prefix;
    v.remove_extra_whitespaces = f.get_bool("tokenizer.ggml.remove_extra_whitespaces").value_or(false);

    read_special_id(f, "tokenizer.ggml.bos_token_id", n, v.bos);
    read_special_id(f, "tokenizer.ggml.eos_token_id", n, v.eos);
    read_special_id(f, "tokenizer.ggml.eot_token_id", n, v.eot);
    read_special_id(f, "tokenizer.ggml.unknown_token_id", n, v.unk);
    read_special_id(f, "tokenizer.ggml.seperator_token_id", n, v.sep);
    read_special_id(f, "tokenizer.ggml.padding_token_id", n, v.pad);
    read_special_id(f, "tokenizer.ggml.mask_token_id", n, v.mask);
    read_special_id(f, "tokenizer.ggml.cls_token_id", n, v.cls);
    if (v.model == ModelKind::kWordPiece && v.cls == kNoToken) v.cls = v.bos;
    if (const auto b = f.get_bool("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
    if (const auto b = f.get_bool("tokenizer.ggml.add_eos_token")) v.add_eos = *b;
    if (const auto b = f.get_bool("tokenizer.ggml.add_sep_token")) v.add_sep = *b;
    if (*model == "gemma4") v.add_bos = true;  // llama.cpp overrides Gemma 4's files

    apply_token_type_fixups(v, f);
    return v;
}

Vocab load_vocab_gguf(const std::string& path) { return load_vocab_gguf(gguf::File::open(path)); }

}  // namespace lockstep::tokenizer
