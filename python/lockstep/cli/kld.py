"""`lockstep kld`: two backends' divergence over a text corpus, with llama-perplexity's statistics."""

from __future__ import annotations

import argparse
import json
import sys

from lockstep.cli.registry import command


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="GGUF file or Hugging Face model folder")
    parser.add_argument("--backend", default="both",
                        help="both (llama.cpp as the reference, native) or two comma-separated backends, reference first; "
                             "NAME=PATH runs that backend on another file (e.g. a quantization against its F16)")
    parser.add_argument("--corpus", required=True, metavar="FILE.txt", help="the text to score")
    parser.add_argument("--ctx", type=int, default=512, help="tokens per window (the second half of each is scored)")
    parser.add_argument("--chunks", type=int, default=None, help="score at most this many windows")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-localize", dest="localize", action="store_false",
                        help="do not compare the worst window layer by layer across the backends")
    parser.add_argument("--format", choices=["text", "json"], default="text")


@command("kld", _configure)
def run(args: argparse.Namespace) -> int:
    """Divergence of two backends over a corpus (llama-perplexity --kl-divergence's statistics)."""
    from pathlib import Path

    from lockstep.dispatch.corpus import corpus_divergence
    from lockstep.dispatch.corpus_text import print_divergence

    result = corpus_divergence(Path(args.model), Path(args.corpus), backends=args.backend, ctx=args.ctx,
                               n_threads=args.threads, max_windows=args.chunks, localize=args.localize)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
    print_divergence(result, file=sys.stderr)
    return 0
