"""Fixtures shared by several test files: the tiny model zoo and its GGUF conversions, built
once per session into the session's temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """zoo(name) -> the Hugging Face folder of tiny zoo model `name` (lockstep.zoo.synthetic.TINY)."""
    from lockstep.zoo import synthetic

    root = tmp_path_factory.mktemp("zoo")
    return lambda name: synthetic.tiny_model(name, root / name)


@pytest.fixture(scope="session")
def converted(zoo, tmp_path_factory):
    """converted(name, out_type) -> that zoo model written by lockstep convert as GGUF `out_type`."""
    from lockstep.conversion.convert import convert

    root = tmp_path_factory.mktemp("gguf")
    done: dict[tuple[str, str], Path] = {}

    def get(name: str, out_type: str) -> Path:
        if (name, out_type) not in done:
            path = root / f"{name}-{out_type}.gguf"
            convert(zoo(name), path, out_type)
            done[name, out_type] = path
        return done[name, out_type]

    return get
