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


# What each test file needs and whether it is slow (pyproject.toml declares the markers):
# `pytest -m "not slow"` is the quick loop, `-m "not llamacpp"` runs without llama-cpp-python.
# One table here rather than a marker line in every file; a file not listed needs neither.
FILE_MARKERS = {
    "test_bench.py": ("llamacpp", "hf"),
    "test_bitnet_triangulation.py": ("llamacpp", "hf", "slow"),
    "test_concurrency.py": ("slow",),
    "test_convert.py": ("llamacpp", "hf", "slow"),
    "test_crossval.py": ("llamacpp", "hf", "slow"),
    "test_crossval_native.py": ("llamacpp", "hf", "slow"),
    "test_crossval_smollm2.py": ("llamacpp", "hf", "slow"),
    "test_crossval_truth.py": ("llamacpp", "hf", "slow"),
    "test_engine.py": ("hf",),
    "test_engine_archs.py": ("llamacpp", "hf", "slow"),
    "test_engine_gguf.py": ("llamacpp", "hf", "slow"),
    "test_engine_smollm2.py": ("llamacpp", "slow"),
    "test_faults.py": ("hf", "slow"),
    "test_fuzz_targets.py": ("slow",),
    "test_generate.py": ("llamacpp", "hf", "slow"),
    "test_inspect.py": ("hf",),
    "test_limits.py": ("slow",),
    "test_native_backend.py": ("llamacpp", "hf"),
    "test_native_tokenize.py": ("llamacpp", "hf"),
    "test_quant_ggml.py": ("llamacpp",),
    "test_route.py": ("llamacpp", "hf"),
    "test_safetensors.py": ("hf",),
    "test_templates.py": ("hf",),
    "test_tokenizer_llamacpp.py": ("llamacpp", "slow"),
    "test_tokenizer_parity.py": ("slow",),
}


def pytest_collection_modifyitems(items):
    for item in items:
        for name in FILE_MARKERS.get(item.path.name, ()):
            item.add_marker(getattr(pytest.mark, name))
