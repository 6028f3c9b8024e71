// A Hugging Face model folder: config.json for the hyper-parameters (with transformers'
// defaults for absent keys), safetensors for the tensors, renamed to llama.cpp's GGUF
// names. HF weights are stored as trained, so every architecture uses NEOX rope here.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "formats/errors.h"
#include "formats/json.h"
#include "formats/safetensors.h"
#include "model/tensor_set.h"

namespace lockstep::model {
namespace {

namespace json = boost::json;

class ConfigReader {
public:
    ConfigReader(const json::object& object, std::string path) : o_(object), path_(std::move(path)) {}

    [[noreturn]] void fail(const std::string& what) const { throw FormatError(path_, FormatError::kNoOffset, what); }
    const std::string& path() const { return path_; }

    bool has(std::string_view key) const {
        const auto* v = o_.if_contains(key);
        return v && !v->is_null();
    }
    int64_t integer(std::string_view key) const {
        const auto* v = o_.if_contains(key);
        if (!v || v->is_null()) fail(std::string(key) + " is missing");
        return to_integer(*v, key);
    }
    int64_t integer_or(std::string_view key, int64_t fallback) const { return has(key) ? integer(key) : fallback; }
    double number_or(std::string_view key, double fallback) const { return has(key) ? number(o_.at(key), key) : fallback; }
    std::string string_or(std::string_view key, const std::string& fallback) const {
        if (!has(key)) return fallback;
        const auto& v = o_.at(key);
        if (!v.is_string()) fail(std::string(key) + " must be a string");
        return std::string(v.as_string());
    }
    bool boolean_or(std::string_view key, bool fallback) const {
        if (!has(key)) return fallback;
        const auto& v = o_.at(key);
        if (!v.is_bool()) fail(std::string(key) + " must be true or false");
        return v.as_bool();
    }
    const json::value* value(std::string_view key) const { return has(key) ? &o_.at(key) : nullptr; }
    const json::object* object(std::string_view key) const {
        if (!has(key)) return nullptr;
        const auto& v = o_.at(key);
        if (!v.is_object()) fail(std::string(key) + " must be an object");
        return &v.as_object();
    }

    double number(const json::value& v, std::string_view key) const {
        if (v.is_double()) return v.as_double();
        if (v.is_int64()) return static_cast<double>(v.as_int64());
        if (v.is_uint64()) return static_cast<double>(v.as_uint64());
        fail(std::string(key) + " must be a number");
    }
    int64_t to_integer(const json::value& v, std::string_view key) const {
        if (v.is_int64()) return v.as_int64();
        if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.as_uint64());
        fail(std::string(key) + " must be an integer");
    }

private:
    const json::object& o_;
    std::string path_;
};

json::value parse_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FormatError(path, FormatError::kNoOffset, "cannot be opened");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) throw FormatError(path, FormatError::kNoOffset, "is not valid JSON: " + ec.message());
    if (!v.is_object()) throw FormatError(path, FormatError::kNoOffset, "must hold a JSON object");
    return v;
}

std::vector<double> pair_factors(const ConfigReader& cfg, const json::object& scaling, std::string_view key) {
    const auto* v = scaling.if_contains(key);
    if (!v || !v->is_array()) cfg.fail(std::string("rope scaling: ") + std::string(key) + " must be a list of numbers");
    std::vector<double> out;
    for (const auto& f : v->as_array()) out.push_back(cfg.number(f, key));
    return out;
}

// Phi-3's LongRoPE, as transformers computes it: short factors up to the original context,
// long ones beyond it, cos and sin scaled by attention_factor (by default
// sqrt(1 + ln(factor) / ln(original)), factor by default max_position_embeddings / original).
void read_longrope(const ConfigReader& cfg, const json::object& scaling, ModelConfig& c) {
    const ConfigReader s(scaling, cfg.path());
    c.rope.freq_factors = pair_factors(cfg, scaling, "short_factor");
    c.rope.long_freq_factors = pair_factors(cfg, scaling, "long_factor");
    c.rope.original_context =
        s.integer_or("original_max_position_embeddings", cfg.integer_or("original_max_position_embeddings", 0));
    if (c.rope.original_context <= 0) cfg.fail("LongRoPE needs original_max_position_embeddings");
    const double factor =
        s.number_or("factor", static_cast<double>(c.n_ctx_train) / static_cast<double>(c.rope.original_context));
    c.rope.attn_factor =
        s.number_or("attention_factor", factor <= 1.0 ? 1.0
                                                       : std::sqrt(1.0 + std::log(factor) /
                                                                             std::log(static_cast<double>(c.rope.original_context))));
}

void read_rope_scaling(const ConfigReader& cfg, const json::object* scaling, ModelConfig& c) {
    if (!scaling) return;
    const ConfigReader s(*scaling, cfg.path());
    std::string type = s.string_or("rope_type", s.string_or("type", "default"));
    if (type == "default") return;
    const double factor = s.number_or("factor", 1.0);
    if (!(factor > 0)) cfg.fail("rope scaling factor must be positive");
    if (type == "linear") {
        c.rope.freq_scale = 1.0 / factor;
    } else if (type == "llama3") {
        try {
            c.rope.freq_factors = llama3_freq_factors(
                c.rope.n_rot, c.rope.base, factor, s.number_or("low_freq_factor", 1.0), s.number_or("high_freq_factor", 4.0),
                s.number_or("original_max_position_embeddings", 8192.0));
        } catch (const std::invalid_argument& e) {
            cfg.fail(e.what());
        }
    } else if (type == "longrope" || type == "su") {
        read_longrope(cfg, *scaling, c);
    } else {
        cfg.fail("rope scaling '" + type + "' is not supported by the native engine");
    }
}

// Gemma3TextConfig, with transformers' defaults for absent keys: the layer types (or every
// sliding_window_pattern-th layer global), the two RoPE configurations (transformers 5 nests them
// under rope_parameters by layer type; earlier versions have rope_theta, rope_scaling for the
// global layers and rope_local_base_freq), query_pre_attn_scalar, the final soft-cap, the
// embedding scale sqrt(hidden_size) and the (1 + weight) norms.
void gemma3_from_hf(const ConfigReader& cfg, const json::object* rope_parameters, ModelConfig& c) {
    if (cfg.has("attn_logit_softcapping")) cfg.fail("attn_logit_softcapping (Gemma 2) is not supported");
    c.sliding_window = cfg.integer_or("sliding_window", 4096);
    c.sliding_layers.assign(static_cast<size_t>(c.n_layer), 0);
    if (const json::value* types = cfg.value("layer_types")) {
        if (!types->is_array() || static_cast<int64_t>(types->as_array().size()) != c.n_layer)
            cfg.fail("layer_types must list one type per layer");
        for (size_t l = 0; l < types->as_array().size(); ++l) {
            const auto& t = types->as_array()[l];
            if (!t.is_string() || (t.as_string() != "sliding_attention" && t.as_string() != "full_attention"))
                cfg.fail("layer_types: 'sliding_attention' or 'full_attention'");
            c.sliding_layers[l] = t.as_string() == "sliding_attention";
        }
    } else {
        const int64_t pattern = cfg.integer_or("sliding_window_pattern", 6);
        if (pattern <= 0) cfg.fail("sliding_window_pattern must be positive");
        for (int64_t l = 0; l < c.n_layer; ++l) c.sliding_layers[static_cast<size_t>(l)] = (l + 1) % pattern != 0;
    }
    auto nested = [&](std::string_view layer_type) -> const json::object* {
        if (!rope_parameters || !rope_parameters->contains(layer_type)) return nullptr;
        const auto& v = rope_parameters->at(layer_type);
        if (!v.is_object()) cfg.fail("rope_parameters." + std::string(layer_type) + " must be an object");
        return &v.as_object();
    };
    const json::object* full = nested("full_attention");
    const json::object* sliding = nested("sliding_attention");
    c.rope.base = full ? ConfigReader(*full, cfg.path()).number_or("rope_theta", 1e6) : cfg.number_or("rope_theta", 1e6);
    c.rope.freq_scale = 1.0;
    c.rope.freq_factors.clear();
    read_rope_scaling(cfg, full ? full : cfg.object("rope_scaling"), c);
    RopeConfig local;
    local.n_rot = c.rope.n_rot;
    local.layout = c.rope.layout;
    local.base = sliding ? ConfigReader(*sliding, cfg.path()).number_or("rope_theta", 10000.0)
                         : cfg.number_or("rope_local_base_freq", 10000.0);
    c.rope_sliding = local;
    c.query_scale = 1.0 / std::sqrt(cfg.number_or("query_pre_attn_scalar", 256.0));
    c.final_logit_softcap = cfg.number_or("final_logit_softcapping", 0.0);
    c.embedding_scale = std::sqrt(static_cast<float>(c.n_embd));
    c.norm_weight_shift = 1.0f;
}

ModelConfig config_from_hf(const std::string& config_path) {
    const json::value root = parse_json_file(config_path);
    const ConfigReader cfg(root.as_object(), config_path);
    ModelConfig c;
    c.architecture_name = cfg.string_or("model_type", "");
    try {
        c.architecture = architecture_from_name(c.architecture_name);
    } catch (const std::invalid_argument& e) {
        cfg.fail(e.what());
    }
    if (cfg.has("quantization_config"))
        cfg.fail("quantized Hugging Face checkpoints (quantization_config) are not supported; convert to GGUF");
    c.n_vocab = cfg.integer("vocab_size");
    c.n_embd = cfg.integer("hidden_size");
    c.n_layer = cfg.integer("num_hidden_layers");
    c.n_head = cfg.integer("num_attention_heads");
    c.n_head_kv = cfg.integer_or("num_key_value_heads", c.n_head);
    c.n_ff = cfg.integer("intermediate_size");
    if (c.n_head <= 0) cfg.fail("num_attention_heads must be positive");
    c.head_dim = cfg.integer_or("head_dim", c.architecture == Architecture::Gemma3 ? 256 : c.n_embd / c.n_head);
    c.n_ctx_train = cfg.integer_or("max_position_embeddings", 2048);
    // transformers' defaults when the key is absent
    c.rms_eps = static_cast<float>(cfg.number_or("rms_norm_eps", c.architecture == Architecture::BitNet ? 1e-5 : 1e-6));
    const json::object* rope_parameters = cfg.object("rope_parameters");  // transformers >= 5
    const double nested_theta =
        rope_parameters ? ConfigReader(*rope_parameters, config_path).number_or("rope_theta", 10000.0) : 10000.0;
    c.rope.base = cfg.number_or("rope_theta", nested_theta);
    const double partial_rotary = cfg.number_or(
        "partial_rotary_factor",
        rope_parameters ? ConfigReader(*rope_parameters, config_path).number_or("partial_rotary_factor", 1.0) : 1.0);
    c.rope.n_rot = static_cast<int64_t>(static_cast<double>(c.head_dim) * partial_rotary);
    c.rope.layout = kernels::RopeLayout::Neox;
    read_rope_scaling(cfg, cfg.has("rope_scaling") ? cfg.object("rope_scaling") : rope_parameters, c);

    const bool gemma3 = c.architecture == Architecture::Gemma3;
    const std::string activation =
        gemma3 ? cfg.string_or("hidden_activation", cfg.string_or("hidden_act", "gelu_pytorch_tanh"))
               : cfg.string_or("hidden_act", c.architecture == Architecture::BitNet ? "relu2" : "silu");
    try {
        c.ffn_activation = ffn_activation_from_name(activation);
    } catch (const std::invalid_argument&) {
        cfg.fail(std::string(gemma3 ? "hidden_activation '" : "hidden_act '") + activation +
                 "' is not supported (silu, relu2 or gelu_pytorch_tanh)");
    }
    if (gemma3) gemma3_from_hf(cfg, rope_parameters, c);

    if (c.architecture == Architecture::Mistral) c.sliding_window = cfg.integer_or("sliding_window", 4096);
    if (c.architecture == Architecture::Phi3) c.sliding_window = cfg.integer_or("sliding_window", 0);
    if ((c.architecture == Architecture::Qwen2 || c.architecture == Architecture::Qwen3) &&
        cfg.boolean_or("use_sliding_window", false))
        cfg.fail(c.architecture_name + " with use_sliding_window is not supported by the native engine");
    try {
        validate(c);
    } catch (const std::invalid_argument& e) {
        cfg.fail(e.what());
    }
    return c;
}

// HF tensor name -> GGUF name; empty for tensors the engine does not use.
std::string gguf_name(const std::string& hf, Architecture architecture, const std::string& path) {
    static const std::regex layer(R"(model\.layers\.(\d+)\.(.+))");
    if (hf == "model.embed_tokens.weight") return "token_embd.weight";
    if (hf == "model.norm.weight") return "output_norm.weight";
    if (hf == "lm_head.weight") return "output.weight";
    std::smatch m;
    if (std::regex_match(hf, m, layer)) {
        // gemma3 normalizes after attention and before and after the feed-forward.
        static const std::pair<const char*, const char*> gemma3_parts[] = {
            {"post_attention_layernorm.weight", "post_attention_norm.weight"},
            {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
            {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
        };
        if (architecture == Architecture::Gemma3)
            for (const auto& [from, to] : gemma3_parts)
                if (m[2] == from) return "blk." + m[1].str() + "." + to;
        static const std::pair<const char*, const char*> parts[] = {
            {"input_layernorm.weight", "attn_norm.weight"},
            {"post_attention_layernorm.weight", "ffn_norm.weight"},
            {"self_attn.q_proj.weight", "attn_q.weight"},
            {"self_attn.k_proj.weight", "attn_k.weight"},
            {"self_attn.v_proj.weight", "attn_v.weight"},
            {"self_attn.qkv_proj.weight", "attn_qkv.weight"},  // phi3: Q, K and V rows in one matrix
            {"mlp.gate_up_proj.weight", "ffn_up.weight"},       // phi3: gate rows, then up rows
            {"self_attn.o_proj.weight", "attn_output.weight"},
            {"self_attn.q_proj.bias", "attn_q.bias"},
            {"self_attn.k_proj.bias", "attn_k.bias"},
            {"self_attn.v_proj.bias", "attn_v.bias"},
            {"self_attn.o_proj.bias", "attn_output.bias"},
            {"self_attn.attn_sub_norm.weight", "attn_sub_norm.weight"},
            {"self_attn.q_norm.weight", "attn_q_norm.weight"},
            {"self_attn.k_norm.weight", "attn_k_norm.weight"},
            {"mlp.gate_proj.weight", "ffn_gate.weight"},
            {"mlp.up_proj.weight", "ffn_up.weight"},
            {"mlp.down_proj.weight", "ffn_down.weight"},
            {"mlp.ffn_sub_norm.weight", "ffn_sub_norm.weight"},
        };
        for (const auto& [from, to] : parts)
            if (m[2] == from) return "blk." + m[1].str() + "." + to;
        if (m[2].str().find("rotary_emb") != std::string::npos) return "";  // a cached buffer, recomputed
    }
    throw FormatError(path, FormatError::kNoOffset, "tensor " + hf + " is not part of the architectures the native engine runs");
}

GGMLType ggml_type_of(const safetensors::TensorInfo& t) {
    static_assert(std::size(kSafetensorsDtypes) == 3, "a new dtype needs its GGML type here");
    if (t.dtype == "F32") return GGMLType::F32;
    if (t.dtype == "F16") return GGMLType::F16;
    if (t.dtype == "BF16") return GGMLType::BF16;
    throw FormatError(t.file->path(), t.offset, "tensor " + t.name + ": dtype " + t.dtype + " is not supported (F32, F16, BF16)");
}

}  // namespace

LoadedModel load_hf_folder(const std::string& folder) {
    const std::string config_path = (std::filesystem::path(folder) / "config.json").string();
    if (!std::filesystem::is_regular_file(config_path))
        throw FormatError(folder, FormatError::kNoOffset, "a Hugging Face model folder needs a config.json");
    LoadedModel loaded;
    loaded.path = folder;
    loaded.format = "safetensors";
    loaded.config = config_from_hf(config_path);
    const auto checkpoint = safetensors::Checkpoint::open(folder);
    const json::value root = parse_json_file(config_path);
    // transformers' default: tied for gemma3, separate for the others
    const bool tied = ConfigReader(root.as_object(), config_path)
                          .boolean_or("tie_word_embeddings", loaded.config.architecture == Architecture::Gemma3);
    for (const auto& t : checkpoint.tensors()) {
        std::string name = gguf_name(t.name, loaded.config.architecture, t.file->path());
        if (name.empty() || (tied && name == "output.weight")) continue;
        TensorRef ref;
        ref.type = ggml_type_of(t);
        for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) ref.ne.push_back(static_cast<int64_t>(*it));
        ref.data = t.data;
        ref.nbytes = t.nbytes;
        ref.file_offset = t.offset;
        ref.file = t.file->path();
        loaded.tensors.tensors.emplace(std::move(name), std::move(ref));
        if (loaded.tensors.owners.empty() || loaded.tensors.owners.back() != t.file) loaded.tensors.owners.push_back(t.file);
    }
    if (!tied && !loaded.tensors.find("output.weight"))
        throw FormatError(folder, FormatError::kNoOffset, "lm_head.weight is missing and tie_word_embeddings is false");
    return loaded;
}

}  // namespace lockstep::model
