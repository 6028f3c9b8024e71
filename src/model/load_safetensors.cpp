// A Hugging Face model folder: config.json for the hyper-parameters (with transformers'
// defaults for absent keys), safetensors for the tensors, renamed to llama.cpp's GGUF
// names. HF weights are stored as trained, so every architecture uses NEOX rope here.
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
    } else {
        cfg.fail("rope scaling '" + type + "' is not supported by the native engine");
    }
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
    c.head_dim = cfg.integer_or("head_dim", c.n_embd / c.n_head);
    c.n_ctx_train = cfg.integer_or("max_position_embeddings", 2048);
    // transformers' defaults when the key is absent
    c.rms_eps = static_cast<float>(cfg.number_or("rms_norm_eps", c.architecture == Architecture::BitNet ? 1e-5 : 1e-6));
    const json::object* rope_parameters = cfg.object("rope_parameters");  // transformers >= 5
    const double nested_theta =
        rope_parameters ? ConfigReader(*rope_parameters, config_path).number_or("rope_theta", 10000.0) : 10000.0;
    c.rope.base = cfg.number_or("rope_theta", nested_theta);
    c.rope.n_rot = c.head_dim;
    c.rope.layout = kernels::RopeLayout::Neox;
    read_rope_scaling(cfg, cfg.has("rope_scaling") ? cfg.object("rope_scaling") : rope_parameters, c);

    const std::string activation = cfg.string_or("hidden_act", c.architecture == Architecture::BitNet ? "relu2" : "silu");
    if (activation == "silu") c.ffn_activation = FfnActivation::SiLU;
    else if (activation == "relu2") c.ffn_activation = FfnActivation::ReLU2;
    else cfg.fail("hidden_act '" + activation + "' is not supported (silu or relu2)");

    if (c.architecture == Architecture::Mistral) c.sliding_window = cfg.integer_or("sliding_window", 4096);
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
std::string gguf_name(const std::string& hf, const std::string& path) {
    static const std::regex layer(R"(model\.layers\.(\d+)\.(.+))");
    if (hf == "model.embed_tokens.weight") return "token_embd.weight";
    if (hf == "model.norm.weight") return "output_norm.weight";
    if (hf == "lm_head.weight") return "output.weight";
    std::smatch m;
    if (std::regex_match(hf, m, layer)) {
        static const std::pair<const char*, const char*> parts[] = {
            {"input_layernorm.weight", "attn_norm.weight"},
            {"post_attention_layernorm.weight", "ffn_norm.weight"},
            {"self_attn.q_proj.weight", "attn_q.weight"},
            {"self_attn.k_proj.weight", "attn_k.weight"},
            {"self_attn.v_proj.weight", "attn_v.weight"},
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
    const bool tied = ConfigReader(root.as_object(), config_path).boolean_or("tie_word_embeddings", false);
    for (const auto& t : checkpoint.tensors()) {
        std::string name = gguf_name(t.name, t.file->path());
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
