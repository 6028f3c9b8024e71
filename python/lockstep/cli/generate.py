"""`lockstep generate --model PATH --prompt TEXT [--backend B]`: text from any backend, streamed."""

from __future__ import annotations

import argparse
import sys
import time

from lockstep.cli.registry import command
from lockstep.cli.sampling_flags import add_sampling_flags, sampling_from_args
from lockstep.errors import ExitCode, UsageError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="GGUF file or Hugging Face model folder")
    parser.add_argument("--prompt", required=True, help="the text to continue (no chat template is applied)")
    parser.add_argument("--backend", default="native", choices=["native", "llama.cpp", "hf"])
    add_sampling_flags(parser, max_tokens=64)
    parser.add_argument("--threads", type=int, default=None, help="threads of the engine (default: all cores)")
    parser.add_argument("--no-bos", action="store_true", help="do not let the tokenizer add its BOS token")
    parser.add_argument("--inject-fault", metavar="NAME", help="run with a named fault (see crossval --list-faults)")
    parser.add_argument("--receipt-dir", metavar="DIR", help="write a receipt of the run into DIR (docs/receipt-json.md)")


@command("generate", _configure)
def run(args: argparse.Namespace) -> int:
    """Generate text with any backend, printing it as it is produced."""
    from lockstep.backends.faults import check_fault
    from lockstep.backends.generate import GenerationRecord, stream_text
    from lockstep.backends.loading import load

    settings = sampling_from_args(args)
    if args.inject_fault and args.backend != "native":
        raise UsageError("--inject-fault works on the native backend only")
    try:
        check_fault(args.inject_fault)
    except ValueError as error:  # an unknown fault
        raise UsageError(str(error)) from error
    options = {"inject_fault": args.inject_fault} if args.inject_fault else {}
    model = load(args.model, args.backend, n_threads=args.threads, **options)

    start = time.perf_counter()
    prompt_ids = model.tokenize(args.prompt, add_special=not args.no_bos, parse_special=True)
    tokenize_ms = (time.perf_counter() - start) * 1000
    record, shown = GenerationRecord(), []
    for text in stream_text(model, prompt_ids, settings, stop_ids=model.eos_ids, record=record):
        shown.append(text)
        sys.stdout.write(text)
        sys.stdout.flush()
    sys.stdout.write("\n")
    print(f"[{len(prompt_ids)} prompt tokens, {len(record.tokens)} generated; prefill {record.prefill_ms:.1f} ms, "
          f"{record.tokens_per_second:.1f} tokens/s; stop: {record.stop_reason}]", file=sys.stderr)
    if args.receipt_dir:
        from lockstep.dispatch.receipt import generation_receipt, write_receipt

        receipt = generation_receipt(
            "generate", argv=sys.argv, flags=_flags(args), model_path=args.model, model=model, settings=settings,
            prompt_ids=prompt_ids, record=record, tokenize_ms=tokenize_ms, stop_ids=model.eos_ids,
            result={"text": "".join(shown), "add_special": not args.no_bos, "prompt": args.prompt},
        )
        print(f"receipt: {write_receipt(args.receipt_dir, receipt)}", file=sys.stderr)
    return ExitCode.OK


def _flags(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k != "run"}
