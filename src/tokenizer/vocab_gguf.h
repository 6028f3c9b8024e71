// A Vocab from GGUF metadata (tokenizer.ggml.*), with llama.cpp's defaults and fix-ups so
// that ids match llama.cpp on the same file.
#pragma once

#include <string>

#include "formats/gguf.h"
#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

// Throws FormatError for missing or malformed keys and unsupported tokenizer models.
Vocab load_vocab_gguf(const gguf::File& file);
Vocab load_vocab_gguf(const std::string& path);

}  // namespace lockstep::tokenizer
