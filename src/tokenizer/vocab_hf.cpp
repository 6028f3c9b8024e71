#include "tokenizer/vocab_hf.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "formats/errors.h"
#include "formats/json.h"
#include "tokenizer/pre_families.h"

namespace json = boost::json;

namespace lockstep::tokenizer {

namespace {

class Reader {
public:
    explicit Reader(std::string path) : path_(std::move(path)) {}

    [[noreturn]] void fail(const std::string& what) const { throw FormatError(path_, FormatError::kNoOffset, what); }

    json::value parse_file(const std::string& path) const {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw FormatError(path, FormatError::kNoOffset, "cannot open the file");
        std::stringstream ss;
        ss << in.rdbuf();
        boost::system::error_code ec;
        json::value v = json::parse(ss.str(), ec);
        if (ec) throw FormatError(path, FormatError::kNoOffset, "invalid JSON: " + ec.message());
        return v;
    }

    const json::object& object(const json::value& v, const std::string& what) const {
        if (!v.is_object()) fail(what + " is not a JSON object");
        return v.get_object();
    }
    const json::value& member(const json::object& o, std::string_view key, const std::string& what) const {
        const json::value* v = o.if_contains(key);
        if (!v) fail(what + "." + std::string(key) + " is missing");
        return *v;
    }
    std::string string(const json::object& o, std::string_view key, const std::string& what) const {
        const json::value* v = o.if_contains(key);
        if (!v || !v->is_string()) fail(what + "." + std::string(key) + " is not a string");
        return std::string(v->get_string());
    }
    std::string string_or(const json::object& o, std::string_view key, std::string fallback) const {
        const json::value* v = o.if_contains(key);
        return (v && v->is_string()) ? std::string(v->get_string()) : fallback;
    }
    bool bool_or(const json::object& o, std::string_view key, bool fallback) const {
        const json::value* v = o.if_contains(key);
        return (v && v->is_bool()) ? v->get_bool() : fallback;
    }
    bool is_null(const json::object& o, std::string_view key) const {
        const json::value* v = o.if_contains(key);
        return !v || v->is_null();
    }

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string regex_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (std::string_view("\\^$.|?*+()[]{}-").find(c) != std::string_view::npos) out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

SplitBehavior behavior_of(const Reader& r, const std::string& name) {
    if (name == "Isolated") return SplitBehavior::kIsolated;
    if (name == "Removed") return SplitBehavior::kRemoved;
    if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
    if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
    if (name == "Contiguous") return SplitBehavior::kContiguous;
    r.fail("unknown split behavior '" + name + "'");
}

void read_normalizer(const Reader& r, const json::value& node, Vocab& v) {
    if (node.is_null()) return;
    const auto& o = r.object(node, "normalizer");
    const std::string type = r.string(o, "type", "normalizer");
    if (type == "Sequence") {
        const json::value* list = o.if_contains("normalizers");
        if (!list || !list->is_array()) r.fail("normalizer Sequence without a 'normalizers' list");
        for (const auto& n : list->get_array()) read_normalizer(r, n, v);
    } else if (type == "Prepend") {
        if (r.string(o, "prepend", "normalizer") != "\xE2\x96\x81") r.fail("Prepend normalizer other than U+2581");
        v.space_prefix = SpacePrefix::kAlways;  // normalizers run on every fragment
    } else if (type == "Replace") {
        const auto& pattern = r.object(r.member(o, "pattern", "Replace"), "Replace pattern");
        if (r.string_or(pattern, "String", "") != " " || r.string(o, "content", "Replace") != "\xE2\x96\x81")
            r.fail("Replace normalizer other than ' ' -> U+2581");
        v.escape_whitespace = true;
    } else if (type == "BertNormalizer") {
        v.bert.clean_text = r.bool_or(o, "clean_text", true);
        v.bert.handle_chinese_chars = r.bool_or(o, "handle_chinese_chars", true);
        v.bert.lowercase = r.bool_or(o, "lowercase", true);
        v.bert.strip_accents = r.bool_or(o, "strip_accents", v.bert.lowercase);
    } else {
        r.fail("unsupported normalizer '" + type + "'");
    }
}

void read_pre_tokenizer(const Reader& r, const json::value& node, Vocab& v) {
    if (node.is_null()) return;
    const auto& o = r.object(node, "pre_tokenizer");
    const std::string type = r.string(o, "type", "pre_tokenizer");
    if (type == "Sequence") {
        const json::value* list = o.if_contains("pretokenizers");
        if (!list || !list->is_array()) r.fail("pre_tokenizer Sequence without a 'pretokenizers' list");
        for (const auto& n : list->get_array()) read_pre_tokenizer(r, n, v);
    } else if (type == "ByteLevel") {
        if (r.bool_or(o, "add_prefix_space", false)) r.fail("ByteLevel add_prefix_space is not supported");
        v.byte_level = true;
        if (r.bool_or(o, "use_regex", true)) v.splits.push_back({kGpt2Pattern, SplitBehavior::kIsolated, false});
    } else if (type == "Split") {
        const auto& pattern = r.object(r.member(o, "pattern", "Split"), "Split pattern");
        std::string regex;
        if (const auto* s = pattern.if_contains("Regex"); s && s->is_string()) regex = std::string(s->get_string());
        else if (const auto* t = pattern.if_contains("String"); t && t->is_string()) regex = regex_escape(t->get_string());
        else r.fail("Split pattern is neither Regex nor String");
        v.splits.push_back({regex, behavior_of(r, r.string(o, "behavior", "Split")), r.bool_or(o, "invert", false)});
    } else if (type == "Digits") {
        v.splits.push_back({R"(\p{N})", r.bool_or(o, "individual_digits", false) ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false});
    } else if (type == "Metaspace") {
        if (r.string_or(o, "replacement", "\xE2\x96\x81") != "\xE2\x96\x81") r.fail("Metaspace replacement other than U+2581");
        v.escape_whitespace = true;
        const std::string scheme = r.string_or(o, "prepend_scheme", r.bool_or(o, "add_prefix_space", true) ? "always" : "never");
        v.space_prefix = scheme == "always" ? SpacePrefix::kAlways : scheme == "first" ? SpacePrefix::kFirst : SpacePrefix::kNever;
        if (r.bool_or(o, "split", true)) v.splits.push_back({"\xE2\x96\x81", SplitBehavior::kMergedWithNext, false});
    } else if (type == "BertPreTokenizer") {
        if (v.model != ModelKind::kWordPiece) r.fail("BertPreTokenizer is supported with WordPiece only");
    } else {
        r.fail("unsupported pre_tokenizer '" + type + "'");
    }
}

}  // namespace

Vocab load_vocab_hf(const std::string& path) {
    Reader r(path);
    const json::value doc = r.parse_file(path);
    const auto& root = r.object(doc, "the document");
    Vocab v;
    v.source = path;
    const json::value* model_node = root.if_contains("model");
    if (!model_node) r.fail("no 'model'");
    const auto& model = r.object(*model_node, "model");
    const std::string type = r.string_or(model, "type", model.contains("merges") ? "BPE" : "");
    if (type == "BPE") v.model = ModelKind::kBpe;
    else if (type == "WordPiece") v.model = ModelKind::kWordPiece;
    else r.fail("unsupported model type '" + type + "'");

    // Tokens by id: the model's vocab, then added tokens (which may add ids).
    std::unordered_map<uint64_t, std::string> by_id;
    uint64_t max_id = 0;
    auto put = [&](uint64_t id, std::string text) {
        if (id > 50'000'000) r.fail("token id " + std::to_string(id) + " is implausibly large");
        max_id = std::max(max_id, id);
        by_id[id] = std::move(text);
    };
    const json::value* vocab_node = model.if_contains("vocab");
    if (!vocab_node || !vocab_node->is_object()) r.fail("model.vocab is not an object");
    for (const auto& kv : vocab_node->get_object()) {
        if (!kv.value().is_int64() || kv.value().get_int64() < 0) r.fail("model.vocab has a non-integer id");
        put(static_cast<uint64_t>(kv.value().get_int64()), std::string(kv.key()));
    }
    struct Added {
        uint64_t id;
        bool special, lstrip, rstrip;
    };
    std::vector<Added> added;
    if (const json::value* at = root.if_contains("added_tokens"); at && at->is_array()) {
        for (const auto& t : at->get_array()) {
            const auto& o = r.object(t, "added_tokens[]");
            const json::value* id = o.if_contains("id");
            if (!id || !id->is_int64() || id->get_int64() < 0) r.fail("added token without a valid id");
            put(static_cast<uint64_t>(id->get_int64()), r.string(o, "content", "added_tokens[]"));
            added.push_back({static_cast<uint64_t>(id->get_int64()), r.bool_or(o, "special", false),
                             r.bool_or(o, "lstrip", false), r.bool_or(o, "rstrip", false)});
        }
    }
    const size_t n = static_cast<size_t>(max_id) + 1;
    if (by_id.size() != n) r.fail("token ids are not contiguous: " + std::to_string(by_id.size()) + " tokens, largest id " + std::to_string(max_id));
    v.tokens.resize(n);
    for (auto& [id, text] : by_id) v.tokens[id] = std::move(text);
    v.types.assign(n, TokenType::kNormal);
    v.lstrip.assign(n, 0);
    v.rstrip.assign(n, 0);
    for (const auto& a : added) {
        v.types[a.id] = a.special ? TokenType::kControl : TokenType::kUserDefined;
        v.lstrip[a.id] = a.lstrip;
        v.rstrip[a.id] = a.rstrip;
    }
    std::unordered_map<std::string_view, TokenId> lookup;
    for (size_t id = 0; id < n; ++id) lookup.emplace(v.tokens[id], static_cast<TokenId>(id));
    auto id_of = [&](const std::string& text) -> TokenId {
        auto it = lookup.find(text);
        return it == lookup.end() ? kNoToken : it->second;
    };

    if (v.model == ModelKind::kBpe) {
        if (!r.is_null(model, "dropout")) {
            const json::value& d = model.at("dropout");
            if (!(d.is_number() && d.to_number<double>() == 0.0)) r.fail("BPE dropout is not supported");
        }
        if (!r.string_or(model, "continuing_subword_prefix", "").empty() || !r.string_or(model, "end_of_word_suffix", "").empty())
            r.fail("BPE subword prefixes and suffixes are not supported");
        v.byte_fallback = r.bool_or(model, "byte_fallback", false);
        v.fuse_unknown = r.bool_or(model, "fuse_unk", false);
        v.ignore_merges = r.bool_or(model, "ignore_merges", false);
        if (const json::value* unk = model.if_contains("unk_token"); unk && unk->is_string()) v.unk = id_of(std::string(unk->get_string()));
        const json::value* merges = model.if_contains("merges");
        if (!merges || !merges->is_array()) r.fail("model.merges is not a list");
        for (const auto& m : merges->get_array()) {
            if (m.is_string()) {
                const std::string_view s = m.get_string();
                const size_t space = s.find(' ', 1);
                if (space == std::string_view::npos) r.fail("merge '" + std::string(s) + "' is not a pair");
                v.merges.emplace_back(std::string(s.substr(0, space)), std::string(s.substr(space + 1)));
            } else if (m.is_array() && m.get_array().size() == 2 && m.get_array()[0].is_string() && m.get_array()[1].is_string()) {
                v.merges.emplace_back(std::string(m.get_array()[0].get_string()), std::string(m.get_array()[1].get_string()));
            } else {
                r.fail("a merge is neither \"a b\" nor [a, b]");
            }
        }
    } else {
        v.unk = id_of(r.string_or(model, "unk_token", "[UNK]"));
        v.bert.continuing_prefix = r.string_or(model, "continuing_subword_prefix", "##");
        if (const json::value* m = model.if_contains("max_input_chars_per_word"); m && m->is_int64())
            v.bert.max_input_chars_per_word = static_cast<size_t>(std::max<int64_t>(0, m->get_int64()));
    }

    if (const json::value* norm = root.if_contains("normalizer")) read_normalizer(r, *norm, v);
    if (v.model == ModelKind::kWordPiece && (!root.if_contains("normalizer") || root.at("normalizer").is_null())) {
        v.bert.clean_text = v.bert.handle_chinese_chars = v.bert.strip_accents = v.bert.lowercase = false;
    }
    if (const json::value* pre = root.if_contains("pre_tokenizer")) read_pre_tokenizer(r, *pre, v);

    // BOS/EOS rules from the post-processor.
    if (const json::value* post = root.if_contains("post_processor"); post && post->is_object()) {
        const auto& o = post->get_object();
        const std::string ptype = r.string_or(o, "type", "");
        auto template_rules = [&](const json::object& tp) {
            const json::value* single = tp.if_contains("single");
            if (!single || !single->is_array() || single->get_array().empty()) return;
            const auto& items = single->get_array();
            auto special_of = [&](const json::value& item) -> TokenId {
                if (!item.is_object()) return kNoToken;
                const json::value* st = item.get_object().if_contains("SpecialToken");
                if (!st || !st->is_object()) return kNoToken;
                return id_of(r.string(st->get_object(), "id", "SpecialToken"));
            };
            if (TokenId b = special_of(items.front()); b != kNoToken) v.bos = b, v.add_bos = true;
            if (items.size() > 1)
                if (TokenId e = special_of(items.back()); e != kNoToken) v.eos = e, v.add_eos = true;
        };
        if (ptype == "TemplateProcessing") template_rules(o);
        if (ptype == "Sequence")
            if (const json::value* list = o.if_contains("processors"); list && list->is_array())
                for (const auto& p : list->get_array())
                    if (p.is_object() && r.string_or(p.get_object(), "type", "") == "TemplateProcessing") template_rules(p.get_object());
        if (ptype == "BertProcessing" || ptype == "RobertaProcessing") {
            auto pair_id = [&](std::string_view key) -> TokenId {
                const json::value* p = o.if_contains(key);
                if (!p || !p->is_array() || p->get_array().empty() || !p->get_array()[0].is_string()) return kNoToken;
                return id_of(std::string(p->get_array()[0].get_string()));
            };
            v.cls = pair_id("cls");
            v.sep = pair_id("sep");
            v.bos = v.cls;
            v.add_sep = true;
        }
    }
    if (const json::value* dec = root.if_contains("decoder"); dec && dec->is_object()) {
        const std::string dtype = r.string_or(dec->get_object(), "type", "");
        if (dtype == "Metaspace" || dtype == "Sequence") v.strip_leading_space = v.escape_whitespace;
    }

    // tokenizer_config.json: transformers' BOS/EOS switches override the post-processor.
    const auto config_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
    if (std::filesystem::exists(config_path)) {
        const json::value cfg = r.parse_file(config_path.string());
        if (cfg.is_object()) {
            const auto& c = cfg.get_object();
            auto token_of = [&](std::string_view key) -> TokenId {
                const json::value* t = c.if_contains(key);
                if (!t) return kNoToken;
                if (t->is_string()) return id_of(std::string(t->get_string()));
                if (t->is_object()) return id_of(r.string_or(t->get_object(), "content", ""));
                return kNoToken;
            };
            if (TokenId b = token_of("bos_token"); b != kNoToken) v.bos = b;
            if (TokenId e = token_of("eos_token"); e != kNoToken) v.eos = e;
            if (TokenId u = token_of("unk_token"); u != kNoToken && v.unk == kNoToken) v.unk = u;
            v.add_bos = r.bool_or(c, "add_bos_token", v.add_bos);
            v.add_eos = r.bool_or(c, "add_eos_token", v.add_eos);
            v.clean_up_spaces = r.bool_or(c, "clean_up_tokenization_spaces", false);
        }
    }
    return v;
}

}  // namespace lockstep::tokenizer
