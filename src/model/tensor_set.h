// The tensors of a model, under llama.cpp's GGUF names ("token_embd.weight",
// "blk.0.attn_q.weight", ...) whatever file they came from, as views into memory maps that
// the set keeps alive. Loaders fill it; weights.cpp checks shapes and types against the
// config and binds it to the forward pass.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/config.h"
#include "quant/types.h"

namespace lockstep::model {

struct TensorRef {
    GGMLType type = GGMLType::F32;
    std::vector<int64_t> ne;  // ggml order: ne[0] is the contiguous dimension
    const uint8_t* data = nullptr;
    uint64_t nbytes = 0;
    uint64_t file_offset = 0;  // where the data starts in its file, for error messages
    std::string file;          // the file it lives in
};

struct TensorSet {
    std::unordered_map<std::string, TensorRef> tensors;
    std::vector<std::shared_ptr<const void>> owners;  // the memory maps behind the views

    const TensorRef* find(const std::string& name) const {
        auto it = tensors.find(name);
        return it == tensors.end() ? nullptr : &it->second;
    }
};

// What a loader hands to the model: the hyper-parameters and the tensors.
struct LoadedModel {
    std::string path;
    std::string format;  // "gguf" or "safetensors"
    ModelConfig config;
    TensorSet tensors;
};

// A GGUF file (llama, mistral, qwen2, bitnet architectures). Throws FormatError.
LoadedModel load_gguf(const std::string& path);
// A Hugging Face folder: config.json and safetensors (F32, F16, BF16). Throws FormatError.
LoadedModel load_hf_folder(const std::string& folder);

}  // namespace lockstep::model
