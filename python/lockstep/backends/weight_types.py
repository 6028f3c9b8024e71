"""What a GGUF file's matrices are stored as: decides whether a reference backend computes in
float32 (src/dispatch/thresholds.h, the precision classes)."""

from __future__ import annotations

import os


def float_weights_only(path: str | os.PathLike, types: tuple[str, ...] = ("F32", "F16", "BF16")) -> bool:
    """Whether every matrix (tensor of two or more dimensions) of a GGUF file is one of ``types``."""
    from lockstep.formats import gguf

    return all(t.ggml_type.name in types for t in gguf.open(path).tensor_infos if len(t.shape) >= 2)
