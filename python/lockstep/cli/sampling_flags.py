"""The sampling flags of generate and chat (lockstep.backends.sampling.SamplingSettings)."""

from __future__ import annotations

import argparse

from lockstep.errors import UsageError


def add_sampling_flags(parser: argparse.ArgumentParser, max_tokens: int) -> None:
    group = parser.add_argument_group("sampling (penalties -> top-k -> top-p -> min-p -> temperature -> draw)")
    group.add_argument("--temperature", type=float, default=0.0, help="0 (default) is greedy; above 0 samples")
    group.add_argument("--top-k", type=int, default=0, help="keep the K most likely tokens (0, default: off)")
    group.add_argument("--top-p", type=float, default=1.0, help="keep the smallest set reaching probability P (1: off)")
    group.add_argument("--min-p", type=float, default=0.0, help="keep tokens at least P times the likeliest (0: off)")
    group.add_argument("--repeat-penalty", type=float, default=1.0, help="divide seen tokens' logits by this (1: off)")
    group.add_argument("--presence-penalty", type=float, default=0.0, help="subtract from seen tokens' logits")
    group.add_argument("--frequency-penalty", type=float, default=0.0, help="subtract per occurrence")
    group.add_argument("--penalty-last-n", type=int, default=64, help="tokens the penalties look back on (-1: all)")
    group.add_argument("--seed", type=int, default=0, help="seed of the sampler (default 0)")
    group.add_argument("--max-tokens", type=int, default=max_tokens, help=f"most tokens to produce (default {max_tokens})")
    group.add_argument("--stop", action="append", default=[], metavar="TEXT", help="end the reply at TEXT (repeatable)")


def sampling_from_args(args: argparse.Namespace):
    """SamplingSettings from the flags; a value out of range is a usage error (exit 64)."""
    from lockstep.backends.sampling import SamplingSettings

    try:
        return SamplingSettings(
            temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, min_p=args.min_p,
            repeat_penalty=args.repeat_penalty, presence_penalty=args.presence_penalty,
            frequency_penalty=args.frequency_penalty, penalty_last_n=args.penalty_last_n, seed=args.seed,
            max_tokens=args.max_tokens, stop=tuple(args.stop),
        )
    except (ValueError, OverflowError, TypeError) as error:
        raise UsageError(str(error)) from error
