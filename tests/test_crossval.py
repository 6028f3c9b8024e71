"""lockstep crossval on tiny generated GGUF models: every exit code provoked for real through the
CLI (a subprocess, as users run it) and the API; the token-parity gate's diagnoses; the
vocabulary bridge; the JSON report against its documented schema; the DataFrame; triangulation
and decoding (--steps).

Models are tiny random llamas with the real SmolLM2 vocabulary (tests/crossval_models.py),
variants of one file that differ in exactly one way. llama.cpp runs one backend on two files
(``llama.cpp,llama.cpp=OTHER.gguf``); transformers (hf) is the independent second engine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import crossval_models as models
import lockstep
from crossval_cli import HIDE_LLAMA_CPP, lockstep_path
from crossval_cli import crossval_cli as cli
from lockstep import _core
from lockstep.dispatch.crossval import crossval
from lockstep.dispatch.specs import prepare_backend

llama_cpp = pytest.importorskip("llama_cpp")

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "crossval-json.md"
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
PLAIN = "{% for m in messages %}{{ m['role'] | upper }}: {{ m['content'] }}\n{% endfor %}ASSISTANT:"
OTHER_PLAIN = "{% for m in messages %}### {{ m['role'] }}\n{{ m['content'] }}\n\n{% endfor %}### assistant\n"
BOS_PLAIN = "{{ bos_token }}" + PLAIN
PROMPT = "The capital of France is Paris, and the capital of Germany is"
SPECIAL = "<issue_start>"  # a control token of the SmolLM2 vocabulary (id 8)
SPECIAL_ID = 8
EXTRA = "<|tool_call|>"  # a control token only the extended vocabulary has


# ----------------------------------------------------------------------------- the model files


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Variants of one tiny llama (same seed, so the same weights), each differing in one way."""
    root = tmp_path_factory.mktemp("crossval")

    def tiny(name: str, **spec) -> Path:
        return models.write_tiny_llama(root / f"{name}.gguf", models.TinyLlama(**spec))

    out = {
        "base": tiny("base", metadata={"tokenizer.chat_template": CHATML}),
        "plain": tiny("plain", add_bos=True, metadata={"tokenizer.chat_template": PLAIN}),
        "plain-no-bos": tiny("plain-no-bos", metadata={"tokenizer.chat_template": PLAIN}),
        "other-template": tiny("other-template", add_bos=True, metadata={"tokenizer.chat_template": OTHER_PLAIN}),
        "bos-template": tiny("bos-template", add_bos=True, metadata={"tokenizer.chat_template": BOS_PLAIN}),
        "permuted": tiny("permuted", permute_vocab_seed=3, metadata={"tokenizer.chat_template": CHATML}),
        "extended": tiny("extended", extra_tokens=((EXTRA, models.CONTROL),),
                         metadata={"tokenizer.chat_template": CHATML}),
        "other-seed": tiny("other-seed", seed=1, metadata={"tokenizer.chat_template": CHATML}),
    }
    # One layer's weights perturbed by 1% (relative, per element): a subtle numerical fault.
    layer = {name for name in lockstep.gguf.open(out["base"]).tensors if name.startswith("blk.1.")}
    out["perturbed"] = models.copy_gguf(out["base"], root / "perturbed.gguf", edit=models.perturbed(layer, 0.01))
    # A converter that labels one control token as normal text: llama.cpp then spells it out.
    types = [int(t) for t in lockstep.gguf.open(out["base"]).metadata["tokenizer.ggml.token_type"]]
    types[SPECIAL_ID] = models.NORMAL
    out["special-as-text"] = models.copy_gguf(out["base"], root / "special-as-text.gguf",
                                              metadata={"tokenizer.ggml.token_type": types})
    # Malformed files: truncated inside the tensor-info table, and bytes that are not GGUF.
    data = out["base"].read_bytes()
    (root / "truncated.gguf").write_bytes(data[:300])
    (root / "garbage.gguf").write_bytes(b"GGUF" + bytes(range(256)) * 4)
    out["truncated"], out["garbage"] = root / "truncated.gguf", root / "garbage.gguf"
    return out


def report_of(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout)


# ----------------------------------------------------------------------- exit 0: agreement


def test_exit_0_llama_cpp_and_transformers_agree_on_a_float32_model(files):
    result = cli("--model", files["base"], "--prompt", "Hello there, how are you?", "--backend", "llama.cpp,hf",
                 "--format", "json")
    assert result.returncode == 0, result.stderr
    report = report_of(result)
    assert report["verdict"] == {"exit_code": 0, "passed": True, "first_divergence": None, "odd_one_out": None,
                                 "diverged_stages": {}}
    (pair,) = report["pairs"]
    assert (pair["reference"], pair["test"], pair["precision_class"]) == ("llama.cpp", "hf", "same-arithmetic")
    assert pair["passed"] and pair["top1_agreement"] == 1.0
    # The tokens are the ones llama.cpp itself produces for the rendered ChatML prompt.
    llm = llama_cpp.Llama(str(files["base"]), vocab_only=True, verbose=False)
    expected = llm.tokenize(report["template"]["text"].encode(), add_bos=False, special=True)
    assert report["tokens"]["llama.cpp"] == report["tokens"]["hf"] == expected
    assert "PASS" in result.stderr


def test_exit_0_api_report_matches_an_independent_computation(files):
    report = crossval(files["base"], PROMPT, backends=["llama.cpp", "hf"], template="raw")
    assert report.passed and report.exit_code == 0 and report.first_divergence is None
    ids = report.tokens["llama.cpp"]
    llm = llama_cpp.Llama(str(files["base"]), n_ctx=256, logits_all=True, verbose=False)
    llm.eval(ids)
    reference = np.array(llm.scores[: len(ids)], dtype=np.float64)
    # KL(reference || test) at each position from transformers' own logits.
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(str(files["base"].parent), gguf_file=files["base"].name,
                                                              dtype=torch.float32, attn_implementation="eager")
    with torch.no_grad():
        test = model(torch.tensor([ids])).logits[0].double().numpy()
    log_p = reference - np.logaddexp.reduce(reference, axis=1, keepdims=True)
    log_q = test - np.logaddexp.reduce(test, axis=1, keepdims=True)
    kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=1)
    columns = report.pairs[0].metrics.columns
    np.testing.assert_allclose(columns["kl"], kl, atol=1e-6)
    assert list(columns["top1_a"]) == list(reference.argmax(axis=1))


# ------------------------------------------------------------------------ exit 1: divergence


def test_exit_1_perturbed_weights_diverge_and_the_report_says_where(files, tmp_path):
    out = tmp_path / "report.json"
    result = cli("--model", files["base"], "--prompt", PROMPT, "--prompt-template", "raw",
                 "--backend", f"llama.cpp,llama.cpp={files['perturbed']}", "--out", out)
    assert result.returncode == 1, result.stderr
    report = json.loads(out.read_text())
    (pair,) = report["pairs"]
    assert pair["test"] == "llama.cpp@perturbed.gguf" and pair["precision_class"] == "same-arithmetic"
    first = pair["first_divergence"]
    assert first is not None and report["verdict"]["first_divergence"] == first
    # Every position before the first divergence is within every threshold; the first is not.
    t = pair["thresholds"]

    def within(row):
        return row["cosine"] >= t["min_cosine"] and row["nmse"] <= t["max_nmse"] and row["kl"] <= t["max_kl"] and (
            row["top1_a"] == row["top1_b"] or row["top1_margin"] <= t["top1_margin"])

    rows = pair["positions"]
    assert all(within(r) for r in rows[:first]) and not within(rows[first])
    assert "DIVERGED" in result.stderr and f"position {first}" in result.stderr


def test_exit_1_api(files):
    report = crossval(files["base"], PROMPT, backends=["llama.cpp", f"llama.cpp={files['other-seed']}"], template="raw")
    assert report.exit_code == 1 and not report.passed
    assert report.first_divergence == 0  # different random weights differ from the first position on
    assert report.pairs[0].divergence_reason


# ------------------------------------------------------------------- exit 2: token mismatch


def mismatch_of(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 2, result.stderr
    report = report_of(result)
    assert report["verdict"]["exit_code"] == 2 and report["pairs"] == []  # stopped before any logits
    return report["token_mismatch"]


def test_exit_2_double_bos(files):
    # The other file's template writes BOS and its tokenizer adds one too.
    result = cli("--model", files["plain"], "--prompt", "Hi", "--backend",
                 f"llama.cpp,llama.cpp={files['bos-template']}", "--format", "json")
    m = mismatch_of(result)
    bos = 1
    assert m["cause"] == "double-bos" and m["index"] == 1
    assert m["b"]["backend"] == "llama.cpp@bos-template.gguf" and m["b"]["window_ids"][:2] == [bos, bos]
    assert m["a"]["window_ids"][0] == bos and m["a"]["id"] != bos
    assert m["b"]["piece"] == "<|im_start|>"
    assert "double-bos" in result.stderr


def test_exit_2_missing_bos(files):
    result = cli("--model", files["plain"], "--prompt", "Hi", "--backend",
                 f"llama.cpp,llama.cpp={files['plain-no-bos']}", "--format", "json")
    m = mismatch_of(result)
    assert m["cause"] == "missing-bos" and m["index"] == 0
    assert m["a"]["id"] == 1 and m["a"]["piece"] == "<|im_start|>"
    llm = llama_cpp.Llama(str(files["plain-no-bos"]), vocab_only=True, verbose=False)
    assert m["b"]["id"] == llm.tokenize(b"USER", add_bos=False)[0]
    assert "did not add BOS" in m["explanation"]


def test_exit_2_special_token_not_parsed(files):
    prompt = f"Look: {SPECIAL} here"
    result = cli("--model", files["base"], "--prompt", prompt, "--prompt-template", "raw", "--backend",
                 f"llama.cpp,llama.cpp={files['special-as-text']}", "--format", "json")
    m = mismatch_of(result)
    assert m["cause"] == "special-not-parsed"
    assert f"'{SPECIAL}' (id {SPECIAL_ID} of llama.cpp)" in m["explanation"]
    # The first differing index of llama.cpp's own tokenizations of the two files.
    ours, theirs = (llama_cpp.Llama(str(files[name]), vocab_only=True, verbose=False).tokenize(
        prompt.encode(), add_bos=False, special=True) for name in ("base", "special-as-text"))
    assert SPECIAL_ID in ours and SPECIAL_ID not in theirs
    assert m["index"] == next(i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y)
    assert m["a"]["id"] == ours[m["index"]] and m["b"]["id"] == theirs[m["index"]]
    # The other side spells the token's text with several ordinary tokens.
    assert SPECIAL in "".join(m["b"]["window_pieces"]) and SPECIAL_ID not in m["b"]["window_ids"]
    assert m["window_start"] == max(0, m["index"] - 4)


def test_exit_2_different_template(files):
    result = cli("--model", files["plain"], "--prompt", "Hi", "--backend",
                 f"llama.cpp,llama.cpp={files['other-template']}", "--format", "json")
    m = mismatch_of(result)
    report = report_of(result)
    assert m["cause"] == "different-template"
    # Both rendered texts are in the report: the model's, and the other file's own.
    assert report["template"]["text"] == "USER: Hi\nASSISTANT:"
    assert report["template"]["texts"] == {"llama.cpp@other-template.gguf": "### user\nHi\n\n### assistant"}  # jinja drops a final newline
    assert m["index"] == 1  # after the BOS both add


def test_exit_2_different_vocabulary(files):
    prompt = f"call {EXTRA} now"
    result = cli("--model", files["base"], "--prompt", prompt, "--prompt-template", "raw", "--backend",
                 f"llama.cpp,llama.cpp={files['extended']}", "--format", "json")
    m = mismatch_of(result)
    assert m["cause"] == "different-vocabulary"
    extended = lockstep.gguf.open(files["extended"]).metadata["tokenizer.ggml.tokens"]
    assert extended.index(EXTRA) == 4096
    theirs = llama_cpp.Llama(str(files["extended"]), vocab_only=True, verbose=False).tokenize(
        prompt.encode(), add_bos=False, special=True)
    assert 4096 in theirs and 4096 in m["b"]["window_ids"]  # one token, which the base vocabulary lacks
    assert m["b"]["id"] == theirs[m["index"]] and m["index"] <= theirs.index(4096)
    assert f"token 4096 '{EXTRA}' of llama.cpp@extended.gguf has no counterpart" in m["explanation"]


def test_exit_2_api_stops_before_logits(files):
    report = crossval(files["plain"], "Hi", backends=["llama.cpp", f"llama.cpp={files['plain-no-bos']}"])
    assert report.exit_code == 2 and report.pairs == [] and report.token_mismatch["cause"] == "missing-bos"
    assert report.first_divergence is None and not report.passed


# ------------------------------------------------------------- exit 3: backend unavailable



@pytest.fixture
def hidden_llama_cpp(tmp_path) -> dict[str, str]:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(HIDE_LLAMA_CPP)
    return {"PYTHONPATH": lockstep_path(shim)}


def test_exit_3_backend_hidden_from_import(files, hidden_llama_cpp):
    result = cli("--model", files["base"], "--prompt", "Hi", "--backend", "llama.cpp,hf", env=hidden_llama_cpp)
    assert result.returncode == 3, result.stderr
    assert "llama.cpp" in result.stderr and 'pip install "lockstep[llamacpp]"' in result.stderr
    assert "cannot be imported: llama_cpp" in result.stderr


def test_exit_3_api_raises_backend_unavailable(files, hidden_llama_cpp):
    code = (
        "import sys\n"
        "from lockstep.dispatch.crossval import crossval\n"
        "from lockstep.errors import BackendUnavailable\n"
        "try:\n"
        f"    crossval({str(files['base'])!r}, 'Hi', backends=['hf', 'llama.cpp'])\n"
        "except BackendUnavailable as e:\n"
        "    print(e.backend, e.install_command, 'cannot be imported: llama_cpp' in e.reason)\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    env = {**os.environ, **hidden_llama_cpp}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["llama.cpp", "pip", "install", '"lockstep[llamacpp]"', "True"]


@pytest.mark.parametrize("failure", ["ImportError('libllama.so: cannot open shared object file')",
                                     "OSError('undefined symbol: llama_backend_init')"])
def test_exit_3_backend_that_fails_at_import(files, tmp_path, failure):
    # Installed and found on sys.path, but broken: what a bad build or a missing shared
    # library looks like. Before any model is read: exit 3 with the reason and the install
    # command, not a traceback.
    broken = tmp_path / "broken" / "llama_cpp"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(f"raise {failure}\n")
    result = cli("--model", files["base"], "--prompt", "Hi", "--backend", "llama.cpp,native",
                 env={"PYTHONPATH": lockstep_path(broken.parent)})
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "llama_cpp is installed but fails at import" in result.stderr, result.stderr
    assert failure.split("(")[0] in result.stderr and 'pip install "lockstep[llamacpp]"' in result.stderr


# ----------------------------------------------------------------- exit 4: template errors


def test_exit_4_template_syntax_error(files, tmp_path):
    broken = tmp_path / "broken.jinja"
    broken.write_text("{% for m in messages %}{{ m['content'] }")  # unclosed expression and loop
    result = cli("--model", files["base"], "--prompt", "Hi", "--backend", "llama.cpp,hf", "--chat-template", broken)
    assert result.returncode == 4, result.stderr
    assert "TemplateSyntaxError" in result.stderr


def test_exit_4_template_raise_exception(files, tmp_path):
    strict = tmp_path / "strict.jinja"
    strict.write_text("{% if messages[0]['role'] != 'system' %}{{ raise_exception('a system prompt is required') }}"
                      "{% endif %}{{ messages[0]['content'] }}")
    result = cli("--model", files["base"], "--prompt", "Hi", "--backend", "llama.cpp,hf", "--chat-template", strict)
    assert result.returncode == 4 and "a system prompt is required" in result.stderr
    with_system = cli("--model", files["base"], "--prompt", "Hi", "--system-prompt", "Be brief.", "--backend",
                      "llama.cpp,llama.cpp", "--chat-template", strict, "--format", "json")
    assert with_system.returncode == 0, with_system.stderr
    assert report_of(with_system)["template"]["text"] == "Be brief."


def test_exit_4_api_and_bad_messages(files, tmp_path):
    from lockstep.errors import TemplateError
    no_template = models.write_tiny_llama(tmp_path / "no-template.gguf")
    with pytest.raises(TemplateError, match="the model has none embedded"):
        crossval(no_template, "Hi", backends=["llama.cpp", "llama.cpp"], template="jinja")
    messages = tmp_path / "messages.json"
    messages.write_text('[{"role": "wizard", "content": "Hi"}]')
    result = cli("--model", files["base"], "--messages", messages, "--backend", "llama.cpp,llama.cpp")
    assert result.returncode == 4 and "role must be one of" in result.stderr


# ---------------------------------------------------------------- exit 5: bad model files


@pytest.mark.parametrize("which", ["truncated", "garbage", "missing"])
def test_exit_5_malformed_or_missing_model(files, which, tmp_path):
    path = files[which] if which != "missing" else tmp_path / "nowhere.gguf"
    result = cli("--model", path, "--prompt", "Hi", "--backend", "llama.cpp,hf")
    assert result.returncode == 5, result.stderr
    assert "bad model file" in result.stderr and path.name in result.stderr
    assert "Traceback" not in result.stderr


def test_exit_5_api_format_error_names_file_and_offset(files):
    with pytest.raises(lockstep.FormatError) as error:
        crossval(files["truncated"], "Hi", backends=["llama.cpp", "hf"])
    assert error.value.path.endswith("truncated.gguf") and error.value.offset >= 0 and error.value.reason


def test_exit_5_backend_cannot_load_its_file(files):
    # The crossval's model is fine; the second backend's own file is not.
    result = cli("--model", files["base"], "--prompt", "Hi", "--backend", f"llama.cpp,llama.cpp={files['garbage']}")
    assert result.returncode == 5 and "garbage.gguf" in result.stderr


# -------------------------------------------------------------------- exit 64: usage errors


@pytest.mark.parametrize("args, message", [
    ([], "--model and one of --prompt / --messages are required"),
    (["--model", "m.gguf"], "--model and one of --prompt / --messages are required"),
    (["--model", "m.gguf", "--prompt", "x", "--backend", "llama.cpp"], "two or more backends"),
    (["--model", "m.gguf", "--prompt", "x", "--backend", "llama.cpp,vllm"], "unknown backend 'vllm'"),
    (["--model", "m.gguf", "--prompt", "x", "--backend", "llama.cpp,hf", "--threshold", "max_kl"], "NAME=VALUE"),
    (["--model", "m.gguf", "--prompt", "x", "--backend", "llama.cpp,hf", "--threshold", "max_kl=big"], "not a number"),
    (["--model", "m.gguf", "--prompt", "x", "--backend", "llama.cpp,hf", "--threshold", "min_pearson=1"],
     "unknown threshold"),
    (["--model", "m.gguf", "--prompt", "x", "--backend", "llama.cpp,hf", "--steps", "-1"], "--steps must be >= 0"),
    (["--model", "m.gguf", "--prompt", "x", "--messages", "m.json"], "not allowed with argument"),
    (["--model", "m.gguf", "--prompt", "x", "--format", "yaml"], "invalid choice"),
    (["--model", "m.gguf", "--prompt", "x", "--prompt-template", "alpaca"], "invalid choice"),
    (["--model", "m.gguf", "--prompt", "x", "--no-such-flag"], "unrecognized arguments"),
    (["--model", "m.gguf", "--prompt", "x", "--backend", "both", "--inject-fault", "nope"], "unknown fault 'nope'"),
])
def test_exit_64_usage_errors(args, message):
    result = cli(*args)
    assert result.returncode == 64, result.stderr
    assert message in result.stderr


# ------------------------------------------------------------------------ vocabulary bridge


def pieces_of(path: Path) -> list[bytes]:
    return [t.encode() for t in lockstep.gguf.open(path).metadata["tokenizer.ggml.tokens"]]


def test_vocab_bridge_pairs_ids_by_piece(files):
    a, b = pieces_of(files["base"]), pieces_of(files["permuted"]) + [EXTRA.encode()]
    bridge = _core.vocab_bridge(a, b)
    where_in_b = {piece: i for i, piece in enumerate(b)}  # pieces are unique in this vocabulary
    expected = np.array([where_in_b.get(piece, -1) for piece in a])
    np.testing.assert_array_equal(bridge["a_to_b"], expected)
    assert not bridge["identity"] and bridge["unaligned_a"] == 0 and bridge["unaligned_b"] == 1
    assert bridge["b_to_a"][len(b) - 1] == -1
    assert _core.vocab_bridge(a, a)["identity"]


def test_permuted_vocabulary_is_compared_through_the_bridge(files):
    report = crossval(files["base"], PROMPT, backends=["llama.cpp", f"llama.cpp={files['permuted']}"], template="raw")
    assert report.exit_code == 0, report.pairs[0].divergence_reason
    (pair,) = report.pairs
    assert pair.alignment["identical"] is False
    assert (pair.alignment["aligned"], pair.alignment["unaligned_reference"], pair.alignment["unaligned_test"]) == (
        4096, 0, 0)
    # Same weights, rows permuted: the ids differ but the logits agree token for token.
    base, permuted = report.tokens["llama.cpp"], report.tokens["llama.cpp@permuted.gguf"]
    assert base != permuted
    a, b = pieces_of(files["base"]), pieces_of(files["permuted"])
    assert [a[i] for i in base] == [b[i] for i in permuted]
    assert max(pair.metrics.columns["kl"]) < 1e-6


def test_vocabularies_of_different_sizes_report_the_unaligned_tokens(files):
    report = crossval(files["base"], PROMPT, backends=["llama.cpp", f"llama.cpp={files['extended']}"], template="raw")
    assert report.exit_code == 0
    alignment = report.pairs[0].alignment
    assert (alignment["reference_size"], alignment["test_size"], alignment["aligned"]) == (4096, 4097, 4096)
    assert alignment["unaligned_test"] == 1 and alignment["examples_test"] == [EXTRA]
    assert 0 < alignment["max_unaligned_mass_test"] < 1 and alignment["max_unaligned_mass_reference"] == 0


# --------------------------------------------------------------------------- JSON and frame


def documented_fields() -> set[str]:
    """Field paths from the schema tables of docs/crossval-json.md: rows like | `pairs[].test` | ..."""
    return set(re.findall(r"^\| `([^`]+)` \|", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE))


def field_paths(value, prefix: str = "") -> set[str]:
    """Every key path in a JSON value: list items as ``[]``, mappings keyed by backend label as
    ``{label}``; ``cross_pairs[]`` and teacher-forced rows have the documented form of
    ``pairs[]`` and its position rows."""
    out = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{{label}}" if prefix in DYNAMIC_KEYS else (f"{prefix}.{key}" if prefix else key)
            out.add(path)
            out |= field_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            out |= field_paths(item, f"{prefix}[]")
    return {p.replace("cross_pairs[].", "pairs[].").replace("teacher_forced_positions[].", "positions[].") for p in out}


DYNAMIC_KEYS = {"tokens", "template.texts", "verdict.diverged_stages"}


def test_json_report_has_exactly_the_documented_fields(files):
    report = crossval(files["base"], PROMPT, backends=["llama.cpp", "hf", f"llama.cpp={files['perturbed']}"],
                      template="raw", steps=3)
    data = json.loads(report.to_json())
    documented = documented_fields()
    found = field_paths(data)
    assert data["schema_version"] == 1
    assert found - documented == set(), "fields in the report that docs/crossval-json.md does not document"
    for other in ("plain-no-bos", "other-template"):  # token mismatches, one with per-backend texts
        mismatch = crossval(files["plain"], "Hi", backends=["llama.cpp", f"llama.cpp={files[other]}"])
        found |= field_paths(json.loads(mismatch.to_json()))
    fault = crossval(files["base"], PROMPT, backends=["llama.cpp", "native"], template="raw",
                     inject_fault="rope-layout-swapped", steps=4)
    found |= field_paths(json.loads(fault.to_json()))
    # A cross-precision pair (quantized weights) carries the noise floor it was judged against.
    quantized = crossval(lockstep.default_model_path(), PROMPT, backends=["llama.cpp", "native"], steps=2)
    found |= field_paths(json.loads(quantized.to_json()))
    assert found - documented == set()
    assert documented - found == set(), "documented fields the reports never carry"


def test_json_report_values(files):
    report = crossval(files["base"], PROMPT, backends=["llama.cpp", "hf"], template="raw", thresholds={"max_kl": 0.5})
    data = json.loads(report.to_json())
    import hashlib

    assert data["model"]["sha256"] == hashlib.sha256(files["base"].read_bytes()).hexdigest()
    assert [b["name"] for b in data["backends"]] == ["llama.cpp", "hf"]
    assert data["backends"][0]["version"].startswith(f"llama-cpp-python {llama_cpp.__version__}")
    import transformers

    assert transformers.__version__ in data["backends"][1]["version"]
    assert data["thresholds"]["same-arithmetic"]["max_kl"] == 0.5 == data["thresholds"]["cross-precision"]["max_kl"]
    assert data["flags"] == {"add_special": False, "parse_special": True, "steps": 0, "top_k": 10,
                             "inject_fault": None, "template": "raw"}
    assert data["template"]["name"] == "raw" and data["template"]["text"] == PROMPT
    rows = data["pairs"][0]["positions"]
    assert [r["position"] for r in rows] == list(range(len(report.tokens["llama.cpp"])))
    assert data["pairs"][0]["mean_kl"] == pytest.approx(np.mean([r["kl"] for r in rows]))


def test_to_frame_columns_and_rows(files):
    report = crossval(files["base"], PROMPT, backends=["llama.cpp", f"llama.cpp={files['perturbed']}"],
                      template="raw", steps=2)
    frame = report.to_frame()
    n = len(report.tokens["llama.cpp"])
    for column in ("reference", "test", "phase", "position", "cosine", "max_abs_diff", "nmse", "kl", "top1_a",
                   "top1_b", "top1_margin", "topk_overlap", "kendall_tau", "p_next_a", "p_next_b", "nll_a", "nll_b",
                   "precision_class", "diverged"):
        assert column in frame.columns, column
    assert (frame["phase"] == "prompt").sum() == n and (frame["phase"] == "teacher-forced").sum() == 2
    prompt_rows = frame[frame["phase"] == "prompt"]
    first = report.pairs[0].first_divergence
    assert list(prompt_rows["diverged"]) == [i >= first for i in range(n)]
    np.testing.assert_allclose(prompt_rows["kl"], report.pairs[0].metrics.columns["kl"])


# ------------------------------------------------------------------ triangulation and steps


def test_triangulation_names_the_odd_one_out(files):
    result = cli("--model", files["base"], "--prompt", PROMPT, "--prompt-template", "raw", "--backend",
                 f"hf,llama.cpp,llama.cpp={files['perturbed']}", "--format", "json")
    assert result.returncode == 1, result.stderr
    report = report_of(result)
    assert report["verdict"]["odd_one_out"] == "llama.cpp@perturbed.gguf"
    passed = {(p["reference"], p["test"]): p["passed"] for p in report["pairs"] + report["cross_pairs"]}
    assert passed == {("hf", "llama.cpp"): True, ("hf", "llama.cpp@perturbed.gguf"): False,
                      ("llama.cpp", "llama.cpp@perturbed.gguf"): False}
    assert "triangulation" in result.stderr and "llama.cpp@perturbed.gguf disagrees" in result.stderr


def greedy_llama_cpp(path: Path, ids: list[int], steps: int) -> list[int]:
    llm = llama_cpp.Llama(str(path), n_ctx=256, logits_all=True, verbose=False)
    out = []
    for _ in range(steps):
        llm.reset()
        llm.eval(ids + out)
        out.append(int(np.argmax(llm.scores[len(ids) + len(out) - 1])))
    return out


def test_steps_teacher_forced_and_free_running(files):
    steps = 6
    result = cli("--model", files["base"], "--prompt", PROMPT, "--prompt-template", "raw", "--backend",
                 f"llama.cpp,hf,llama.cpp={files['other-seed']}", "--steps", steps, "--format", "json")
    assert result.returncode == 1, result.stderr
    report = report_of(result)
    ids = report["tokens"]["llama.cpp"]
    assert report["reference_greedy"] == greedy_llama_cpp(files["base"], ids, steps)
    clean, other = report["pairs"]
    # The clean pair follows the reference's greedy path token for token.
    assert len(clean["teacher_forced_positions"]) == steps and clean["teacher_forced"]["first_divergence"] is None
    assert clean["free_running"] == report["reference_greedy"] and clean["free_running_agreement"] == steps
    # A model with other weights: its own greedy tokens, and its agreement counted from the start.
    assert other["free_running"] == greedy_llama_cpp(files["other-seed"], ids, steps)
    agreement = next((i for i, (x, y) in enumerate(zip(other["free_running"], report["reference_greedy"])) if x != y),
                     steps)
    assert other["free_running_agreement"] == agreement
    assert other["teacher_forced"]["first_divergence"] == 0
    assert "teacher-forced steps" in result.stderr


def test_prepared_backends_are_reused(files):
    reference = prepare_backend("llama.cpp", files["base"])
    perturbed = prepare_backend(f"llama.cpp={files['perturbed']}", files["base"])
    first = crossval(files["base"], PROMPT, backends=[reference, perturbed], template="raw")
    second = crossval(files["base"], "Once upon a time", backends=[reference, perturbed], template="raw")
    assert first.exit_code == 1 and second.backends[1]["label"] == "llama.cpp@perturbed.gguf"
    assert second.tokens["llama.cpp"] == llama_cpp.Llama(str(files["base"]), vocab_only=True, verbose=False).tokenize(
        b"Once upon a time", add_bos=False, special=True)


# ------------------------------------------------------- the C++ result as Python reads it


def test_result_structs_are_read_only_views_of_the_cpp_result(files):
    """run_crossval hands back the C++ structs themselves: fields read-only, metric columns
    numpy views into the result's rows (no copy) that keep the result alive."""
    import gc

    backend = prepare_backend("llama.cpp", files["base"]).backend
    perturbed = prepare_backend(f"llama.cpp={files['perturbed']}", files["base"]).backend
    ids = backend.tokenize(PROMPT, True, True)
    result = _core.run_crossval([backend, perturbed], ["a", "b"], [PROMPT], True, True, _core.thresholds(), 10, 2)
    assert isinstance(result, _core.CrossvalResult) and result.exit_code == 1
    assert result.tokens == [list(ids), list(ids)]
    pair = result.pairs[0]
    assert set(_core.PairResult._fields) >= {"positions", "alignment", "greedy_splits", "first_divergence"}
    with pytest.raises(AttributeError):
        pair.first_divergence = 0
    kl = pair.positions["kl"]
    assert not kl.flags.writeable and kl.base is not None and len(kl) == len(ids)
    with pytest.raises(ValueError):
        kl[0] = 0.0
    # The same bytes each time: a view of the row, not a new array.
    assert pair.positions["kl"].__array_interface__["data"][0] == kl.__array_interface__["data"][0]
    expected = kl.copy()
    del result, pair
    gc.collect()
    np.testing.assert_array_equal(kl, expected)  # the view kept the C++ result alive
    # An independent check of the values: KL(softmax(a) || softmax(b)) from llama.cpp's own logits.
    logits = [np.asarray(b.logits(ids), dtype=np.float64) for b in (backend, perturbed)]
    log_p = [x - x.max(1, keepdims=True) - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True))
             for x in logits]
    np.testing.assert_allclose(kl, (np.exp(log_p[0]) * (log_p[0] - log_p[1])).sum(1), rtol=1e-6, atol=1e-9)


def test_threshold_names_come_from_one_table():
    bands = _core.thresholds()
    assert tuple(bands) == _core.THRESHOLD_BANDS == ("same-arithmetic", "cross-precision")
    assert all(tuple(values) == _core.THRESHOLD_NAMES == _core.Thresholds._fields for values in bands.values())
    both = _core.thresholds({"max_kl": 0.5})
    assert both["same-arithmetic"]["max_kl"] == both["cross-precision"]["max_kl"] == 0.5
    one = _core.thresholds({"cross-precision.min_cosine": 0.5})
    assert one["cross-precision"]["min_cosine"] == 0.5 and one["same-arithmetic"] == bands["same-arithmetic"]
    for bad in ("max_lk", "cross.max_kl", "cross-precision."):
        with pytest.raises(ValueError, match="unknown threshold"):
            _core.thresholds({bad: 1.0})
    from lockstep.dispatch.metrics import METRICS

    assert METRICS == _core.METRIC_COLUMNS and "kl" in METRICS
