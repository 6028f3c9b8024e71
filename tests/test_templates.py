"""Prompt templates against transformers' own chat-template renderer (the independent reference)."""

from datetime import datetime

import gguf
import pytest
from transformers.utils.chat_template_utils import render_jinja_template

import lockstep
from lockstep.errors import TemplateError
from lockstep.text.templates import TokenizerHints, choose_template, conversation, render, render_jinja

TOOLING_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('bad role ' + m['role']) }}{% endif %}"
    "  {{ m['role'] }}: {{ m['content'] | tojson }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [
        {"role": "system", "content": "Be brief. <b>HTML</b> & \"quotes\""},
        {"role": "user", "content": "Héllo — 世界 🌍"},
        {"role": "assistant", "content": "Hi!\n  indented"},
        {"role": "user", "content": "Again"},
    ],
]


def _smollm2_template() -> str:
    reader = gguf.GGUFReader(lockstep.default_model_path())
    field = reader.fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


@pytest.mark.parametrize("turns", CONVERSATIONS)
@pytest.mark.parametrize("add_generation_prompt", [True, False])
@pytest.mark.parametrize("source", ["smollm2", "tooling"])
def test_jinja_matches_transformers(turns, add_generation_prompt, source):
    template = _smollm2_template() if source == "smollm2" else TOOLING_TEMPLATE
    expected = render_jinja_template(
        conversations=[turns], chat_template=template, add_generation_prompt=add_generation_prompt,
        bos_token="<s>", eos_token="</s>",
    )[0][0]
    hints = TokenizerHints(bos_token="<s>", eos_token="</s>")
    assert render_jinja(template, turns, hints=hints, add_generation_prompt=add_generation_prompt) == expected


def test_raise_exception_is_a_template_error():
    with pytest.raises(TemplateError, match="bad role tool"):
        render_jinja(TOOLING_TEMPLATE, [{"role": "tool", "content": "x"}])


def test_syntax_error_is_a_template_error():
    with pytest.raises(TemplateError, match="TemplateSyntaxError"):
        render_jinja("{% for m in messages %}", CONVERSATIONS[0])


def test_sandbox_blocks_attribute_escape():
    with pytest.raises(TemplateError, match="SecurityError"):
        render_jinja("{{ messages.__class__.__mro__[1].__subclasses__() }}", CONVERSATIONS[0])


def test_strftime_now_can_be_pinned():
    text = render_jinja("{{ strftime_now('%d %b %Y') }}", CONVERSATIONS[0], date=datetime(2024, 7, 26))
    assert text == "26 Jul 2024"


def test_builtin_chatml_matches_smollm2_template_when_system_given():
    turns = conversation(prompt="Hi", system_prompt="You are a helpful AI assistant named SmolLM, trained by Hugging Face")
    builtin = render(turns, "chatml")
    jinja = render(turns, "jinja", embedded_template=_smollm2_template())
    assert builtin.text == jinja.text
    assert builtin.text == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_llama3_chat_layout():
    turns = conversation(prompt="Hi", system_prompt="Sys")
    text = render(turns, "llama3-chat").text
    assert text == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nSys<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_bos_written_by_template_is_not_doubled():
    hints = TokenizerHints(bos_token="<|begin_of_text|>", add_bos=True)
    prompt = render(conversation(prompt="Hi"), "llama3-chat", hints=hints)
    assert prompt.text.startswith("<|begin_of_text|><|start_header_id|>")
    assert prompt.add_bos is False
    assert any("not added" in note for note in prompt.notes)
    # Without a BOS in the text, the tokenizer keeps its own.
    assert render(conversation(prompt="Hi"), "chatml", hints=hints).add_bos is True


def test_template_writing_bos_twice_is_corrected():
    hints = TokenizerHints(bos_token="<s>", add_bos=True)
    prompt = render(conversation(prompt="x"), "jinja", embedded_template="{{ bos_token }}{{ bos_token }}x", hints=hints)
    assert prompt.text == "<s>x" and prompt.add_bos is False and len(prompt.notes) == 2


def test_auto_prefers_file_then_embedded_then_hints_then_raw(tmp_path):
    template_file = tmp_path / "t.jinja"
    template_file.write_text("FILE {{ messages[0]['content'] }}")
    assert choose_template("auto", chat_template_file=template_file, embedded_template="E")[0:2] == (
        "jinja", "FILE {{ messages[0]['content'] }}")
    assert choose_template("auto", embedded_template="E")[0:2] == ("jinja", "E")
    hints = TokenizerHints(special_tokens=frozenset({"<|im_start|>", "<|im_end|>"}))
    assert choose_template("auto", hints=hints)[0] == "chatml"
    hints = TokenizerHints(special_tokens=frozenset({"<|start_header_id|>", "<|eot_id|>"}))
    assert choose_template("auto", hints=hints)[0] == "llama3-chat"
    assert choose_template("auto")[0] == "raw"


def test_bad_conversations_are_template_errors():
    with pytest.raises(TemplateError, match="role"):
        conversation(messages=[{"role": "robot", "content": "x"}])
    with pytest.raises(TemplateError, match="both or neither"):
        conversation()
    with pytest.raises(TemplateError, match="twice"):
        conversation(messages=[{"role": "system", "content": "a"}], system_prompt="b")
    with pytest.raises(TemplateError, match="no.*embedded"):
        render(conversation(prompt="x"), "jinja")
    with pytest.raises(TemplateError, match="unknown template"):
        render(conversation(prompt="x"), "alpaca")


@pytest.mark.parametrize("name", ["llama", "llama3", "mistral", "qwen2"])
def test_folder_hints_know_whether_the_tokenizer_adds_bos(name):
    """BOS added by tokenizer.json's post-processor (no add_bos_token in tokenizer_config.json)
    counts as added, as transformers' tokenizer does it."""
    from pathlib import Path

    from lockstep.text.hints import tokenizer_hints
    from lockstep.zoo.synthetic import tiny_model

    transformers = pytest.importorskip("transformers")
    folder = tiny_model(name)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    adds_bos = tokenizer.bos_token_id is not None and tokenizer("hello")["input_ids"][0] == tokenizer.bos_token_id
    assert tokenizer_hints(Path(folder))[0].add_bos == adds_bos
