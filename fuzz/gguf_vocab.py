"""Fuzz target: a GGUF file's vocabulary made into a tokenizer (lockstep.Tokenizer.from_file),
then used: encode (plain, with special tokens parsed), decode, token pieces, streaming.

Bad input must raise lockstep.FormatError at load; a tokenizer that loads must encode and
decode any text (ValueError only for ids outside the vocabulary, which this never passes).
"""

import atheris
from _harness import main, outcome, write_file

# Python coverage from the modules that parse this input (instrumenting the whole package slows the start).
INSTRUMENTED = ["lockstep.text"]
with atheris.instrument_imports(include=INSTRUMENTED):
    from lockstep.errors import FormatError
    from lockstep.text.tokenizer import Tokenizer

TEXTS = ("Hello world! 123 ümlaut 日本語 \n\t  <s> <|im_start|>user\n", "  \u00a0x\u200b😀")


def exercise(tokenizer: Tokenizer, extra: str) -> None:
    outcome(f"ok {tokenizer.vocab_size.bit_length()} {len(tokenizer.encode(TEXTS[0]))} {tokenizer.add_bos} {tokenizer.add_eos}")
    for text in TEXTS + (extra,):
        for add_special in (False, True):
            ids = tokenizer.encode(text, add_special=add_special, parse_special=add_special)
            assert all(0 <= i < tokenizer.vocab_size for i in ids.tolist())
            tokenizer.decode(ids)
            tokenizer.decode(ids, skip_special=True)
            "".join(tokenizer.stream(ids.tolist()))
    for token_id in range(min(tokenizer.vocab_size, 64)):
        tokenizer.token_to_piece(token_id)
        tokenizer.token_text(token_id)


def test_one_input(data: bytes) -> None:
    path = write_file("vocab.gguf", data)
    try:
        tokenizer = Tokenizer.from_file(path)
    except FormatError as error:
        outcome(error.reason)
        return
    exercise(tokenizer, data[-32:].decode("utf-8", errors="replace"))


if __name__ == "__main__":
    main(test_one_input, "gguf_vocab")
