"""`lockstep crossval`: run one model on several backends and compare them token by token."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lockstep.cli import command
from lockstep.exit_codes import ExitCode


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="GGUF file or Hugging Face model folder")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help="a single user prompt")
    source.add_argument("--messages", metavar="FILE.json", help='a conversation: [{"role": ..., "content": ...}, ...]')
    parser.add_argument("--backend", default="both",
                        help="native | llama.cpp | hf | both (native + llama.cpp) | all (+ hf) | a comma-separated list")
    parser.add_argument("--prompt-template", default="auto",
                        choices=["auto", "raw", "instruct", "llama3-chat", "chatml", "jinja"])
    parser.add_argument("--chat-template", metavar="FILE", help="a Jinja chat template to render instead of the model's")
    parser.add_argument("--system-prompt")
    parser.add_argument("--steps", type=int, default=0, help="also decode N tokens greedily (teacher-forced and free)")
    parser.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                        help="override a divergence threshold (min_cosine, max_nmse, max_kl, top1_margin)")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--out", metavar="FILE", help="also write the JSON report here")
    parser.add_argument("--inject-fault", metavar="NAME", help="inject a named fault into the native backend")
    parser.add_argument("--list-faults", action="store_true", help="list the injectable faults and exit")


@command("crossval", _configure)
def run(args: argparse.Namespace) -> int:
    """Compare backends on one model, token by token."""
    from lockstep import FormatError
    from lockstep.backends import BackendUnavailable
    from lockstep.cli import UsageError
    from lockstep.crossval import crossval
    from lockstep.report_text import print_report
    from lockstep.templates import TemplateError, load_messages

    if args.list_faults:
        from lockstep.faults import list_faults

        for name, description in list_faults():
            print(f"{name}\t{description}")
        return ExitCode.OK
    try:
        thresholds = _parse_thresholds(args.threshold)
    except UsageError as error:
        print(f"lockstep crossval: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    backends = args.backend if args.backend in ("both", "all") else [b.strip() for b in args.backend.split(",")]
    if isinstance(backends, list) and len(backends) < 2:
        print("lockstep crossval: error: --backend needs two or more backends (or both / all)", file=sys.stderr)
        return ExitCode.USAGE
    try:
        messages = load_messages(args.messages) if args.messages else None
        report = crossval(
            Path(args.model), args.prompt, messages=messages, system_prompt=args.system_prompt, backends=backends,
            template=args.prompt_template, chat_template=args.chat_template, steps=args.steps,
            thresholds=thresholds, top_k=args.top_k, n_threads=args.threads, inject_fault=args.inject_fault,
        )
    except BackendUnavailable as error:
        print(f"lockstep crossval: {error}", file=sys.stderr)
        return ExitCode.BACKEND_UNAVAILABLE
    except TemplateError as error:
        print(f"lockstep crossval: {error}", file=sys.stderr)
        return ExitCode.TEMPLATE_ERROR
    except (FormatError, FileNotFoundError, IsADirectoryError) as error:
        print(f"lockstep crossval: bad model file: {error}", file=sys.stderr)
        return ExitCode.BAD_MODEL_FILE
    if args.out:
        Path(args.out).write_text(report.to_json() + "\n", encoding="utf-8")
    if args.format == "json":
        print(report.to_json())
    print_report(report, file=sys.stderr)
    return report.exit_code


def _parse_thresholds(items: list[str]) -> dict[str, float]:
    from lockstep.cli import UsageError
    from lockstep.crossval import default_thresholds

    known = default_thresholds()
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in known or not value:
            raise UsageError(f"--threshold takes NAME=VALUE with NAME one of {', '.join(known)}; got {item!r}")
        try:
            out[name] = float(value)
        except ValueError:
            raise UsageError(f"--threshold {name}: {value!r} is not a number") from None
    return out
