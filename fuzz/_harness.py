"""What every fuzz target shares: running it under atheris, scratch files, and the bundle
format of the targets whose input is several files (a sharded checkpoint, a model folder).

A target is `python fuzz/NAME.py [libFuzzer flags] [corpus folders]`; without a corpus folder
it reads its seeds from fuzz/corpus/NAME (scripts/fuzz.sh gives it a working folder first,
so new inputs never land among the committed seeds). Each target catches exactly the
exceptions its parser documents for bad input; anything else, a crash, a hang (-timeout) or
an allocation over -malloc_limit_mb (under scripts/sanitize.sh's runtime) is a finding.

Only lockstep's Python code is coverage-instrumented (atheris.instrument_imports): the C++
core is built by GCC, which cannot emit libFuzzer's coverage counters, so inside C++ the
search is guided by the seeds and by the outcome: each target passes a signature of what the
parser answered (the error's reason with numbers blanked, or the shape of what it read) to
`outcome`, whose instrumented comparison gives libFuzzer's value profile (-use_value_profile=1,
which scripts/fuzz.sh sets) a new feature for every new kind of answer (docs/fuzzing.md).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import atheris

CORPUS = Path(__file__).resolve().parent / "corpus"

_scratch: Path | None = None


def scratch() -> Path:
    """A private folder for the files a target writes (in memory when /dev/shm exists)."""
    global _scratch
    if _scratch is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        _scratch = Path(tempfile.mkdtemp(prefix="lockstep-fuzz-", dir=base))
    return _scratch


_DIGITS = re.compile(r"\d+")
_QUOTED = re.compile(r"'[^']*'")  # names and keys taken from the input


@atheris.instrument_func
def outcome(signature: str) -> None:
    """Feeds a signature of the parser's answer back to the fuzzer as coverage: the comparison
    below is traced with its operands, so each distinct signature is a distinct feature."""
    key = zlib.crc32(_QUOTED.sub("'", _DIGITS.sub("#", signature[:300])).encode())
    if key == 0x9E3779B9:  # never true in practice; the traced comparison is the point
        print("signature", signature)


def write_file(name: str, data: bytes) -> Path:
    path = scratch() / name
    path.write_bytes(data)
    return path


def fresh_folder(name: str = "folder") -> Path:
    folder = scratch() / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    return folder


# A bundle is a sequence of entries: name index (1 byte, into the target's NAMES, modulo its
# length), size (u32 little-endian, cut to what is left) and that many bytes.
def bundle(names: tuple[str, ...], files: dict[str, bytes]) -> bytes:
    out = bytearray()
    for name, data in files.items():
        out += bytes([names.index(name)]) + struct.pack("<I", len(data)) + data
    return bytes(out)


def unbundle(names: tuple[str, ...], data: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    at = 0
    while at + 5 <= len(data):
        name = names[data[at] % len(names)]
        size = struct.unpack_from("<I", data, at + 1)[0]
        files[name] = data[at + 5:at + 5 + size]
        at += 5 + size
    return files


def main(test_one_input, target: str) -> None:
    """Fuzz `test_one_input` with libFuzzer's command line; the seeds by default."""
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(str(CORPUS / target))
    atheris.Setup(args, test_one_input)
    try:
        atheris.Fuzz()
    finally:
        if _scratch is not None:
            shutil.rmtree(_scratch, ignore_errors=True)
