"""lockstep.inspect(path): what a model file or folder is, and which backends can run it.

Only headers are read (GGUF metadata and tensor infos, safetensors headers, zip directories,
config and tokenizer JSON), so a multi-GB model inspects in milliseconds; nothing is
unpickled and no weights are loaded.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from lockstep.errors import BackendUnavailable, RouteError
from lockstep.inspection.detect import describe
from lockstep.inspection.model_info import SCHEMA_VERSION, ModelInfo, TensorTypeStat, TokenizerInfo
from lockstep.routing.route import Route, route

__all__ = ["SCHEMA_VERSION", "ModelInfo", "TensorTypeStat", "TokenizerInfo", "inspect", "route_to"]


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


def route_to(path: str | os.PathLike[str], backend: str) -> Route:
    """The route by which `backend` runs the model at `path`: what load() and crossval() take,
    so that they give the answer inspect() gives.

    Raises RouteError when that backend cannot run this model (the message says why and what
    to convert it to), BackendUnavailable when it could but is not ready here (with the install
    command), FormatError for a malformed file, FileNotFoundError for a missing one.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file or folder")
    info = describe(path)
    if info.format == "unknown":
        raise RouteError(f"{path}: not a model lockstep recognises ({info.format_detail})")
    chosen = route(info, prefer=backend, fallback=False)[0]
    if not chosen.preflight.ok:
        raise BackendUnavailable(backend, chosen.preflight.message, chosen.preflight.install_command)
    return chosen
