// The native backend's own text codec: lockstep's C++ tokenizer over the model's vocabulary
// (a GGUF file's tokenizer.ggml.* metadata, or a Hugging Face folder's tokenizer.json).
#pragma once

#include <memory>
#include <string>

#include "dispatch/native_backend.h"

namespace lockstep::dispatch {

// nullptr when the model carries no vocabulary; FormatError for a malformed one.
std::shared_ptr<TextCodec> tokenizer_codec(const std::string& model_path);

}  // namespace lockstep::dispatch
