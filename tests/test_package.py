"""The package imports, knows its types, and finds the default model."""

import gguf
import pytest

import lockstep


def test_type_table_matches_gguf_package():
    # Our C++ type table against the gguf package's own sizes (an independent source).
    for gtype, (block_size, block_bytes) in gguf.GGML_QUANT_SIZES.items():
        if gtype.name in {"NVFP4", "Q1_0"}:
            continue  # newer than the types lockstep reads
        info = lockstep.ggml_type(gtype.name)
        assert (info.id, info.block_size, info.block_bytes) == (gtype.value, block_size, block_bytes)


@pytest.mark.parametrize("spelling", ["q4_1", "Q4_1", 3])
def test_type_lookup_by_name_or_id(spelling):
    assert lockstep.ggml_type(spelling).name == "Q4_1"


def test_unknown_type_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown ggml type 'Q9_9'"):
        lockstep.ggml_type("Q9_9")


def test_default_model_is_installed():
    path = lockstep.default_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"
