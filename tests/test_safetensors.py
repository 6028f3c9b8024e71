"""lockstep.safetensors against the references: files written by the safetensors package
(and torch, for the dtypes numpy lacks) are read back and compared with safetensors' own
loader; a sharded tiny Llama written by transformers is compared with the model itself and
with safetensors' loader. Malformed files and indexes must raise lockstep.FormatError with
the file, the byte offset and the reason, and the reference must reject them too."""

from __future__ import annotations

import gc
import json
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import safetensors  # the PyPI package, the reference
import safetensors.numpy
import safetensors.torch
import torch

import lockstep
from lockstep.formats import safetensors as ls_safetensors

# ---------------------------------------------------------------------------------------
# Well-formed files: every tensor as the reference reads it


SHAPES = [(), (0,), (3, 0, 2), (5,), (2, 3, 4), (1, 1, 1, 1, 7)]
NUMPY_DTYPES = [np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64,
                np.float16, np.float32, np.float64, np.complex64]


def random_array(rng: np.random.Generator, dtype, shape) -> np.ndarray:
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * np.dtype(dtype).itemsize, dtype=np.uint8)
    array = raw.view(dtype).reshape(shape)
    if np.dtype(dtype) == np.bool_:
        array = raw.astype(np.bool_).reshape(shape)  # numpy bools must be 0 or 1
    return array


@pytest.fixture(scope="module")
def numpy_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    tensors = {
        f"{np.dtype(dtype).name}.{'x'.join(map(str, shape)) or 'scalar'}": random_array(rng, dtype, shape)
        for dtype in NUMPY_DTYPES
        for shape in SHAPES
    }
    path = tmp_path_factory.mktemp("numpy") / "many.safetensors"
    safetensors.numpy.save_file(tensors, str(path), metadata={"format": "np", "note": "ünïcode ✓"})
    return path


def test_every_numpy_dtype_and_shape_matches_the_reference(numpy_file):
    expected = safetensors.numpy.load_file(str(numpy_file))
    ckpt = ls_safetensors.open(numpy_file)
    assert sorted(ckpt.keys()) == sorted(expected)
    for name, reference in expected.items():
        ours = ckpt[name]
        assert ours.dtype == reference.dtype, name
        assert ours.shape == reference.shape, name
        assert ours.tobytes() == reference.tobytes(), name


def test_metadata_matches_the_reference(numpy_file):
    with safetensors.safe_open(str(numpy_file), "np") as reference:
        assert ls_safetensors.open(numpy_file).metadata == reference.metadata()


def test_tensor_infos_describe_the_bytes_in_the_file(numpy_file):
    ckpt = ls_safetensors.open(numpy_file)
    raw = numpy_file.read_bytes()
    reference = safetensors.numpy.load_file(str(numpy_file))
    for name, info in ckpt.tensor_infos.items():
        assert info.name == name
        assert info.file == str(numpy_file)
        assert info.shape == reference[name].shape
        assert info.nbytes == reference[name].nbytes
        assert raw[info.offset:info.offset + info.nbytes] == reference[name].tobytes()


TORCH_DTYPES = {
    "BF16": torch.bfloat16,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
    "F8_E4M3FNUZ": torch.float8_e4m3fnuz,
    "F8_E5M2FNUZ": torch.float8_e5m2fnuz,
    "F8_E8M0": torch.float8_e8m0fnu,
}


@pytest.fixture(scope="module")
def torch_file(tmp_path_factory) -> Path:
    # Random bit patterns cover every code of the 8-bit types, NaNs included.
    gen = torch.Generator().manual_seed(0)
    tensors = {}
    for name, dtype in TORCH_DTYPES.items():
        for shape in SHAPES:
            itemsize = torch.tensor([], dtype=dtype).element_size()
            raw = torch.randint(0, 256, (int(np.prod(shape)) * itemsize,), dtype=torch.uint8, generator=gen)
            tensors[f"{name}.{'x'.join(map(str, shape)) or 'scalar'}"] = raw.view(dtype).reshape(shape)
    packed = torch.randint(0, 256, (3, 4), dtype=torch.uint8, generator=gen)
    tensors["F4.3x8"] = packed.view(torch.float4_e2m1fn_x2)
    path = tmp_path_factory.mktemp("torch") / "torch.safetensors"
    safetensors.torch.save_file(tensors, str(path))
    return path


def test_torch_only_dtypes_match_the_reference(torch_file):
    expected = safetensors.torch.load_file(str(torch_file))
    ckpt = ls_safetensors.open(torch_file)
    assert sorted(ckpt.keys()) == sorted(expected)
    for name, reference in expected.items():
        ours = ckpt[name]
        info = ckpt.tensor_infos[name]
        reference_bytes = reference.reshape(-1).view(torch.uint8).numpy().tobytes()
        assert ours.tobytes() == reference_bytes, name
        if info.dtype == "F4":
            # Two elements a byte: the raw bytes, flat, with the logical shape in the info.
            assert ours.dtype == np.uint8 and ours.shape == (info.nbytes,)
            assert info.shape == (3, 8)
            continue
        assert ours.shape == tuple(reference.shape), name
        # Same numeric type, not only the same bytes: ml_dtypes and torch agree on values.
        np.testing.assert_array_equal(ours.astype(np.float32), reference.float().numpy(), err_msg=name)


def test_views_are_zero_copy_and_read_only(numpy_file):
    ckpt = ls_safetensors.open(numpy_file)
    names = [n for n, info in ckpt.tensor_infos.items() if info.nbytes > 0]
    first, second = ckpt[names[0]], ckpt[names[1]]
    # Two views sit in memory exactly as their data sits in the file: one mapping, no copies.
    distance = ckpt.tensor_infos[names[1]].offset - ckpt.tensor_infos[names[0]].offset
    assert second.ctypes.data - first.ctypes.data == distance
    assert ckpt[names[0]].ctypes.data == first.ctypes.data
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first.flags.writeable = True
    with pytest.raises(ValueError):
        first.reshape(-1)[0] = 0


def test_views_keep_the_mapping_alive(tmp_path):
    path = tmp_path / "alive.safetensors"
    expected = np.arange(1000, dtype=np.float32).reshape(10, 100)
    safetensors.numpy.save_file({"w": expected}, str(path))
    view = ls_safetensors.open(path)["w"]
    gc.collect()  # the checkpoint object is gone
    os.remove(path)  # and so is the file's name; the mapping holds the data
    assert view.base is not None
    np.testing.assert_array_equal(view, expected)


def test_missing_tensor_is_a_key_error(numpy_file):
    ckpt = ls_safetensors.open(numpy_file)
    assert "nope" not in ckpt
    with pytest.raises(KeyError):
        ckpt["nope"]


def test_edge_cases_the_reference_accepts(tmp_path):
    # Whitespace around the JSON, a null __metadata__, extra entry fields, several empty
    # tensors at one offset, an empty file: all valid for the reference, so for us.
    data = np.array([1.5, -2.0], dtype=np.float32).tobytes()
    header = (b' \n{"__metadata__": null, "e1": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},'
              b' "e2": {"dtype": "I8", "shape": [2, 0], "data_offsets": [0, 0], "extra": [1, {}]},'
              b' "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}  \n  ')
    path = write_raw(tmp_path / "edges.safetensors", header, data)
    reference = safetensors.numpy.load_file(str(path))
    ckpt = ls_safetensors.open(path)
    assert sorted(ckpt.keys()) == sorted(reference) == ["e1", "e2", "w"]
    for name in reference:
        assert ckpt[name].shape == reference[name].shape
        np.testing.assert_array_equal(ckpt[name], reference[name])
    assert ckpt.metadata == {}

    empty = write_raw(tmp_path / "empty.safetensors", b"{}      ")
    assert safetensors.numpy.load_file(str(empty)) == {}
    assert len(ls_safetensors.open(empty)) == 0


# ---------------------------------------------------------------------------------------
# A sharded checkpoint written by transformers


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=256, max_position_embeddings=128, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    folder = tmp_path_factory.mktemp("tiny_llama")
    model.save_pretrained(folder, max_shard_size="40KB")
    state = {name: t.detach().numpy() for name, t in model.state_dict().items()}
    return folder, state


def test_sharded_llama_matches_the_model_and_the_reference(tiny_llama):
    folder, state = tiny_llama
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 2, "the fixture must really be sharded"

    ckpt = ls_safetensors.open(folder)
    assert sorted(ckpt.files) == sorted(str(folder / s) for s in shards)
    assert sorted(ckpt.keys()) == sorted(state) == sorted(index["weight_map"])
    reference = {}
    for shard in shards:
        reference.update(safetensors.numpy.load_file(str(folder / shard)))
    for name, expected in state.items():
        assert ckpt.tensor_infos[name].file == str(folder / index["weight_map"][name])
        np.testing.assert_array_equal(ckpt[name], expected, err_msg=name)
        assert ckpt[name].tobytes() == reference[name].tobytes(), name
    assert ckpt.metadata["total_size"] == str(index["metadata"]["total_size"])


def test_folder_index_and_single_shard_open_the_same_tensors(tiny_llama):
    folder, _ = tiny_llama
    by_folder = ls_safetensors.open(folder)
    by_index = ls_safetensors.open(folder / "model.safetensors.index.json")
    assert by_index.keys() == by_folder.keys()
    shard = folder / json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]["lm_head.weight"]
    single = ls_safetensors.open(shard)
    with safetensors.safe_open(str(shard), "np") as reference:
        assert sorted(single.keys()) == sorted(reference.keys())
    np.testing.assert_array_equal(single["lm_head.weight"], by_folder["lm_head.weight"])


def test_unsharded_folder(tmp_path, numpy_file):
    (tmp_path / "model.safetensors").write_bytes(numpy_file.read_bytes())
    (tmp_path / "config.json").write_text("{}")
    assert sorted(ls_safetensors.open(tmp_path).keys()) == sorted(safetensors.numpy.load_file(str(numpy_file)))


# ---------------------------------------------------------------------------------------
# Malformed files


def write_raw(path: Path, header: bytes, data: bytes = b"", length: int | None = None) -> Path:
    path.write_bytes(struct.pack("<Q", len(header) if length is None else length) + header + data)
    return path


def entry(dtype, shape, begin, end) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def js(obj) -> bytes:
    return json.dumps(obj).encode()


def at_key(name: str):
    """The expected offset: the entry's key in the header."""
    return lambda header, data: 8 + header.index(json.dumps(name).encode())


def at(offset: int):
    return lambda header, data: offset


F32x1 = entry("F32", [1], 0, 4)

# (id, header, data, length field or None, reason pattern, expected offset)
MALFORMED = [
    ("length_past_file", js({"w": F32x1}), b"\0" * 4, 1000, r"header length 1000 runs past the end of the file", at(0)),
    ("length_over_limit", js({"w": F32x1}), b"\0" * 4, 100_000_001, r"exceeds the format's limit of 100000000", at(0)),
    ("length_at_limit_past_file", js({}), b"", 100_000_000, r"runs past the end of the file", at(0)),
    ("empty_header", b"", b"", None, r"invalid JSON", at(8)),
    ("invalid_json", b'{"w": x}', b"", None, r"invalid JSON", at(8 + 6)),
    ("unterminated_json", b'{"w": {"dtype": "F32"', b"", None, r"invalid JSON", lambda h, d: 8 + len(h)),
    ("nul_after_json", b"{}\0", b"", None, r"characters after the JSON value", at(8 + 2)),
    ("invalid_utf8", b'{"\xff": 1}', b"", None, r"invalid JSON", at(8 + 2)),
    ("deep_nesting", b'{"__metadata__": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"", None,
     r"invalid JSON", None),
    ("array_root", b"[1, 2]", b"", None, r"the header is not a JSON object", at(8)),
    ("string_root", b'"w"', b"", None, r"the header is not a JSON object", at(8)),
    ("entry_not_object", js({"w": 5}), b"", None, r"tensor 'w': entry is not a JSON object", at_key("w")),
    ("dtype_unknown", js({"w": entry("F7", [1], 0, 4)}), b"\0" * 4, None,
     r"tensor 'w': field 'dtype': unknown dtype 'F7'", at_key("w")),
    ("dtype_not_string", js({"w": entry(32, [1], 0, 4)}), b"\0" * 4, None,
     r"tensor 'w': field 'dtype': not a string", at_key("w")),
    ("dtype_missing", js({"w": {"shape": [1], "data_offsets": [0, 4]}}), b"\0" * 4, None,
     r"tensor 'w': field 'dtype' is missing", at_key("w")),
    ("shape_negative", js({"w": entry("F32", [-1], 0, 4)}), b"\0" * 4, None,
     r"tensor 'w': field 'shape': value 0 is -1, not a non-negative integer", at_key("w")),
    ("shape_fraction", js({"w": entry("F32", [1.0], 0, 4)}), b"\0" * 4, None,
     r"tensor 'w': field 'shape': value 0 is 1E0, not a non-negative integer", at_key("w")),
    ("shape_not_array", js({"w": entry("F32", 1, 0, 4)}), b"\0" * 4, None,
     r"tensor 'w': field 'shape': not a JSON array", at_key("w")),
    ("offsets_three", js({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}), b"\0" * 4, None,
     r"tensor 'w': field 'data_offsets': has 3 values, not 2", at_key("w")),
    ("offsets_too_big", b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551616]}}',
     b"\0" * 4, None, r"tensor 'w': field 'data_offsets': value 1 is 1.8446744073709552E19", at_key("w")),
    ("element_count_overflow", js({"w": entry("F32", [2**62, 8], 0, 8)}), b"\0" * 8, None,
     r"tensor 'w': field 'shape': \[4611686018427387904, 8\] has more elements than 64 bits can count", at_key("w")),
    ("byte_count_overflow", js({"w": entry("F64", [2**62], 0, 8)}), b"\0" * 8, None,
     r"tensor 'w': field 'shape': \[4611686018427387904\] of F64 is too large", at_key("w")),
    ("subbyte_partial_byte", js({"w": entry("F4", [3], 0, 2)}), b"\0" * 2, None,
     r"tensor 'w': field 'shape': 3 elements of 4-bit F4 do not fill whole bytes", at_key("w")),
    ("shape_times_dtype_not_bytes", js({"w": entry("F32", [2], 0, 4)}), b"\0" * 4, None,
     r"tensor 'w': field 'data_offsets': \[0, 4\] holds 4 bytes, but shape \[2\] of F32 needs 8", at_key("w")),
    ("begin_after_end", js({"w": entry("F32", [0], 4, 0)}), b"\0" * 4, None,
     r"tensor 'w': field 'data_offsets': begin 4 is after end 0", at_key("w")),
    ("offsets_outside", js({"w": entry("F32", [2], 0, 8)}), b"\0" * 4, None,
     r"tensor 'w': field 'data_offsets': end 8 is past the end of the data section \(4 bytes\)", at_key("w")),
    ("overlapping", js({"w": entry("F32", [2], 0, 8), "v": entry("F32", [1], 4, 8)}), b"\0" * 8, None,
     r"tensor 'v': field 'data_offsets': begins at 4, overlapping tensor 'w'", at_key("v")),
    ("hole_between", js({"w": F32x1, "v": entry("F32", [1], 8, 12)}), b"\0" * 12, None,
     r"tensor 'v': .* leaving a hole of 4 bytes after tensor 'w'", at_key("v")),
    ("hole_at_start", js({"w": entry("F32", [1], 4, 8)}), b"\0" * 8, None,
     r"tensor 'w': .* hole of 4 bytes after the start of the data section", at_key("w")),
    ("trailing_bytes", js({"w": F32x1}), b"\0" * 8, None,
     r"4 bytes at the end of the data section belong to no tensor", lambda h, d: 8 + len(h) + 4),
    ("metadata_not_object", js({"__metadata__": 5}), b"", None,
     r"field '__metadata__': not a JSON object", at_key("__metadata__")),
    ("metadata_value_not_string", js({"__metadata__": {"k": 1}}), b"", None,
     r"field '__metadata__': value of 'k' is not a string", lambda h, d: 8 + h.index(b'"k"')),
    ("duplicate_field", b'{"w": {"dtype": "F32", "dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}',
     b"\0" * 4, None, r'duplicate key "dtype"', lambda h, d: 8 + h.rindex(b'"dtype"')),
]


def reference_rejects(path: Path) -> bool:
    try:
        with safetensors.safe_open(str(path), "np") as f:
            for name in f.keys():
                f.get_slice(name)
    except (safetensors.SafetensorError, ValueError):
        return True
    return False


@pytest.mark.parametrize("header, data, length, reason, offset",
                         [pytest.param(*case[1:], id=case[0]) for case in MALFORMED])
def test_malformed_file(tmp_path, header, data, length, reason, offset):
    path = write_raw(tmp_path / "bad.safetensors", header, data, length)
    assert reference_rejects(path), "the reference accepts this file: the case is not malformed"
    with pytest.raises(lockstep.FormatError) as info:
        ls_safetensors.open(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.path == str(path)
    assert re.search(reason, error.reason), error.reason
    if offset is not None:
        assert error.offset == offset(header, data), str(error)
    else:
        assert 8 <= error.offset <= 8 + len(header)


def test_duplicate_tensor_names_are_rejected(tmp_path):
    # The format forbids them; the reference keeps one silently, lockstep refuses.
    header = b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}'
    path = write_raw(tmp_path / "dup.safetensors", header, b"\0" * 4)
    with pytest.raises(lockstep.FormatError, match=r'duplicate key "w"') as info:
        ls_safetensors.open(path)
    assert info.value.offset == 8 + header.rindex(b'"w"')


def test_every_truncation_is_rejected(tmp_path, numpy_file):
    full = (tmp_path / "full.safetensors")
    safetensors.numpy.save_file({"a": np.arange(3, dtype=np.int16), "b": np.ones((2, 2), np.float32)}, str(full))
    raw = full.read_bytes()
    cut = tmp_path / "cut.safetensors"
    for size in range(len(raw)):
        cut.write_bytes(raw[:size])
        assert reference_rejects(cut), size
        with pytest.raises(lockstep.FormatError) as info:
            ls_safetensors.open(cut)
        assert info.value.path == str(cut)
        assert info.value.offset is not None and 0 <= info.value.offset <= size, (size, str(info.value))


def test_agrees_with_the_reference_on_mutated_headers(tmp_path):
    # Random byte changes in the length field and the header: lockstep accepts exactly what
    # the reference accepts (and then reads the same tensors), except duplicate keys.
    original = tmp_path / "original.safetensors"
    safetensors.numpy.save_file({"ab": np.arange(3, dtype=np.int16), "cd": np.ones((2, 2), np.float32),
                                 "e": np.zeros((0,), np.uint8)}, str(original), metadata={"m": "v"})
    raw = original.read_bytes()
    header_end = 8 + struct.unpack("<Q", raw[:8])[0]
    rng = np.random.default_rng(0)
    mutated = tmp_path / "mutated.safetensors"
    accepted = 0
    for _ in range(500):
        candidate = bytearray(raw)
        for pos in rng.integers(0, header_end, size=rng.integers(1, 4)):
            candidate[pos] = rng.choice([rng.integers(0, 256), ord(rng.choice(list('0123456789[]{}",:- eE.')))])
        mutated.write_bytes(candidate)
        try:
            ours = ls_safetensors.open(mutated)
        except lockstep.FormatError as error:
            assert error.path == str(mutated)
            assert reference_rejects(mutated) or "duplicate key" in error.reason, bytes(candidate[:header_end])
            continue
        assert not reference_rejects(mutated), bytes(candidate[:header_end])
        expected = safetensors.numpy.load_file(str(mutated))
        assert sorted(ours.keys()) == sorted(expected)
        for name, reference in expected.items():
            assert ours[name].dtype == reference.dtype and ours[name].shape == reference.shape
            assert ours[name].tobytes() == reference.tobytes()
        accepted += 1
    assert accepted > 0


def test_unreadable_paths(tmp_path):
    with pytest.raises(lockstep.FormatError, match="cannot open") as info:
        ls_safetensors.open(tmp_path / "missing.safetensors")
    assert info.value.offset is None
    with pytest.raises(lockstep.FormatError, match="no safetensors checkpoint in the folder"):
        ls_safetensors.open(tmp_path)


# ---------------------------------------------------------------------------------------
# Malformed sharded checkpoints


@pytest.fixture
def shards(tmp_path) -> Path:
    """A two-shard checkpoint: a.safetensors holds x and y, b.safetensors holds z."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    safetensors.numpy.save_file({"x": np.zeros(2, np.float32), "y": np.ones(3, np.int8)}, str(folder / "a.safetensors"))
    safetensors.numpy.save_file({"z": np.full(4, 7, np.int64)}, str(folder / "b.safetensors"))
    return folder


def write_index(folder: Path, weight_map, metadata=None) -> Path:
    path = folder / "model.safetensors.index.json"
    path.write_text(json.dumps({"metadata": metadata or {"total_size": 46}, "weight_map": weight_map}, indent=2))
    return path


GOOD_MAP = {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}


def test_hand_written_index(shards):
    write_index(shards, GOOD_MAP, {"total_size": 46, "format": "pt"})
    ckpt = ls_safetensors.open(shards)
    assert ckpt.metadata == {"total_size": "46", "format": "pt"}
    assert ckpt.files == [str(shards / "a.safetensors"), str(shards / "b.safetensors")]
    np.testing.assert_array_equal(ckpt["z"], np.full(4, 7, np.int64))


def expect_index_error(index: Path, reason: str, key: str | None):
    with pytest.raises(lockstep.FormatError) as info:
        ls_safetensors.open(index)
    error = info.value
    assert error.path == str(index)
    assert re.search(reason, error.reason), error.reason
    if key is not None:  # the error points at the weight_map entry of that tensor
        text = index.read_bytes()
        assert error.offset == text.index(json.dumps(key).encode(), text.index(b'"weight_map"')), str(error)


def test_index_naming_a_missing_shard(shards):
    index = write_index(shards, {**GOOD_MAP, "z": "c.safetensors"})
    expect_index_error(index, r"tensor 'z' is mapped to shard 'c.safetensors', which is not a file", "z")


def test_index_naming_a_tensor_missing_from_its_shard(shards):
    index = write_index(shards, {**GOOD_MAP, "y": "b.safetensors"})
    expect_index_error(index, r"tensor 'y' is mapped to shard 'b.safetensors', which does not contain it", "y")


@pytest.mark.parametrize("shard, problem", [
    ("../outside.safetensors", "contains a path separator"),
    ("sub/a.safetensors", "contains a path separator"),
    ("sub\\a.safetensors", "contains a path separator"),
    ("ABSOLUTE", "contains a path separator"),
    ("..", "is not a file name"),
    (".", "is not a file name"),
    ("", "is empty"),
    ("a.safetensors\u0000", "contains a NUL character"),
])
def test_index_shard_names_must_be_plain_file_names(shards, shard, problem):
    # The targets exist, so only the name rule can refuse them.
    safetensors.numpy.save_file({"z": np.zeros(1, np.float32)}, str(shards.parent / "outside.safetensors"))
    (shards / "sub").mkdir()
    safetensors.numpy.save_file({"z": np.zeros(1, np.float32)}, str(shards / "sub" / "a.safetensors"))
    if shard == "ABSOLUTE":
        shard = str(shards / "b.safetensors")
    index = write_index(shards, {**GOOD_MAP, "z": shard})
    expect_index_error(index, re.escape(problem), "z")


def test_index_with_a_tensor_in_two_shards(shards):
    safetensors.numpy.save_file({"z": np.zeros(4, np.int64), "x": np.zeros(2, np.float32)},
                                str(shards / "c.safetensors"))
    index = write_index(shards, {"x": "a.safetensors", "y": "a.safetensors", "z": "c.safetensors"})
    expect_index_error(index, r"tensor 'x' is in two shards: .*a\.safetensors and .*c\.safetensors", "x")


@pytest.mark.parametrize("text, reason", [
    ('{"weight_map": {"x": "a.safetensors"', r"invalid JSON"),
    ('[]', r"the index is not a JSON object"),
    ('{"metadata": {}}', r"field 'weight_map' is missing"),
    ('{"weight_map": ["a.safetensors"]}', r"field 'weight_map': not a JSON object"),
    ('{"weight_map": {"x": 1}}', r"the shard of tensor 'x' is not a string"),
    ('{"weight_map": {"x": "a.safetensors", "x": "b.safetensors"}}', r'duplicate key "x"'),
    ('{"metadata": 5, "weight_map": {}}', r"field 'metadata': not a JSON object"),
])
def test_malformed_index(shards, text, reason):
    index = shards / "model.safetensors.index.json"
    index.write_text(text)
    expect_index_error(index, reason, None)


def test_malformed_shard_names_the_shard(shards):
    raw = (shards / "b.safetensors").read_bytes()
    (shards / "b.safetensors").write_bytes(raw[:-1])
    write_index(shards, GOOD_MAP)
    with pytest.raises(lockstep.FormatError) as info:
        ls_safetensors.open(shards)
    assert info.value.path == str(shards / "b.safetensors")


def test_folder_with_several_checkpoints_is_ambiguous(shards):
    with pytest.raises(lockstep.FormatError, match=r"several safetensors checkpoints in the folder \(a.safetensors, b.safetensors\)|several safetensors checkpoints in the folder \(b.safetensors, a.safetensors\)"):
        ls_safetensors.open(shards)
