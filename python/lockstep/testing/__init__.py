"""Parity suites: assertion helpers for logits, tokens and crossval reports (importable without
pytest), logit baselines, and the pytest plugin (lockstep.testing.plugin, registered through
the ``pytest11`` entry point; README "Parity suites").

- :func:`assert_logits_close`: two ``[positions, vocab]`` arrays within a band's thresholds.
- :func:`assert_tokens_equal`: two id sequences, with the token gate's likely cause.
- :func:`assert_crossval_passes`: a crossval report's verdict as an assertion.
"""

from lockstep.testing.crossval_asserts import assert_crossval_passes
from lockstep.testing.logits import assert_logits_close
from lockstep.testing.tokens import assert_tokens_equal

__all__ = ["assert_crossval_passes", "assert_logits_close", "assert_tokens_equal"]
