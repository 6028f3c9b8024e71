#include "dispatch/tokenizer_codec.h"

#include <filesystem>
#include <optional>

#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace lockstep::dispatch {
namespace {

class TokenizerCodec : public TextCodec {
public:
    explicit TokenizerCodec(tokenizer::Tokenizer t) : tokenizer_(std::move(t)) {}

    std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) override {
        return tokenizer_.encode(text, add_special, parse_special);
    }
    std::string token_piece(int32_t id) override { return tokenizer_.token_to_piece(id); }
    int32_t bos_id() override { return tokenizer_.bos_id(); }
    std::string description() override { return "lockstep tokenizer"; }

private:
    const tokenizer::Tokenizer tokenizer_;  // immutable: safe to share between threads
};

std::optional<tokenizer::Tokenizer> model_tokenizer(const std::string& model_path) {
    namespace fs = std::filesystem;
    if (fs::is_directory(model_path)) {
        const fs::path json = fs::path(model_path) / "tokenizer.json";
        if (!fs::exists(json)) return std::nullopt;
        return tokenizer::Tokenizer::from_file(json.string());
    }
    const gguf::File file = gguf::File::open(model_path);
    if (file.find("tokenizer.ggml.model") == nullptr) return std::nullopt;  // weights without a vocabulary
    return tokenizer::Tokenizer::from_gguf(file);
}

}  // namespace

std::shared_ptr<TextCodec> tokenizer_codec(const std::string& model_path) {
    std::optional<tokenizer::Tokenizer> t = model_tokenizer(model_path);
    return t ? std::make_shared<TokenizerCodec>(std::move(*t)) : nullptr;
}

}  // namespace lockstep::dispatch
