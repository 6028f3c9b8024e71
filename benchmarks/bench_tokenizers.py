"""Encode throughput (MB/s, one thread) of lockstep's tokenizers against the libraries that
own each vocabulary: Hugging Face tokenizers, tiktoken, sentencepiece and llama.cpp
(llama-cpp-python). Same documents for everyone, one call per document, runs interleaved,
median of the rounds. Every library's ids are checked equal to lockstep's first.
"lockstep cold" starts every round with an empty piece cache (a fresh tokenizer), so it does
not profit from having seen the same text in an earlier round.

    python benchmarks/bench_tokenizers.py [--size BYTES] [--rounds N] [--json PATH]

Prints a table to stderr and the results as JSON to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the corpus generator and reference builders

os.environ.setdefault("RAYON_NUM_THREADS", "1")       # Hugging Face tokenizers
os.environ.setdefault("OMP_NUM_THREADS", "1")

import lockstep  # noqa: E402
import tokenizer_references as refs  # noqa: E402
from tokenizer_corpus import corpus  # noqa: E402
from tokenizer_data import GPT2_PATTERN, llama_vocab_dir, package_file  # noqa: E402

Encoder = Callable[[str], list[int]]


def llama_cpp_encoder(path: Path) -> Encoder:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    return lambda text: llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)


def hf_encoder(tok) -> Encoder:
    tok.encode_special_tokens = True
    return lambda text: tok.encode(text, add_special_tokens=False).ids


def lockstep_encoder(path: Path) -> Encoder:
    tok = lockstep.Tokenizer.from_file(path)
    return lambda text: tok.encode(text)


COLD = "lockstep cold"


class ColdLockstep:
    """lockstep with an empty piece cache in every round: a fresh tokenizer (loaded before the
    clock starts), so repeated rounds over the same text do not profit from earlier ones."""

    def __init__(self, path: Path):
        self.path = path
        self.reset()

    def reset(self) -> None:
        self.tok = lockstep.Tokenizer.from_file(self.path)

    def __call__(self, text: str) -> list[int]:
        return self.tok.encode(text)


def vocabularies(tmp: Path) -> dict[str, dict[str, Encoder]]:
    out: dict[str, dict[str, Encoder]] = {}
    model = lockstep.default_model_path()
    out["SmolLM2 (GGUF, byte-level BPE)"] = {
        "lockstep": lockstep_encoder(model),
        COLD: ColdLockstep(model),
        "HF tokenizers": hf_encoder(refs.hf_smollm2(model)),
        "llama.cpp": llama_cpp_encoder(model),
    }
    for name, ranks, pattern, specials in [
        ("GPT-2 (tiktoken)", package_file("whisper", "assets/gpt2.tiktoken"), GPT2_PATTERN, {"<|endoftext|>": 50256}),
        ("Llama 3 (tiktoken)", package_file("llama_models", "llama3/tokenizer.model"), None, None),
    ]:
        if pattern is None:
            from llama_models.llama3.tokenizer import Tokenizer as Llama3Tokenizer

            pattern, specials = Llama3Tokenizer.pat_str, Llama3Tokenizer(ranks).special_tokens
        hf = refs.hf_from_tiktoken(ranks, pattern, specials)
        path = tmp / f"{name.split()[0]}.json"
        hf.save(str(path))
        encoding = refs.tiktoken_encoding(name, ranks, pattern, specials)
        out[name] = {
            "lockstep": lockstep_encoder(path),
            COLD: ColdLockstep(path),
            "tiktoken": encoding.encode_ordinary,
            "HF tokenizers": hf_encoder(hf),
        }
    import sentencepiece as spm

    model_v1 = package_file("mistral_common", "data/tokenizer.model.v1")
    spm_gguf = tmp / "mistral-v1.gguf"
    refs.gguf_from_sentencepiece(model_v1, spm_gguf)
    sp = spm.SentencePieceProcessor(model_file=str(model_v1))
    out["Mistral v1 (SentencePiece)"] = {
        "lockstep": lockstep_encoder(spm_gguf),
        COLD: ColdLockstep(spm_gguf),
        "sentencepiece": sp.encode,
        "llama.cpp": llama_cpp_encoder(spm_gguf),
    }
    vocab_dir = llama_vocab_dir()
    for name in ["llama-bpe", "qwen2", "gemma-4", "bert-bge", "nomic-bert-moe"]:
        path = vocab_dir / f"ggml-vocab-{name}.gguf"
        out[f"{name} (llama.cpp test vocab)"] = {
            "lockstep": lockstep_encoder(path), COLD: ColdLockstep(path), "llama.cpp": llama_cpp_encoder(path)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="corpus bytes (default 1 MB)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the JSON results here")
    args = ap.parse_args()

    docs = list(corpus(args.size))
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for vocab, encoders in vocabularies(Path(tmp)).items():
            reference = [encoders["lockstep"](d) for d in docs[:200]]
            agree = {lib: all(list(enc(d)) == list(r) for d, r in zip(docs[:200], reference)) for lib, enc in encoders.items()}
            times: dict[str, list[float]] = {lib: [] for lib in encoders}
            for _ in range(args.rounds):
                for lib, enc in encoders.items():  # interleaved: one pass of each per round
                    if isinstance(enc, ColdLockstep):
                        enc.reset()
                    start = time.perf_counter()
                    for d in docs:
                        enc(d)
                    times[lib].append(time.perf_counter() - start)
            row = {lib: nbytes / 1e6 / statistics.median(t) for lib, t in times.items()}
            results.append({"vocabulary": vocab, "bytes": nbytes, "rounds": args.rounds,
                            "mb_per_s": row, "same_ids_as_lockstep": agree})
            print(f"{vocab}: " + ", ".join(f"{lib} {v:.2f}" for lib, v in row.items()), file=sys.stderr, flush=True)

    libs = ["lockstep", COLD, "HF tokenizers", "tiktoken", "sentencepiece", "llama.cpp"]
    width = max(len(r["vocabulary"]) for r in results) + 2
    header = f"{'vocabulary':{width}}" + "".join(f"{lib:>15}" for lib in libs)
    lines = [f"encode MB/s, one thread, {nbytes / 1e6:.1f} MB in {len(docs)} documents, median of {args.rounds}", header]
    for r in results:
        cells = []
        for lib in libs:
            v = r["mb_per_s"].get(lib)
            mark = "" if v is None or r["same_ids_as_lockstep"].get(lib, True) else "*"
            cells.append(f"{(f'{v:.2f}' + mark) if v is not None else '-':>15}")
        lines.append(f"{r['vocabulary']:{width}}" + "".join(cells))
    lines.append("* ids differ from lockstep's on the first 200 documents (bert-bge: llama.cpp's own departures from\n"
                 "  Hugging Face, see tests/test_tokenizer_llamacpp.py; lockstep follows Hugging Face)")
    print("\n".join(lines), file=sys.stderr)
    text = json.dumps({"unit": "MB/s", "results": results}, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
