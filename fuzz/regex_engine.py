"""Fuzz target: the pre-tokenizer regex engine (src/tokenizer/regex.cpp) on arbitrary patterns
and texts: input is PATTERN, a NUL byte, TEXT (UTF-8, invalid bytes replaced).

A pattern outside the supported subset must raise ValueError naming it; a match that would
take pathological time must stop with ValueError too; the pieces of a split must tile the text.
"""

import atheris
from _harness import main, outcome

# Python coverage from the modules that parse this input (instrumenting the whole package slows the start).
INSTRUMENTED = ["lockstep.text.pretokenizers"]
with atheris.instrument_imports(include=INSTRUMENTED):
    from lockstep import _core


def test_one_input(data: bytes) -> None:
    pattern, _, text = data.partition(b"\0")
    pattern_text = pattern.decode("utf-8", errors="replace")
    text_text = text.decode("utf-8", errors="replace")
    try:
        pieces = _core.regex_split(pattern_text, text_text)
    except ValueError as error:
        outcome(str(error).rsplit(": ", 1)[-1])  # the construct, without the pattern
        return
    outcome(f"ok {len(pieces).bit_length()} {max((len(p) for p in pieces), default=0).bit_length()}")
    assert "".join(pieces) == text_text, (pattern_text, text_text, pieces)


if __name__ == "__main__":
    main(test_one_input, "regex_engine")
