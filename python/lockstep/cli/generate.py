"""`lockstep generate --model PATH --prompt TEXT`: text from the native engine, streamed."""

from __future__ import annotations

import argparse
import sys
import time

from lockstep.cli.registry import command
from lockstep.errors import ExitCode, UsageError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="GGUF file or Hugging Face model folder")
    parser.add_argument("--prompt", required=True, help="the text to continue (no chat template is applied)")
    parser.add_argument("--max-tokens", type=int, default=64, help="most tokens to produce (default 64)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 (default) is greedy; above 0 samples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler (default 0)")
    parser.add_argument("--threads", type=int, default=None, help="threads of the engine (default: all cores)")
    parser.add_argument("--no-bos", action="store_true", help="do not let the tokenizer add its BOS token")
    parser.add_argument("--inject-fault", metavar="NAME", help="run with a named fault (see crossval --list-faults)")


@command("generate", _configure)
def run(args: argparse.Namespace) -> int:
    """Generate text with the native engine, printing it as it is produced."""
    from lockstep.backends.faults import check_fault
    from lockstep.backends.generate import generate_ids
    from lockstep.backends.loading import load
    from lockstep.backends.native import NativeModel
    from lockstep.text.utf8_stream import Utf8Stream

    if args.max_tokens < 0 or args.temperature < 0:
        raise UsageError("--max-tokens and --temperature must not be negative")
    try:
        check_fault(args.inject_fault)
    except ValueError as error:  # an unknown fault
        raise UsageError(str(error)) from error
    model = load(args.model, "native", n_threads=args.threads, inject_fault=args.inject_fault)
    assert isinstance(model, NativeModel)  # what load gives for "native"

    prompt_ids = model.tokenize(args.prompt, add_special=not args.no_bos, parse_special=True)
    stream, produced, start = Utf8Stream(), 0, time.perf_counter()
    for token in generate_ids(model, prompt_ids, args.max_tokens, args.temperature, args.seed, stop_ids=model.eos_ids):
        sys.stdout.write(stream.feed(model.token_piece(token)))
        sys.stdout.flush()
        produced += 1
    sys.stdout.write(stream.flush() + "\n")
    elapsed = time.perf_counter() - start
    print(f"[{len(prompt_ids)} prompt tokens, {produced} generated in {elapsed:.2f} s]", file=sys.stderr)
    return ExitCode.OK
