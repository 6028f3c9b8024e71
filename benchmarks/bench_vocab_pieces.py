"""The hf backend's token pieces on a 262,144-token vocabulary with 6,144 added tokens:
the per-id lookups through transformers' added-token views (what token_piece did) against the
one-pass table (lockstep.backends.hf.token_pieces). The per-id path is timed on a sample of
ids and extrapolated to the whole vocabulary; runs interleave, medians are reported.

    python benchmarks/bench_vocab_pieces.py [--sample 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

from lockstep.backends.hf import token_pieces
from lockstep.zoo.synthetic import LARGE_VOCAB_SIZE, save_large_tokenizer


def per_id(tokenizer, ids) -> None:
    # The lookups the per-id token_piece made for every id.
    for token_id in ids:
        token = tokenizer.convert_ids_to_tokens(token_id)
        _ = token in tokenizer.all_special_tokens or token_id in tokenizer.added_tokens_decoder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as folder:
        tokenizer = AutoTokenizer.from_pretrained(save_large_tokenizer(folder))
    sample = list(range(0, LARGE_VOCAB_SIZE, LARGE_VOCAB_SIZE // args.sample))[: args.sample]
    old, new = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        per_id(tokenizer, sample)
        old.append((time.perf_counter() - start) / len(sample) * LARGE_VOCAB_SIZE)
        start = time.perf_counter()
        token_pieces(tokenizer, LARGE_VOCAB_SIZE)
        new.append(time.perf_counter() - start)
    result = {"vocabulary": LARGE_VOCAB_SIZE, "added_tokens": len(tokenizer.added_tokens_decoder),
              "per_id_lookups_s": statistics.median(old), "table_s": statistics.median(new)}
    result["ratio"] = result["per_id_lookups_s"] / result["table_s"]
    print(f"{'method':<32}{'seconds for every id':>22}")
    print(f"{'per-id added-token lookups':<32}{result['per_id_lookups_s']:>22.2f}  (extrapolated from {len(sample)} ids)")
    print(f"{'one-pass table (token_pieces)':<32}{result['table_s']:>22.2f}")
    print(f"ratio {result['ratio']:.0f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
