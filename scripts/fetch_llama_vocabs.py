"""Extract llama.cpp's tokenizer test vocabularies (models/ggml-vocab-*.gguf with their
.inp/.out cases) from the llama-cpp-python source distribution into a cache folder.

    python scripts/fetch_llama_vocabs.py [DEST]

DEST defaults to $LOCKSTEP_VOCAB_DIR or ~/.cache/lockstep/llama-vocabs. The tests read the
same location. Nothing is fetched when the folder is already complete.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"
MEMBER_PREFIX = "vendor/llama.cpp/models/ggml-vocab-"


def default_dir() -> Path:
    return Path(os.environ.get("LOCKSTEP_VOCAB_DIR", Path.home() / ".cache" / "lockstep" / "llama-vocabs"))


def main() -> int:
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else default_dir()
    marker = dest / ".complete"
    if marker.exists():
        print(f"llama.cpp vocabularies already in {dest}")
        return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # --no-build-isolation: pip only reads the sdist's metadata, with the build backend
        # already installed, instead of building cmake from source for an isolated env.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             "--no-build-isolation", "--quiet", LLAMA_CPP_PYTHON, "-d", tmp],
            check=True,
        )
        (sdist,) = Path(tmp).glob("llama_cpp_python-*.tar.gz")
        count = 0
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                _, _, inner = member.name.partition("/")
                if not inner.startswith(MEMBER_PREFIX) or not member.isfile():
                    continue
                name = Path(inner).name
                source = tar.extractfile(member)
                assert source is not None
                (dest / name).write_bytes(source.read())
                count += 1
    marker.write_text(LLAMA_CPP_PYTHON + "\n")
    print(f"extracted {count} files from {LLAMA_CPP_PYTHON} into {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
