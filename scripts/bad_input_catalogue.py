"""Prints the README's bad-input catalogue: each class of bad input made for real, run the way a
user runs it (the CLI, or the Python API where no command reads that input), with the exit
code and the first line of the error exactly as printed.

    PYTHONPATH=python python scripts/bad_input_catalogue.py     # a markdown table on stdout
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

import gguf  # noqa: E402

import lockstep as ls  # noqa: E402
from crossval_cli import lockstep_path  # noqa: E402

MODEL = ls.default_model_path()


def cli(*args: str) -> tuple[int, str]:
    run = subprocess.run([sys.executable, "-m", "lockstep", *args], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=lockstep_path()))
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    return run.returncode, lines[-1] if lines else ""


def crossval(model: Path | str, *extra: str) -> tuple[int, str]:
    if "--messages" not in extra and "--prompt" not in extra:
        extra = ("--prompt", "Hi", *extra)
    return cli("crossval", "--model", str(model), "--backend", "native,native", "--steps", "0", *extra)


def api(call) -> tuple[str, str]:
    try:
        call()
    except Exception as error:  # noqa: BLE001 - what the user sees is the point
        return type(error).__name__, str(error)
    return "-", "no error"


def short(text: str, root: Path) -> str:
    text = text.replace(str(root) + "/", "").replace(str(MODEL), "SmolLM2.gguf")
    return (text[:230] + " ...") if len(text) > 230 else text


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bad-input-"))
    data = MODEL.read_bytes()
    rows: list[tuple[str, str, str, str]] = []

    def row(what: str, how: str, result: tuple) -> None:
        code, message = result
        rows.append((what, how, str(code), short(message, root)))

    row("a path that does not exist", "`lockstep inspect`", cli("inspect", str(root / "missing.gguf")))
    (root / "empty.gguf").write_bytes(b"")
    row("an empty file", "`lockstep crossval`", crossval(root / "empty.gguf"))
    (root / "notes.gguf").write_text("these are my notes\n")
    row("a text file named .gguf", "`lockstep crossval`", crossval(root / "notes.gguf"))
    (root / "cut.gguf").write_bytes(data[:5000])
    row("a GGUF file cut short", "`lockstep crossval`", crossval(root / "cut.gguf"))
    absurd = bytearray(data[:4096])
    absurd[8:16] = struct.pack("<Q", 2**60)
    (root / "count.gguf").write_bytes(bytes(absurd))
    row("a GGUF count larger than the file (2^60 tensors)", "`lockstep crossval`", crossval(root / "count.gguf"))
    version = bytearray(data[:4096])
    version[4:8] = struct.pack("<I", 7)
    (root / "version.gguf").write_bytes(bytes(version))
    row("a GGUF version lockstep does not read", "`lockstep crossval`", crossval(root / "version.gguf"))

    from test_limits import N_EMBD, write_engine_gguf

    write_engine_gguf(root / "shape.gguf", gguf.GGMLQuantizationType.F16, {"blk.0.attn_q.weight": (N_EMBD, N_EMBD + 32)})
    row("a tensor whose shape disagrees with the config", "`lockstep crossval`", crossval(root / "shape.gguf"))
    write_engine_gguf(root / "arch.gguf", gguf.GGMLQuantizationType.F16)
    arch = bytearray((root / "arch.gguf").read_bytes())
    at = arch.index(b"llama", 0, 200)
    arch[at:at + 5] = b"zzzzz"
    (root / "arch.gguf").write_bytes(bytes(arch))
    row("an architecture no backend runs", "`lockstep crossval`", crossval(root / "arch.gguf"))

    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    (root / "long.safetensors").write_bytes(struct.pack("<Q", 10**9) + header)
    row("a safetensors header length past the end", "`lockstep inspect`", cli("inspect", str(root / "long.safetensors")))
    folder = root / "sharded"
    folder.mkdir()
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "model-00001-of-00002.safetensors"}}))
    row("a sharded index naming a missing shard", "`lockstep inspect`", cli("inspect", str(folder)))
    broken = root / "broken-config"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "llama", "hidden_size": 16,,}')
    row("a config.json that is not JSON", "`lockstep inspect`", cli("inspect", str(broken)))

    template = root / "bad.jinja"
    template.write_text("{% for m in messages %}{{ m.content }")
    row("a chat template with a syntax error", "`crossval --chat-template`", crossval(MODEL, "--prompt", "Hi", "--chat-template", str(template)))
    template.write_text("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    row("a chat template that never ends", "`crossval --chat-template`", crossval(MODEL, "--prompt", "Hi", "--chat-template", str(template)))
    template.write_text("{{ 'x' * 10**9 }}")
    row("a chat template that builds a huge string", "`crossval --chat-template`", crossval(MODEL, "--prompt", "Hi", "--chat-template", str(template)))
    template.write_text("{% include '/etc/passwd' %}")
    row("a chat template that reaches for a file", "`crossval --chat-template`", crossval(MODEL, "--prompt", "Hi", "--chat-template", str(template)))
    messages = root / "messages.json"
    messages.write_text('[{"role": "user", "content": "Hi"')
    row("a --messages file that is not JSON", "`crossval --messages`", crossval(MODEL, "--messages", str(messages)))
    messages.write_text('[{"role": "wizard", "content": "Hi"}]')
    row("a --messages turn with an unknown role", "`crossval --messages`", crossval(MODEL, "--messages", str(messages)))
    row("an unknown backend", "`crossval --backend`", cli("crossval", "--model", str(MODEL), "--prompt", "Hi", "--backend", "native,vllm"))

    pathological = root / "tokenizer.json"
    pathological.write_text(json.dumps({
        "model": {"type": "BPE", "vocab": {"[UNK]": 0, "a": 1, "b": 2}, "merges": [], "unk_token": "[UNK]"},
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a|a)*b"}, "behavior": "Isolated", "invert": False},
        "added_tokens": []}))
    row("a tokenizer.json whose regex backtracks without end", "`Tokenizer.encode` (API)",
        api(lambda: ls.Tokenizer.from_file(pathological).encode("a" * 4000)))
    model = ls.NativeModel(MODEL, n_threads=1)
    row("a token id outside the vocabulary", "`NativeModel.logits` (API)", api(lambda: model.logits([1, 10**9])))

    def busy_eval():
        with model._context:  # another thread's call in progress, as a lock holder
            result = []
            worker = threading.Thread(target=lambda: result.append(api(lambda: model.eval([1, 2]))))
            worker.start()
            worker.join()
            return result[0]

    row("eval on a model another thread is using", "`NativeModel.eval` (API)", busy_eval())

    print("| bad input | where | exit code (CLI) or exception (API) | what the user sees |")
    print("|---|---|---|---|")
    for what, how, code, message in rows:
        message = message.replace("|", "\\|")
        print(f"| {what} | {how} | {code} | `{message}` |")


if __name__ == "__main__":
    main()
