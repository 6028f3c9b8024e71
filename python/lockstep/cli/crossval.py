"""`lockstep crossval`: run one model on several backends and compare them token by token."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lockstep.cli.registry import command
from lockstep.errors import ExitCode, UsageError


def _configure(parser: argparse.ArgumentParser) -> None:
    # --model and a prompt are required unless --list-faults; checked in run() (exit 64).
    parser.add_argument("--model", help="GGUF file or Hugging Face model folder")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--prompt", help="a single user prompt")
    source.add_argument("--messages", metavar="FILE.json", help='a conversation: [{"role": ..., "content": ...}, ...]')
    parser.add_argument("--backend", default="both",
                        help="native | llama.cpp | hf | both (native + llama.cpp) | all (+ hf) | a comma-separated "
                             "list, reference first; NAME=PATH runs a backend on another model file "
                             "(e.g. llama.cpp,llama.cpp=requantized.gguf)")
    parser.add_argument("--prompt-template", default="auto",
                        choices=["auto", "raw", "instruct", "llama3-chat", "chatml", "jinja"])
    parser.add_argument("--chat-template", metavar="FILE", help="a Jinja chat template to render instead of the model's")
    parser.add_argument("--system-prompt")
    parser.add_argument("--steps", type=int, default=8,
                        help="also decode N tokens greedily, teacher-forced (re-anchored on the reference's tokens) "
                             "and free-running; the steps enter the verdict (default 8; 0: the prompt only)")
    parser.add_argument("--no-noise-floor", action="store_true",
                        help="judge cross-precision pairs by the fixed band instead of a noise floor measured on "
                             "this model and prompt (--threshold implies it)")
    parser.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                        help="override a divergence threshold (min_cosine, max_nmse, max_kl, top1_margin) in both "
                             "bands, or in one as BAND.NAME (BAND: same-arithmetic, cross-precision)")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--out", metavar="FILE", help="also write the JSON report here")
    parser.add_argument("--inject-fault", metavar="NAME", help="inject a named fault into the native backend")
    parser.add_argument("--list-faults", action="store_true", help="list the injectable faults and exit")
    parser.add_argument("--receipt-dir", metavar="DIR", help="write a receipt of the run into DIR (docs/receipt-json.md)")


@command("crossval", _configure)
def run(args: argparse.Namespace) -> int:
    """Compare backends on one model, token by token."""
    from lockstep.dispatch.crossval import crossval
    from lockstep.dispatch.report_text import print_report
    from lockstep.dispatch.thresholds import resolve_thresholds
    from lockstep.text.templates import load_messages

    if args.list_faults:
        from lockstep.backends.faults import list_faults

        for name, description in list_faults():
            print(f"{name}\t{description}")
        return ExitCode.OK
    if args.model is None or (args.prompt is None and args.messages is None):
        raise UsageError("--model and one of --prompt / --messages are required")
    thresholds = _parse_thresholds(args.threshold)
    try:
        resolve_thresholds(thresholds)
        backends = _parse_backends(args.backend)
        if args.inject_fault:
            from lockstep.backends.faults import check_fault

            check_fault(args.inject_fault)  # ValueError naming the known faults
    except ValueError as error:
        raise UsageError(str(error)) from error
    if args.steps < 0 or args.top_k < 1:
        raise UsageError("--steps must be >= 0 and --top-k >= 1")
    messages = load_messages(args.messages) if args.messages else None
    start = time.perf_counter()
    report = crossval(
        Path(args.model), args.prompt, messages=messages, system_prompt=args.system_prompt, backends=backends,
        template=args.prompt_template, chat_template=args.chat_template, steps=args.steps,
        noise_floor=not args.no_noise_floor,
        thresholds=thresholds, top_k=args.top_k, n_threads=args.threads, inject_fault=args.inject_fault,
    )
    if args.receipt_dir:
        _write_receipt(args, report, backends, messages, thresholds, (time.perf_counter() - start) * 1000)
    if args.out:
        Path(args.out).write_text(report.to_json() + "\n", encoding="utf-8")
    if args.format == "json":
        print(report.to_json())
    print_report(report, file=sys.stderr)
    return report.exit_code


def _write_receipt(args, report, backends, messages, thresholds, total_ms: float) -> None:
    from lockstep.dispatch.receipt import backend_facts, build_receipt, write_receipt

    receipt = build_receipt(
        "crossval", argv=sys.argv, flags={k: v for k, v in vars(args).items() if k != "run"}, model=args.model,
        backends=[{**backend_facts(b["name"], b["version"]), "label": b["label"]} for b in report.backends],
        template={"name": report.prompt.template, "reason": report.prompt.reason, "text": report.prompt.text,
                  "add_bos": report.prompt.add_bos},
        tokens=report.tokens, timings={"total_ms": total_ms},
        result={"exit_code": report.exit_code, "passed": report.passed, "backend_specs": backends,
                "messages": messages, "thresholds_given": thresholds or None},
    )
    print(f"receipt: {write_receipt(args.receipt_dir, receipt)}", file=sys.stderr)


def _parse_thresholds(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if not name or not value:
            raise UsageError(f"--threshold takes NAME=VALUE (or BAND.NAME=VALUE); got {item!r}")
        try:
            out[name] = float(value)
        except ValueError:
            raise UsageError(f"--threshold {name}: {value!r} is not a number") from None
    return out


def _parse_backends(text: str) -> str | list[str]:
    from lockstep.dispatch.specs import BackendSpec
    if text in ("both", "all"):
        return text
    specs = [item.strip() for item in text.split(",")]
    if len(specs) < 2:
        raise UsageError("--backend needs two or more backends (or both / all)")
    from lockstep import _core

    for spec in specs:
        name = BackendSpec.parse(spec).name  # raises ValueError on an empty name or path
        if name not in _core.backend_names():
            raise UsageError(f"unknown backend {name!r}; known: {', '.join(_core.backend_names())}")
    return specs
