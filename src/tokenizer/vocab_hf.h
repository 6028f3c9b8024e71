// A Vocab from a Hugging Face tokenizer.json (and the tokenizer_config.json beside it for
// add_bos_token / add_eos_token). Supports the BPE and WordPiece models with the
// normalizers and pre-tokenizers that byte-level, SentencePiece-converted and BERT
// tokenizers use; anything else is reported, not approximated.
#pragma once

#include <string>

#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

// Throws FormatError for unreadable or malformed JSON and unsupported components.
Vocab load_vocab_hf(const std::string& path);

}  // namespace lockstep::tokenizer
