"""Regenerate python/lockstep/_core.pyi, the type stub of the compiled module, from the built
module itself (pybind11-stubgen reads its signatures and docstrings). Run after changing a
binding; tests/test_package_structure.py fails while the stub and the module disagree.

    PYTHONPATH=python python scripts/gen_core_stub.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUB = ROOT / "python" / "lockstep" / "_core.pyi"


def main() -> int:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "pybind11_stubgen", "lockstep._core", "-o", out,
                        "--numpy-array-use-type-var", "--exit-code"], check=True)
        stub = (Path(out) / "lockstep" / "_core" / "__init__.pyi").read_text(encoding="utf-8")
    # _core.kernels (the compute kernels, bound one by one for the kernel tests) is a submodule,
    # which a one-file stub cannot hold: it is typed as a module, its members as Any.
    if "from . import kernels\n" not in stub:
        raise SystemExit("gen_core_stub: the stub no longer imports the kernels submodule; update this script")
    stub = stub.replace("from . import kernels\n", "import types\n", 1)
    stub += "kernels: types.ModuleType  # the compute kernels, for tests (src/bindings/register_kernels.cpp)\n"
    STUB.write_text(stub, encoding="utf-8")
    # The project's own lint settings decide the import order the generator leaves unsorted.
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "--quiet", str(STUB)], check=True)
    print(f"wrote {STUB.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
