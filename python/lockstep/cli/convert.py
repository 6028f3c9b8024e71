"""`lockstep convert HF_DIR OUT.gguf --type TYPE`: a Hugging Face model folder to GGUF."""

from __future__ import annotations

import argparse
import sys

from lockstep.cli.registry import command
from lockstep.errors import ExitCode


def _configure(parser: argparse.ArgumentParser) -> None:
    from lockstep.conversion.tensor_types import OUTPUT_TYPES

    parser.add_argument("hf_dir", metavar="HF_DIR", help="Hugging Face model folder (config.json, safetensors, tokenizer.json)")
    parser.add_argument("out", metavar="OUT.gguf", help="the GGUF file to write")
    parser.add_argument("--type", dest="out_type", default="f16", type=str.lower, choices=list(OUTPUT_TYPES),
                        help="tensor type of the weights (default f16); tq1_0, tq2_0 and i2_s are for BitNet b1.58")
    parser.add_argument("--pre", default=None,
                        help="tokenizer.ggml.pre to write, overriding detection from tokenizer.json")
    parser.add_argument("--gguf-arch", default=None, metavar="NAME",
                        help="general.architecture to write instead of the default: 'bitnet' writes a "
                             "squared-ReLU BitNet under llama.cpp's name (default bitnet-b1.58), as "
                             "llama.cpp's own converter does")


@command("convert", _configure)
def run(args: argparse.Namespace) -> int:
    """Convert a Hugging Face model folder to a GGUF file that llama.cpp loads."""
    from lockstep.conversion.convert import convert
    def show(done: int, total: int, record) -> None:
        print(f"\r[{done}/{total}] {record.name:<40} {record.ggml_type:<6}", end="", file=sys.stderr, flush=True)

    report = convert(args.hf_dir, args.out, args.out_type, pre=args.pre, gguf_arch=args.gguf_arch,
                     progress=show if sys.stderr.isatty() else None)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    counts = ", ".join(f"{count} {name}" for name, count in sorted(report.type_counts().items()))
    print(f"wrote {report.output} ({report.architecture}, {len(report.tensors)} tensors: {counts})", file=sys.stderr)
    for record in report.fallbacks:
        print(f"  {record.name}: {record.ggml_type} instead of {args.out_type.upper()}: {record.fallback}", file=sys.stderr)
    return ExitCode.OK
