"""Fuzz target: a `--messages` JSON file read and rendered as the CLI does (load_messages, then
conversation, then every built-in template and a real model's Jinja chat template).

Every failure must be lockstep.TemplateError (exit 4).
"""

import atheris
from _harness import main, outcome, write_file

# Python coverage from the modules that parse this input (instrumenting the whole package slows the start).
INSTRUMENTED = ["lockstep.text.templates"]
with atheris.instrument_imports(include=INSTRUMENTED):
    from lockstep.errors import TemplateError
    from lockstep.text.templates import TokenizerHints, conversation, load_messages, render

# SmolLM2-Instruct's chat template (ChatML with a default system prompt), as its GGUF embeds it.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
HINTS = TokenizerHints(bos_token="<|im_start|>", eos_token="<|im_end|>",
                       special_tokens=frozenset({"<|im_start|>", "<|im_end|>"}))


def test_one_input(data: bytes) -> None:
    path = write_file("messages.json", data)
    try:
        turns = conversation(messages=load_messages(path), system_prompt=None)
        for template in ("raw", "instruct", "llama3-chat", "chatml", "auto"):
            assert isinstance(render(turns, template, hints=HINTS).text, str)
        render(turns, "jinja", embedded_template=SMOLLM2_TEMPLATE, hints=HINTS)
    except TemplateError as error:
        outcome(str(error).split(": ", 1)[-1])
        return


if __name__ == "__main__":
    main(test_one_input, "messages")
