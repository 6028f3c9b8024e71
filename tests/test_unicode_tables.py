"""The committed Unicode tables are exactly what scripts/gen_unicode_tables.py makes from
Python's unicodedata (when this Python has the same Unicode version)."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "src" / "tokenizer" / "unicode_tables.cpp"


def test_tables_are_the_script_output():
    committed = TABLES.read_text(encoding="utf-8")
    version = re.search(r"\(Unicode ([0-9.]+)\)", committed).group(1)
    if version != unicodedata.unidata_version:
        pytest.skip(f"tables follow Unicode {version}, this Python has {unicodedata.unidata_version}")
    generated = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_unicode_tables.py")],
                               capture_output=True, text=True, check=True).stdout
    assert generated == committed
