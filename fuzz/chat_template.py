"""Fuzz target: chat templates in lockstep's Jinja sandbox (lockstep.text.templates), input the
template source (UTF-8, invalid bytes replaced), rendered over a fixed conversation.

Every failure must be lockstep.TemplateError: syntax errors, raise_exception, sandbox
violations (no file access, no imports, no unsafe attributes), and the bounds: a render that
runs too long or writes too much output is stopped with a TemplateError saying so.
"""

import atheris
from _harness import main, outcome

# Python coverage from the modules that parse this input (instrumenting the whole package slows the start).
INSTRUMENTED = ["lockstep.text.templates", "jinja2"]
with atheris.instrument_imports(include=INSTRUMENTED):
    from lockstep.errors import TemplateError
    from lockstep.text.templates import MAX_TEMPLATE_OUTPUT, TokenizerHints, render_jinja

TURNS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <there> & {{ you }}"},
         {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Sum 2+2?"}]
HINTS = TokenizerHints(bos_token="<s>", eos_token="</s>", add_bos=True)


def test_one_input(data: bytes) -> None:
    source = data.decode("utf-8", errors="replace")
    try:
        text = render_jinja(source, TURNS, hints=HINTS)
    except TemplateError as error:
        outcome(str(error).split(":", 2)[1] if ":" in str(error) else str(error))
        return
    assert isinstance(text, str) and len(text) <= MAX_TEMPLATE_OUTPUT


if __name__ == "__main__":
    main(test_one_input, "chat_template")
