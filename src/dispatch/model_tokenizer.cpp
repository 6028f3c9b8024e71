#include "dispatch/model_tokenizer.h"

#include <filesystem>

#include "formats/gguf.h"

namespace lockstep::dispatch {

std::shared_ptr<tokenizer::Tokenizer> model_tokenizer(const std::string& model_path) {
    namespace fs = std::filesystem;
    if (fs::is_directory(model_path)) {
        const fs::path json = fs::path(model_path) / "tokenizer.json";
        if (!fs::exists(json)) return nullptr;
        return std::make_shared<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_file(json.string()));
    }
    const gguf::File file = gguf::File::open(model_path);
    if (file.find("tokenizer.ggml.model") == nullptr) return nullptr;  // weights without a vocabulary
    return std::make_shared<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_gguf(file));
}

}  // namespace lockstep::dispatch
