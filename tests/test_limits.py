"""Limits a hostile file cannot pass (issue 15): a chat template that loops, blows up a string
or reaches for files is stopped with a TemplateError; a regex that backtracks without end is
stopped with a ValueError; the native engine names a tensor whose shape disagrees with the
config before reading it; and random mutations of every kind of test model file, loaded in
a child process under a memory cap, raise exceptions and never crash or allocate from a
corrupt count.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

import lockstep as ls
from crossval_cli import lockstep_path
from crossval_models import add_typed_tensor
from lockstep import _core
from lockstep.errors import FormatError, TemplateError
from lockstep.text.templates import MAX_TEMPLATE_OUTPUT, MAX_TEMPLATE_SECONDS, render_jinja


def child_env() -> dict[str, str]:
    """The environment of a child Python that imports the lockstep under test: the source tree's
    in a developer build, site-packages' once installed (CI), scripts/sanitize.sh's shadow
    package under ASan."""
    return dict(os.environ, PYTHONPATH=lockstep_path())


def mutation_env() -> dict[str, str]:
    """child_env, and under ASan the cap on one allocation that RLIMIT_AS gives otherwise
    (an allocation over it fails as MemoryError instead of aborting the child)."""
    env = child_env()
    if "LOCKSTEP_SANITIZED" in os.environ:
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":max_allocation_size_mb=512:allocator_may_return_null=1"
    return env


TURNS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
HERE = Path(__file__).resolve().parent

# --- chat templates ----------------------------------------------------------------------------

STOPPED = {
    "nested loops": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "longer than"),
    "loops over a list": ("{% set l = range(100000)|list %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}", "longer than"),
    "string times a huge count": ("{{ 'a' * 10**9 }}", "exceeds|limit"),
    "list times a huge count": ("{{ ([1] * 99999999)|length }}", "limit"),
    "doubling in a namespace": ("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                                "{{ ns.s|length }}", "memory|characters|longer"),
    "a huge power": ("{{ 7 ** 999999999 }}", "bits"),
    "repeated squaring": ("{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}",
                          "integers this large|longer"),
    "a huge width filter": ("{{ 'x'|center(999999999) }}", "exceeds the limit"),
    "a huge width in %": ("{{ '%999999999d' % 1 }}", "width"),
    "a huge width in format": ("{{ '{:>999999999}'.format(1) }}", "width"),
    "a huge count argument": ("{{ 'ab'.ljust(10**9) }}", "exceeds the limit"),
    "too much output": ("{% for i in range(100000) %}{% for j in range(100) %}xxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}",
                        "characters|longer"),
    "include": ("{% include '/etc/passwd' %}", "TemplateNotFound"),
    "import": ("{% import 'os' as os %}{{ os }}", "TemplateNotFound"),
    "extends": ("{% extends '/etc/hostname' %}", "TemplateNotFound"),
    "python internals": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "Undefined|unsafe|Security"),
    "division by zero": ("{{ 1 / 0 }}", "ZeroDivisionError"),
    "endless recursion": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "RecursionError|longer"),
    "a wrong type": ("{{ messages + 1 }}", "TypeError"),
}


@pytest.mark.parametrize("name", STOPPED)
def test_hostile_templates_are_stopped_with_a_template_error(name):
    source, expected = STOPPED[name]
    start = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render_jinja(source, TURNS)
    # Stopped near its time limit, not left to run: a loaded machine may take some seconds more.
    assert time.monotonic() - start < MAX_TEMPLATE_SECONDS + 30
    assert re.search(expected, str(caught.value)), str(caught.value)
    assert str(caught.value).startswith(("chat template failed: ", "chat template stopped: "))


def test_the_bounds_leave_real_templates_and_long_conversations_alone():
    smollm2 = ls.gguf.open(ls.default_model_path()).get_string("tokenizer.chat_template")
    long_turns = [{"role": "user", "content": "word " * 200_000}, {"role": "assistant", "content": "ok 12345678901234"}]
    text = render_jinja(smollm2, long_turns)
    assert text.count("word ") == 200_000 and "12345678901234" in text
    # Widths and counts up to the output limit stay allowed.
    assert len(render_jinja("{{ 'x'|center(1000) }}{{ '%5d' % 3 }}{{ range(3)|list }}", TURNS)) > 1000
    assert MAX_TEMPLATE_OUTPUT >= 1 << 20


def test_the_cli_exits_4_on_a_looping_template(tmp_path):
    template = tmp_path / "loop.jinja"
    template.write_text(STOPPED["nested loops"][0])
    run = subprocess.run([sys.executable, "-m", "lockstep", "crossval", "--model", str(ls.default_model_path()), "--prompt", "Hi",
                          "--backend", "native,native", "--chat-template", str(template), "--prompt-template", "jinja"],
                         capture_output=True, text=True, env=child_env())
    assert run.returncode == 4, run.stderr
    assert "template error: chat template stopped: rendering took longer than" in run.stderr


def test_a_config_whose_architectures_is_not_a_list_is_described(tmp_path):
    # Found by fuzz/inspect_folder.py (tests/data/fuzz_findings/inspect_folder-architectures-not-a-list):
    # a TypeError escaped inspect().
    (tmp_path / "config.json").write_text('{"architectures": 32, "model_type": "llama"}')
    info = ls.inspect(tmp_path)
    assert info.hf_architectures == () and info.format


@pytest.mark.parametrize("section", [
    {"pre_tokenizer": {"type": "Split", "behavior": "Isolated"}},
    {"normalizer": {"type": "Replace", "content": "\u2581"}},
])
def test_a_tokenizer_json_section_without_its_pattern_is_a_format_error(tmp_path, section):
    # Found by fuzz/tokenizer_json.py (tests/data/fuzz_findings/tokenizer_json-pattern-missing):
    # Boost.JSON's out-of-range error escaped as RuntimeError.
    document = {"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": [], **section}
    (tmp_path / "tokenizer.json").write_text(json.dumps(document))
    with pytest.raises(FormatError, match="pattern is missing"):
        ls.Tokenizer.from_file(tmp_path / "tokenizer.json")


# --- the regex engine ------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["(a|a)*b", "(a+)+b", "(?:a|aa)+$", "(\\p{L}+\\s?)*!"])
def test_catastrophic_backtracking_is_stopped(pattern):
    start = time.monotonic()
    with pytest.raises(ValueError, match="too many backtracking steps"):
        _core.regex_split(pattern, "a" * 4000 + "c")
    assert time.monotonic() - start < 30


def test_a_tokenizer_json_with_a_pathological_split_stops_with_an_error(tmp_path):
    document = {"version": "1.0", "model": {"type": "BPE", "vocab": {"[UNK]": 0, "a": 1, "b": 2}, "merges": [], "unk_token": "[UNK]"},
                "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a|a)*b"}, "behavior": "Isolated", "invert": False},
                "added_tokens": [], "normalizer": None, "post_processor": None, "decoder": None}
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(document))
    tokenizer = ls.Tokenizer.from_file(path)
    assert tokenizer.encode("aab").tolist()  # fine on ordinary text
    with pytest.raises(ValueError, match="too many backtracking steps"):
        tokenizer.encode("a" * 4000)


# --- a tiny complete model for the engine -------------------------------------------------------

N_EMBD, N_HEAD, N_HEAD_KV, N_FF, N_LAYER, N_TOKENS = 64, 4, 2, 128, 2, 320


def _cut_vocabulary():
    model = ls.gguf.open(ls.default_model_path())
    meta = model.metadata
    tokens = list(meta["tokenizer.ggml.tokens"][:N_TOKENS])
    kept = set(tokens)
    merges = [m for m in meta["tokenizer.ggml.merges"] if all(p in kept for p in m.split(" ", 1)) and m.replace(" ", "", 1) in kept]
    return tokens, merges, [int(t) for t in meta["tokenizer.ggml.token_type"][:N_TOKENS]]


def write_engine_gguf(path: Path, qtype: gguf.GGMLQuantizationType, shapes: dict[str, tuple[int, ...]] | None = None) -> Path:
    """A llama of two layers the native engine runs, with the default model's vocabulary cut to
    N_TOKENS tokens; `shapes` overrides the numpy shape of some tensors."""
    rng = np.random.default_rng(0)
    tokens, merges, types = _cut_vocabulary()
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(128)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_merges(merges)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    kv = N_EMBD // N_HEAD * N_HEAD_KV
    tensors = {"token_embd.weight": (N_TOKENS, N_EMBD), "output_norm.weight": (N_EMBD,)}
    for i in range(N_LAYER):
        tensors |= {f"blk.{i}.attn_norm.weight": (N_EMBD,), f"blk.{i}.attn_q.weight": (N_EMBD, N_EMBD),
                    f"blk.{i}.attn_k.weight": (kv, N_EMBD), f"blk.{i}.attn_v.weight": (kv, N_EMBD),
                    f"blk.{i}.attn_output.weight": (N_EMBD, N_EMBD), f"blk.{i}.ffn_norm.weight": (N_EMBD,),
                    f"blk.{i}.ffn_gate.weight": (N_FF, N_EMBD), f"blk.{i}.ffn_up.weight": (N_FF, N_EMBD),
                    f"blk.{i}.ffn_down.weight": (N_EMBD, N_FF)}
    tensors |= shapes or {}
    for name, shape in tensors.items():
        values = (rng.standard_normal(shape, dtype=np.float32) * 0.1).astype(np.float32)
        add_typed_tensor(writer, name, values, gguf.GGMLQuantizationType.F32 if len(shape) == 1 else qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def engine_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("engine")
    return {qtype.name: write_engine_gguf(root / f"tiny-{qtype.name}.gguf", qtype)
            for qtype in (gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0)}


def test_the_tiny_model_runs(engine_files):
    model = ls.NativeModel(engine_files["Q8_0"], n_threads=1)
    logits = model.logits(model.tokenize("Hello world"))
    assert logits.shape[1] == N_TOKENS and np.isfinite(logits).all()


@pytest.mark.parametrize("name, shape, expected", [
    ("blk.1.attn_q.weight", (N_EMBD, N_EMBD + 32), "expected [64, 64]"),
    ("blk.0.ffn_down.weight", (N_FF, N_EMBD), "expected [128, 64]"),
    ("blk.0.attn_norm.weight", (N_EMBD + 1,), "expected [64]"),
    ("token_embd.weight", (N_TOKENS, N_EMBD + 32), "expected [64, 320]"),
])
def test_a_tensor_whose_shape_disagrees_with_the_config_is_refused(tmp_path, name, shape, expected):
    path = write_engine_gguf(tmp_path / "bad.gguf", gguf.GGMLQuantizationType.F16, {name: shape})
    # The binder checks each tensor's shape (and then its byte size) before it takes any value.
    with pytest.raises(FormatError, match=re.escape(expected)) as caught:
        ls.NativeModel(path, n_threads=1)
    assert name in str(caught.value) and "shape" in str(caught.value)


# --- random mutations never crash the process -------------------------------------------------

MUTATIONS = int(os.environ.get("LOCKSTEP_MUTATIONS", "150"))


def _mutation_inputs(engine_files, tmp_path):
    from safetensors.numpy import save

    rng = np.random.default_rng(0)
    st = tmp_path / "model.safetensors"
    st.write_bytes(save({"a": rng.standard_normal((4, 8), dtype=np.float32), "b": np.arange(6, dtype=np.int64),
                         "c": rng.standard_normal(3).astype(np.float16)}, metadata={"format": "pt"}))
    corpus = HERE.parent / "fuzz" / "corpus"
    files = [("gguf-model", engine_files["Q8_0"]), ("gguf-model", engine_files["Q4_0"]), ("safetensors", st),
             ("gguf-vocab", corpus / "gguf_vocab" / "llama_spm.gguf"), ("gguf-vocab", corpus / "gguf_vocab" / "bert_wordpiece.gguf")]
    sys.path.insert(0, str(HERE.parent / "fuzz"))
    from _harness import unbundle  # the tokenizer.json seeds are bundles with tokenizer_config.json

    for seed in ("bpe_smollm", "wordpiece_bert"):
        folder = tmp_path / seed
        folder.mkdir()
        (folder / "tokenizer.json").write_bytes(unbundle(("tokenizer.json", "tokenizer_config.json"), (corpus / "tokenizer_json" / seed).read_bytes())["tokenizer.json"])
        files.append(("tokenizer-json", folder / "tokenizer.json"))
    return files


def test_random_mutations_of_every_test_model_file_never_crash(engine_files, tmp_path):
    sys.path.insert(0, str(HERE))
    failures, outcomes = [], {}
    for index, (kind, original) in enumerate(_mutation_inputs(engine_files, tmp_path)):
        scratch = tmp_path / f"run{index}"
        scratch.mkdir()
        first, remaining = index * 100_000, MUTATIONS
        while remaining > 0:
            run = subprocess.run([sys.executable, str(HERE / "mutation_child.py"), kind, str(original), str(scratch),
                                  str(first), str(remaining)], capture_output=True, text=True, timeout=900, env=mutation_env())
            lines = run.stdout.splitlines()
            done = [line.split(" ", 2) for line in lines if line.startswith("outcome ")]
            for _, seed, outcome in done:
                outcomes.setdefault(kind, {}).setdefault(outcome.split(":")[0], 0)
                outcomes[kind][outcome.split(":")[0]] += 1
                if outcome.startswith("other"):
                    failures.append(f"{kind} {original.name} seed {seed}: {outcome}")
            if run.returncode == 0:
                break
            seeds = [int(line.split()[1]) for line in lines if line.startswith("seed ")]
            crashed = seeds[-1] if seeds else first
            sys.path.insert(0, str(HERE))
            from mutation_child import mutate

            kept = tmp_path / f"crash-{kind}-{crashed}{original.suffix}"
            kept.write_bytes(mutate(original.read_bytes(), crashed))
            how = f"signal {signal.Signals(-run.returncode).name}" if run.returncode < 0 else f"exit {run.returncode}"
            failures.append(f"{kind} {original.name} seed {crashed}: {how}, input kept as {kept}\n{run.stderr[-2000:]}")
            remaining -= crashed - first + 1
            first = crashed + 1
    assert not failures, "\n".join(failures)
    # Each kind both loaded some mutants and refused others: the mutations reach the parsers.
    for kind, seen in outcomes.items():
        assert sum(seen.values()) >= MUTATIONS, (kind, seen)
