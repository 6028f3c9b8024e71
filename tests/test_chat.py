"""`lockstep chat` as users run it: through a pipe on every backend (answer, /metrics, a receipt
valid against docs/receipt-json.md), the model's own template rendered as llama-cpp-python's
independent Jinja formatter renders it, only the new turn prefilled on the native KV cache,
/save read back by crossval's loader, and a real terminal session in tmux with /clear, Ctrl-C
and Ctrl-D."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

import lockstep
from crossval_cli import lockstep_path
from receipt_schema import validate_receipt

DEFAULT = lockstep.default_model_path()
BACKEND_PACKAGES = {"native": None, "llama.cpp": "llama_cpp", "hf": "transformers"}


def chat(*args, input: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": lockstep_path()}
    return subprocess.run([sys.executable, "-m", "lockstep", "chat", "--model", str(DEFAULT), *map(str, args)],
                          input=input, capture_output=True, text=True, env=env, timeout=timeout)


def receipts(folder) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("chat-*.json"),
                                                                      key=lambda p: json.loads(p.read_text())["result"]["turn"])]


@pytest.mark.parametrize("backend", ["native", "llama.cpp", "hf"])
def test_piped_question_gets_an_answer_metrics_and_a_valid_receipt(backend, tmp_path):
    if BACKEND_PACKAGES[backend]:
        pytest.importorskip(BACKEND_PACKAGES[backend])
    out = chat("--backend", backend, "--receipt-dir", tmp_path, "--max-tokens", "40", "--threads", "2",
               input="What is 2+2?\n/metrics\n/exit\n")
    assert out.returncode == 0, out.stderr
    answer, _, metrics = out.stdout.partition("last turn:")
    assert "4" in answer, out.stdout
    assert "prefilled" in metrics and "tokens/s" in metrics and "session: 1 turns" in metrics
    [receipt] = receipts(tmp_path)
    validate_receipt(receipt)
    assert receipt["backends"][0]["name"] == backend
    assert receipt["result"]["text"].strip() == answer.strip()
    assert receipt["template"]["name"] == "jinja"  # SmolLM2 embeds its chat template
    assert receipt["timings"]["generated_tokens"] == len(receipt["tokens"]["out"]) > 0


def test_template_is_rendered_as_llama_cpp_pythons_jinja_formatter_renders_it(tmp_path):
    formatter_module = pytest.importorskip("llama_cpp.llama_chat_format")
    out = chat("--receipt-dir", tmp_path, "--max-tokens", "24", input="Hello there\nName a colour.\n")
    assert out.returncode == 0, out.stderr
    first, second = receipts(tmp_path)
    meta = lockstep.gguf.open(DEFAULT).metadata
    tokens = meta["tokenizer.ggml.tokens"]
    formatter = formatter_module.Jinja2ChatFormatter(
        template=meta["tokenizer.chat_template"], eos_token=tokens[meta["tokenizer.ggml.eos_token_id"]],
        bos_token=tokens[meta["tokenizer.ggml.bos_token_id"]], add_generation_prompt=True)
    for receipt in (first, second):
        history = receipt["result"]["messages"][:-1]  # the prompt of the turn: everything before its reply
        assert receipt["template"]["text"] == formatter(messages=history).prompt


def test_native_kv_cache_prefills_only_the_new_turn_and_save_is_crossval_input(tmp_path):
    from lockstep.text.templates import conversation, load_messages

    saved = tmp_path / "conversation.json"
    out = chat("--receipt-dir", tmp_path, "--max-tokens", "24",
               input=f"Hi!\nWhat is the capital of France?\n/metrics\n/save {saved}\n/exit\n")
    assert out.returncode == 0, out.stderr
    first, second = receipts(tmp_path)
    assert first["timings"]["prefilled_tokens"] == first["timings"]["prompt_tokens"]  # a fresh cache
    held = first["tokens"]["in"] + first["tokens"]["out"]
    common = next((i for i, (a, b) in enumerate(zip(held, second["tokens"]["in"])) if a != b), len(held))
    assert common >= len(first["tokens"]["in"])  # the whole first prompt was reused
    assert second["timings"]["prefilled_tokens"] == len(second["tokens"]["in"]) - common
    assert f"{second['timings']['prefilled_tokens']} prefilled" in out.stdout
    messages = conversation(messages=load_messages(saved))
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[3]["content"] == second["result"]["text"]
    # And the turn reproduces from its whole prompt in one prefill (greedy, native).
    path = next(tmp_path.glob("chat-*.json"))
    verified = subprocess.run([sys.executable, "-m", "lockstep", "receipt", "verify", str(path)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": lockstep_path()}, timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "REPRODUCED" in verified.stdout


class Tmux:
    """A private tmux server (its own socket) running one command in a 200x50 window."""

    def __init__(self, binary: str, command: list[str], env: dict[str, str]):
        self.binary, self.socket = binary, f"lockstep-test-{os.getpid()}"
        exports = [f"{k}={v}" for k, v in env.items()]
        # The shell prints the program's exit status on the screen: tmux's own pane_dead_status
        # stays empty when the program closes the terminal before it exits (tmux 3.3a). Its
        # trap keeps Ctrl-C from ending the shell itself (a trapped signal is reset to the
        # default in the program it starts, so the program still gets Ctrl-C).
        self.run("new-session", "-d", "-s", "chat", "-x", "200", "-y", "50", "sh", "-c",
                 'trap true INT; "$@"; echo "[exit status $?]"; sleep 600', "sh", "env", *exports, *command)

    def run(self, *args: str) -> str:
        return subprocess.run([self.binary, "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", "chat", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-S", "-200", "-t", "chat")

    def wait_for(self, condition, what: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen:\n{self.screen()}")

    def exit_status(self) -> str | None:
        """The program's exit status once it has ended, None while it runs."""
        found = re.search(r"\[exit status (\d+)\]", self.screen())
        return found.group(1) if found else None

    def close(self) -> None:
        subprocess.run([self.binary, "-L", self.socket, "kill-server"], capture_output=True)


def test_terminal_session_with_clear_ctrl_c_and_ctrl_d():
    binary = shutil.which("tmux")
    if binary is None:
        pytest.skip("tmux is not installed (Debian: apt-get install tmux; .ci/run installs it)")
    command = [sys.executable, "-m", "lockstep", "chat", "--model", str(DEFAULT), "--max-tokens", "1000", "--threads", "2"]
    tmux = Tmux(binary, command, {"PYTHONPATH": lockstep_path(), "TERM": "xterm"})
    try:
        tmux.wait_for(lambda s: "/help for commands" in s and s.rstrip().endswith(">"), "the banner and prompt")
        tmux.send("What is 2+2?", "Enter")
        screen = tmux.wait_for(lambda s: s.count("\n> ") >= 1 and s.rstrip().endswith(">") and "2+2" in s,
                               "the first answer and a new prompt")
        assert "4" in screen.split("What is 2+2?", 1)[1]
        tmux.send("/clear", "Enter")
        tmux.wait_for(lambda s: "[conversation cleared]" in s, "/clear")
        tmux.send("Tell me a very long story about a dragon who learns to read, chapter by chapter.", "Enter")
        tmux.wait_for(lambda s: len(s.split("chapter by chapter.", 1)[-1].strip()) > 80, "the story to start")
        tmux.send("C-c")
        tmux.wait_for(lambda s: "[reply stopped]" in s and s.rstrip().endswith(">"), "Ctrl-C to stop the reply")
        tmux.send("/metrics", "Enter")
        screen = tmux.wait_for(lambda s: "stop: interrupted" in s, "/metrics after the interrupted reply")
        assert "session: 2 turns" in screen
        assert tmux.exit_status() is None  # Ctrl-C stopped the reply, not the program
        tmux.send("C-d")
        # A loaded machine takes a while to tear the engines down.
        screen = tmux.wait_for(lambda s: "[exit status" in s, "the program to end after Ctrl-D", timeout=120)
        assert tmux.exit_status() == "0", screen
    finally:
        tmux.close()
