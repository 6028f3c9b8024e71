// The vocabulary a model file carries, as lockstep's C++ tokenizer: a GGUF file's
// tokenizer.ggml.* metadata, or a Hugging Face folder's tokenizer.json (with its
// tokenizer_config.json). The native engine tokenizes with it, in the dispatcher and in Python.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace lockstep::dispatch {

// nullptr when the model carries no vocabulary; FormatError for a malformed one. Immutable
// once made, so one tokenizer is shared between threads and between C++ and Python.
std::shared_ptr<tokenizer::Tokenizer> model_tokenizer(const std::string& model_path);

}  // namespace lockstep::dispatch
