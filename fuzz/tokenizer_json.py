"""Fuzz target: a Hugging Face tokenizer.json (every model type, normalizer and pre-tokenizer
lockstep reads) with an optional tokenizer_config.json beside it, as a bundle; a tokenizer
that loads is used as in gguf_vocab.py.

Bad input must raise lockstep.FormatError at load.
"""

import atheris
from _harness import fresh_folder, main, outcome, unbundle

# Python coverage from the modules that parse this input (instrumenting the whole package slows the start).
INSTRUMENTED = ["lockstep.text"]
with atheris.instrument_imports(include=INSTRUMENTED):
    from lockstep.errors import FormatError
    from lockstep.text.tokenizer import Tokenizer

from gguf_vocab import exercise  # noqa: E402  (after the instrumented imports)

NAMES = ("tokenizer.json", "tokenizer_config.json")


def test_one_input(data: bytes) -> None:
    folder = fresh_folder()
    files = unbundle(NAMES, data)
    if "tokenizer.json" not in files:
        return
    for name, content in files.items():
        (folder / name).write_bytes(content)
    try:
        tokenizer = Tokenizer.from_file(folder / "tokenizer.json")
    except FormatError as error:
        outcome(error.reason)
        return
    exercise(tokenizer, files["tokenizer.json"][-32:].decode("utf-8", errors="replace"))


if __name__ == "__main__":
    main(test_one_input, "tokenizer_json")
