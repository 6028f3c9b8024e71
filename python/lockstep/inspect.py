"""lockstep.inspect(path): what a model file or folder is, and which backends can run it.

Only headers are read (GGUF metadata and tensor infos, safetensors headers, zip directories,
config and tokenizer JSON), so a multi-GB model inspects in milliseconds; nothing is
unpickled and no weights are loaded.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from lockstep.inspection.detect import describe
from lockstep.inspection.model_info import SCHEMA_VERSION, ModelInfo, TensorTypeStat, TokenizerInfo
from lockstep.route import RouteError, route

__all__ = ["SCHEMA_VERSION", "ModelInfo", "TensorTypeStat", "TokenizerInfo", "inspect"]


def inspect(path: str | os.PathLike[str]) -> ModelInfo:
    """Describe the model at `path` (file or folder), decided by content, with its routes.

    Raises lockstep.FormatError when a recognised format is malformed, OSError when the path
    cannot be read. An unrecognised file is not an error: format "unknown" explains what it is.
    """
    info = describe(Path(path))
    try:
        return dataclasses.replace(info, routes=tuple(route(info)))
    except RouteError as error:
        return dataclasses.replace(info, route_error=str(error))
