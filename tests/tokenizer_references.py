"""Reference tokenizers built from the same vocabularies with independent libraries:
Hugging Face `tokenizers`, `tiktoken`, `sentencepiece`, the `gguf` package."""

from __future__ import annotations

from pathlib import Path

import gguf
import tokenizers
from tokenizers import AddedToken, decoders, models, pre_tokenizers

CONTROL, USER_DEFINED = 3, 4


def gguf_fields(path: str | Path) -> dict:
    reader = gguf.GGUFReader(str(path))
    return {name: field.contents() for name, field in reader.fields.items() if name.startswith("tokenizer.ggml.")}


def hf_smollm2(gguf_path: str | Path) -> tokenizers.Tokenizer:
    """SmolLM2's Hugging Face tokenizer, rebuilt from the vocabulary and merges in its GGUF
    file with the pre-tokenizer of its published tokenizer.json (individual digits, then
    GPT-2 byte-level splitting)."""
    f = gguf_fields(gguf_path)
    tokens, types = f["tokenizer.ggml.tokens"], f["tokenizer.ggml.token_type"]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [tuple(m.split(" ", 1)) for m in f["tokenizer.ggml.merges"]]
    tok = tokenizers.Tokenizer(models.BPE(vocab, merges, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == CONTROL])
    return tok


def hf_from_tiktoken(ranks_path: str | Path, pattern: str, special_tokens: dict[str, int]) -> tokenizers.Tokenizer:
    """transformers' TikTokenConverter: the tiktoken ranks as a byte-level BPE tokenizer."""
    from transformers.convert_slow_tokenizer import TikTokenConverter

    tok = TikTokenConverter(vocab_file=str(ranks_path), pattern=pattern).converted()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in sorted(special_tokens, key=special_tokens.get)])
    return tok


def tiktoken_encoding(name: str, ranks_path: str | Path, pattern: str, special_tokens: dict[str, int]):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    return tiktoken.Encoding(name=name, pat_str=pattern, mergeable_ranks=load_tiktoken_bpe(str(ranks_path)),
                             special_tokens=special_tokens)


def gguf_from_sentencepiece(model_path: str | Path, out_path: str | Path) -> None:
    """A GGUF vocabulary ("llama" model: pieces, scores, token types) written by the gguf
    package from what sentencepiece reports about its model, as convert_hf_to_gguf does."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types.append(gguf.TokenType.CONTROL)
        elif sp.is_unused(i):
            types.append(gguf.TokenType.UNUSED)
        elif sp.is_byte(i):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    writer = gguf.GGUFWriter(str(out_path), "llama")
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(sp.bos_id())
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
