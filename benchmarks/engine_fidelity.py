"""How closely the native engine follows llama.cpp, and transformers, on the real default model.

SmolLM2-135M-Instruct (Q4_1 GGUF): the same token ids go through the native engine, llama.cpp
(llama-cpp-python, the same file) and transformers (the same GGUF dequantized to float32, eager
attention). Per position: KL(reference || native), top-1 agreement; over all positions of all
prompts: mean KL, 99th percentile, top-1 agreement. Then greedy continuations of
"The capital of France is" on native and llama.cpp: how many of the first 32 tokens agree.

    python benchmarks/engine_fidelity.py [--no-hf] [--threads N] [--json]

The table goes to stderr, the JSON (with --json) to stdout. The test suite asserts the
llama.cpp gate from `measure_against_llamacpp` (tests/test_engine_smollm2.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

import numpy as np

import lockstep

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
    "Once upon a time, in a land far away, there lived",
    "1, 2, 3, 4, 5, 6, 7,",
    "<|im_start|>user\nWhat is the boiling point of water?<|im_end|>\n<|im_start|>assistant\n",
    "The quick brown fox jumps over the lazy dog.",
    "In 1492, Columbus sailed",
    "Photosynthesis is the process by which plants",
    "SELECT name, age FROM users WHERE",
    "Les feuilles d'automne tombent doucement sur",
    "The derivative of x^2 with respect to x is",
    "import numpy as np\nx = np.linspace(0, 1, 100)\ny =",
    "Dear Sir or Madam,\nI am writing to",
    "To be, or not to be, that is the question:",
    "The mitochondria is the powerhouse of the",
    "Q: What is 12 times 12?\nA:",
    "Climate change refers to long-term shifts in temperatures and",
    "function add(a, b) {\n  return",
    "My favourite recipe for pancakes needs flour, eggs, and",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nName three primary colours.<|im_end|>\n<|im_start|>assistant\n",
    "The theory of relativity, developed by Albert Einstein, states that",
    "Water boils at 100 degrees Celsius at sea level, but",
]
GREEDY_PROMPT = "The capital of France is"
GREEDY_TOKENS = 32

Logits = Callable[[Sequence[int]], np.ndarray]


def llamacpp_model(path: str, n_threads: int):
    import llama_cpp

    return llama_cpp.Llama(model_path=path, n_ctx=1024, logits_all=True, n_threads=n_threads, verbose=False)


def llamacpp_logits(llm) -> Logits:
    def run(ids: Sequence[int]) -> np.ndarray:
        llm.reset()
        llm.eval(list(ids))
        return np.array(llm.scores[: len(ids)], dtype=np.float32)

    return run


def hf_logits(path: str) -> Logits:
    from pathlib import Path

    import torch
    import transformers

    file = Path(path)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        file.parent, gguf_file=file.name, dtype=torch.float32, attn_implementation="eager").eval()

    def run(ids: Sequence[int]) -> np.ndarray:
        with torch.no_grad():
            return model(torch.tensor([list(ids)])).logits[0].numpy()

    return run


def tokenize_all(llm) -> list[list[int]]:
    # llama.cpp's tokenizer for every engine: the comparison is about logits, not tokenization.
    return [llm.tokenize(p.encode(), add_bos=False, special=True) for p in PROMPTS]


def compare(reference: Logits, native: lockstep.NativeModel, prompts: list[list[int]]) -> dict[str, float]:
    results = [lockstep.compare_logits(reference(ids), native.logits(ids)) for ids in prompts]
    kl = np.concatenate([r.kl for r in results])
    agree = np.concatenate([r.top1_agree for r in results])
    return {"prompts": len(prompts), "positions": int(len(kl)), "mean_kl": float(kl.mean()),
            "p99_kl": float(np.percentile(kl, 99)), "max_kl": float(kl.max()), "top1_agreement": float(agree.mean())}


def greedy(step: Callable[[list[int]], np.ndarray], prompt: list[int], n: int) -> list[int]:
    """step(new_ids) -> logits of the last new position, after appending new_ids."""
    out, logits = [], step(prompt)
    for _ in range(n):
        token = int(np.argmax(logits))
        out.append(token)
        logits = step([token])
    return out


def greedy_agreement(llm, native: lockstep.NativeModel) -> dict[str, object]:
    prompt = llm.tokenize(GREEDY_PROMPT.encode(), add_bos=False)
    llm.reset()

    def llama_step(ids: list[int]) -> np.ndarray:
        llm.eval(ids)
        return np.array(llm.scores[llm.n_tokens - 1])

    native.reset()
    theirs = greedy(llama_step, prompt, GREEDY_TOKENS)
    ours = greedy(lambda ids: native.eval(ids, last_only=True)[0], prompt, GREEDY_TOKENS)
    same = next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), GREEDY_TOKENS)
    return {"tokens": GREEDY_TOKENS, "agreeing_prefix": same, "llama.cpp": llm.detokenize(theirs).decode(errors="replace"),
            "native": llm.detokenize(ours).decode(errors="replace")}


def measure_against_llamacpp(path: str, n_threads: int = 2) -> dict[str, object]:
    llm = llamacpp_model(path, n_threads)
    native = lockstep.NativeModel(path, n_threads=n_threads)
    return {"llama.cpp": compare(llamacpp_logits(llm), native, tokenize_all(llm)),
            "greedy": greedy_agreement(llm, native)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-hf", action="store_true", help="skip the transformers comparison (slow to load)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = parser.parse_args()
    path = str(lockstep.default_model_path())
    results: dict[str, object] = {"model": path, **measure_against_llamacpp(path, args.threads)}
    if not args.no_hf:
        llm = llamacpp_model(path, args.threads)
        results["transformers (GGUF dequantized)"] = compare(hf_logits(path), lockstep.NativeModel(path), tokenize_all(llm))
    print(f"{'reference':34} {'positions':>9} {'mean KL':>9} {'p99 KL':>9} {'max KL':>9} {'top-1':>7}", file=sys.stderr)
    for name, r in results.items():
        if isinstance(r, dict) and "mean_kl" in r:
            print(f"{name:34} {r['positions']:>9} {r['mean_kl']:>9.2e} {r['p99_kl']:>9.2e} {r['max_kl']:>9.2e} "
                  f"{r['top1_agreement']:>7.4f}", file=sys.stderr)
    g = results["greedy"]
    print(f"greedy {GREEDY_PROMPT!r}: {g['agreeing_prefix']}/{g['tokens']} tokens agree", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
