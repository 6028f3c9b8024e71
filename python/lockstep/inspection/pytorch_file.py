"""PyTorch checkpoints (torch.save), recognised without unpickling anything.

Unpickling runs arbitrary code named by the file, so lockstep never does it: the zip form is
recognised from its directory (entries <name>/data.pkl, <name>/version, <name>/data/<key>),
the legacy form from the fixed bytes torch writes first. Tensor counts and types live inside
the pickle and are therefore reported as unknown; the zip directory still gives the bytes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lockstep.errors import format_error
from lockstep.inspection.model_info import ModelInfo

ZIP_MAGIC = b"PK\x03\x04"
# torch.save(..., _use_new_zipfile_serialization=False) starts with pickle protocol 2 (80 02)
# and the magic number 0x1950a86a20f9469cfc6c pickled as a 10-byte LONG1 (8a 0a ...), then STOP.
TORCH_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_HEADER = b"\x80\x02\x8a\x0a" + TORCH_MAGIC_NUMBER.to_bytes(10, "little") + b"."
# ...followed by the serialization protocol version 1001 as a pickled BININT2.
LEGACY_PROTOCOL_1001 = b"\x80\x02\x4d\xe9\x03."

_NEVER_UNPICKLED = "tensor names, types and counts are inside the pickle, which lockstep never unpickles"


def describe_pytorch(path: Path, head: bytes) -> ModelInfo | None:
    """A torch.save checkpoint (zip or legacy), or None when the file is neither."""
    if head.startswith(LEGACY_HEADER):
        protocol = " (serialization protocol 1001)" if head[len(LEGACY_HEADER) :].startswith(LEGACY_PROTOCOL_1001) else ""
        return ModelInfo(
            path=str(path),
            format="pytorch",
            format_detail=f"PyTorch legacy pickle checkpoint{protocol}; {_NEVER_UNPICKLED}",
            weights_format="pytorch-legacy",
            weight_files=(path.name,),
        )
    if head.startswith(ZIP_MAGIC):
        return _describe_zip(path)
    return None


def _describe_zip(path: Path) -> ModelInfo | None:
    try:
        with zipfile.ZipFile(path) as archive:  # reads the central directory only
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise format_error(path, None, f"starts like a zip archive but its directory is unreadable: {error}") from error
    names = {entry.filename for entry in entries}
    prefix = _torch_prefix(names)
    if prefix is None:
        return None
    storages = [entry for entry in entries if entry.filename.startswith(f"{prefix}/data/")]
    storage_bytes = sum(entry.file_size for entry in storages)
    if f"{prefix}/constants.pkl" in names:
        kind, what = "torchscript", "TorchScript archive (torch.jit.save)"
    else:
        kind, what = "pytorch-zip", "PyTorch zip checkpoint (torch.save)"
    return ModelInfo(
        path=str(path),
        format="pytorch",
        format_detail=f"{what} with {len(storages)} storage(s) of {storage_bytes} bytes in {prefix}/data/; {_NEVER_UNPICKLED}",
        weights_format=kind,
        weight_files=(path.name,),
        tensor_bytes=storage_bytes,
    )


def _torch_prefix(names: set[str]) -> str | None:
    """The archive folder torch wrote (<name>/data.pkl next to <name>/version), or None."""
    for name in sorted(names):
        folder, _, leaf = name.partition("/")
        if leaf == "data.pkl" and ({f"{folder}/version", f"{folder}/.data/version"} & names):
            return folder
    return None


def zip_entry_preview(path: Path, limit: int = 5) -> str:
    """The first entries of a zip archive, to explain what a non-PyTorch zip contains."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "an unreadable directory"
    shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
    return f"{len(names)} entries ({shown})"
