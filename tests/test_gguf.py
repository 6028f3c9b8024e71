"""lockstep.gguf against the gguf package: GGUFWriter writes the test files, GGUFReader is the
reference reader (and locates the fields the malformed-file tests corrupt). Also the real
default model. Every malformed file must raise lockstep.FormatError naming the path and the
byte offset, never crash."""

from __future__ import annotations

import gc
import os
import random
import resource
import struct
from pathlib import Path
from typing import Any

import gguf
import ml_dtypes
import numpy as np
import pytest

import lockstep
from lockstep.formats import gguf as ls_gguf

VT = gguf.GGUFValueType
QT = gguf.GGMLQuantizationType

SCALARS: dict[str, tuple[VT, Any]] = {
    "test.u8": (VT.UINT8, 200),
    "test.i8": (VT.INT8, -100),
    "test.u16": (VT.UINT16, 60000),
    "test.i16": (VT.INT16, -30000),
    "test.u32": (VT.UINT32, 4_000_000_000),
    "test.i32": (VT.INT32, -2_000_000_000),
    "test.u64": (VT.UINT64, 2**64 - 1),
    "test.i64": (VT.INT64, -(2**63)),
    "test.f32": (VT.FLOAT32, 0.1),
    "test.f64": (VT.FLOAT64, 0.1),
    "test.true": (VT.BOOL, True),
    "test.false": (VT.BOOL, False),
    "test.str": (VT.STRING, "héllo, wörld 🦙"),
    "test.empty_str": (VT.STRING, ""),
}
NUMBER_ARRAYS: dict[VT, list[Any]] = {
    VT.UINT8: [0, 1, 255],
    VT.INT8: [-128, 0, 127],
    VT.UINT16: [0, 65535],
    VT.INT16: [-32768, 32767],
    VT.UINT32: [0, 2**32 - 1],
    VT.INT32: [-(2**31), 2**31 - 1],
    VT.UINT64: [0, 2**64 - 1],
    VT.INT64: [-(2**63), 2**63 - 1],
    VT.FLOAT32: [0.5, -1.25, 3.0e38],
    VT.FLOAT64: [0.1, -1e300],
    VT.BOOL: [True, False, True],
}
GGUF_NUMPY = {t: np.dtype(d) for t, d in gguf.GGUFReader.gguf_scalar_to_np.items()}
STRINGS = ["a", "", "ünïcode", "🦙", "tab\tnewline\n", "nul\0inside"]
NESTED: dict[str, tuple[list[Any], str]] = {
    "test.nested.i32": ([[1, 2], [3, 4, 5]], "ARRAY[ARRAY[INT32]]"),
    "test.nested.str": ([["a", "b"], ["c"]], "ARRAY[ARRAY[STRING]]"),
    "test.nested.deep": ([[[1.5], [2.5, 3.5]], [[4.5]]], "ARRAY[ARRAY[ARRAY[FLOAT32]]]"),
    "test.nested.mixed": ([[1, 2], ["x"]], "ARRAY[ARRAY]"),  # inner arrays of different types
}
# Two keys and two tensor names of equal length, so that one can be overwritten with the other.
DUP_KEYS = ("test.dupA", "test.dupB")
DUP_TENSORS = ("dup.a", "dup.b")


def sample_kv() -> list[tuple[str, VT, Any, VT | None]]:
    kv = [(key, vtype, value, None) for key, (vtype, value) in SCALARS.items()]
    kv += [(f"test.arr.{t.name.lower()}", VT.ARRAY, values, t) for t, values in NUMBER_ARRAYS.items()]
    kv.append(("test.arr.string", VT.ARRAY, STRINGS, VT.STRING))
    kv += [(key, VT.ARRAY, value, None) for key, (value, _) in NESTED.items()]
    kv += [(key, VT.UINT32, 7, None) for key in DUP_KEYS]
    return kv


def sample_tensors() -> dict[str, tuple[np.ndarray, QT | None]]:
    rng = np.random.default_rng(0)
    normal = rng.standard_normal
    return {
        "t.f32": (normal((2, 3, 4, 5)).astype(np.float32), None),
        "t.f16": (normal(7).astype(np.float16), None),
        "t.bf16": (gguf.quants.quantize(normal((4, 8)).astype(np.float32), QT.BF16), QT.BF16),
        "t.f64": (normal((3, 3)), None),
        "t.i8": (rng.integers(-128, 128, 10, dtype=np.int8), None),
        "t.i16": (rng.integers(-(2**15), 2**15, (2, 5), dtype=np.int16), None),
        "t.i32": (rng.integers(-(2**31), 2**31, 4, dtype=np.int32), None),
        "t.i64": (rng.integers(-(2**63), 2**63, 3, dtype=np.int64), None),
        "t.q8_0": (gguf.quants.quantize(normal((4, 64)).astype(np.float32), QT.Q8_0), QT.Q8_0),
        "t.q4_1": (gguf.quants.quantize(normal((2, 3, 32)).astype(np.float32), QT.Q4_1), QT.Q4_1),
        "t.q6_k": (rng.integers(0, 256, (2, 210), dtype=np.uint8), QT.Q6_K),  # 2 rows of 256
        "t.tq2_0": (gguf.quants.quantize(normal((1, 256)).astype(np.float32), QT.TQ2_0), QT.TQ2_0),
        "t.scalar": (np.array(3.5, np.float32), None),  # n_dims 0
        DUP_TENSORS[0]: (np.ones(8, np.float32), None),
        DUP_TENSORS[1]: (np.zeros(8, np.float32), None),
    }


def write_gguf(path: Path, *, arch: str = "llama", kv=(), tensors=None, alignment: int | None = None) -> Path:
    writer = gguf.GGUFWriter(str(path), arch)
    if alignment is not None:
        writer.add_custom_alignment(alignment)
    for key, vtype, value, sub_type in kv:
        writer.add_key_value(key, value, vtype, sub_type=sub_type)
    for name, (array, raw_dtype) in (tensors or {}).items():
        writer.add_tensor(name, array, raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


class Layout:
    """Byte offsets of a file's fields, located by the gguf package's reader."""

    def __init__(self, path: Path) -> None:
        reader = gguf.GGUFReader(path)
        base = reader.data.ctypes.data

        def at(part: np.ndarray) -> int:
            return part.ctypes.data - base

        self.size = path.stat().st_size
        self.data_offset = reader.data_offset
        self.entry: dict[str, int] = {}  # key -> offset of the entry (its key length)
        self.type_field: dict[str, int] = {}  # key -> offset of the value type id
        self.value: dict[str, int] = {}  # key -> offset of the value (after the type id)
        self.string_lengths: list[int] = []  # every string length outside nested arrays
        self.array_counts: dict[str, int] = {}  # key -> offset of the count (flat arrays)
        self.string_data: dict[str, int] = {}  # key -> offset of a STRING value's bytes
        for key, field in reader.fields.items():
            if key.startswith("GGUF."):
                continue
            parts, types = field.parts, field.types
            self.entry[key] = at(parts[0])
            self.string_lengths.append(at(parts[0]))
            self.type_field[key] = at(parts[2])
            self.value[key] = at(parts[2]) + 4
            if types[0] == VT.STRING:
                self.string_lengths.append(at(parts[3]))
                self.string_data[key] = at(parts[4])
            elif types[0] == VT.ARRAY and len(types) > 1 and types[1] != VT.ARRAY:
                self.array_counts[key] = at(parts[4])
                if types[1] == VT.STRING:
                    self.string_lengths += [at(p) for p in parts[5::2]]
        self.tensor: dict[str, dict[str, int]] = {}
        self.tensor_end = 0  # end of the last tensor's bytes (padding may follow)
        for t in reader.tensors:
            name_len, _, n_dims, dims, type_, offset = t.field.parts
            self.string_lengths.append(at(name_len))
            self.tensor[t.name] = {"info": at(name_len), "n_dims": at(n_dims), "dims": at(dims),
                                   "type": at(type_), "offset": at(offset), "data": t.data_offset}
            self.tensor_end = max(self.tensor_end, t.data_offset + int(t.n_bytes))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return write_gguf(tmp_path_factory.mktemp("gguf") / "sample.gguf", kv=sample_kv(), tensors=sample_tensors())


@pytest.fixture(scope="module")
def layout(sample) -> Layout:
    return Layout(sample)


def plain(value: Any) -> Any:
    """numpy arrays to lists, recursively, for comparing nested values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def reader_type_name(types: list[VT]) -> str:
    names = [t.name for t in types]
    return "".join(f"{n}[" for n in names[:-1]) + names[-1] + "]" * (len(names) - 1)


def assert_metadata_matches_reader(path: Path, reader: gguf.GGUFReader | None = None) -> None:
    ours = ls_gguf.open(path)
    reader = reader or gguf.GGUFReader(path)
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert list(ours.metadata) == list(fields)  # same keys, file order
    for key, field in fields.items():
        value, types = ours.metadata[key], field.types
        if types[0] == VT.ARRAY and len(types) > 1 and types[1] == VT.ARRAY:
            continue  # the reader flattens nested arrays; compared against the written values
        assert ours.metadata_types[key] == reader_type_name(types), key
        if types[0] == VT.ARRAY and types[-1] == VT.STRING:
            assert value == field.contents(), key
        elif types[0] == VT.ARRAY:
            expected = np.array([field.parts[i][0] for i in field.data], dtype=field.parts[-1].dtype)
            assert isinstance(value, np.ndarray) and value.dtype == expected.dtype, key
            np.testing.assert_array_equal(value, expected)
        elif types[0] == VT.STRING:
            assert value == field.contents(), key
        else:
            expected = field.parts[-1][0].item()
            assert type(value) is type(expected) and value == expected, key


def assert_tensors_match_reader(path: Path, reader: gguf.GGUFReader | None = None) -> None:
    ours = ls_gguf.open(path)
    reader = reader or gguf.GGUFReader(path)
    assert (ours.alignment, ours.data_offset) == (reader.alignment, reader.data_offset)
    assert [i.name for i in ours.tensor_infos] == [t.name for t in reader.tensors]
    for info, ref in zip(ours.tensor_infos, reader.tensors):
        logical = tuple(reversed(ref.shape.tolist()))
        assert info.ggml_type.name == ref.tensor_type.name
        assert (info.shape, info.offset, info.nbytes, info.n_elements) == (
            logical, ref.data_offset, ref.n_bytes, ref.n_elements)
        view = ours.tensors[info.name]
        assert view.tobytes() == ref.data.tobytes(), info.name
        if isinstance(view, ls_gguf.QuantizedTensor):
            assert view.dtype == np.uint8 and view.shape == ref.data.shape  # [rows..., row bytes]
            assert view.ggml_type == info.ggml_type and view.logical_shape == logical
        else:
            assert view.shape == logical
            expected_dtype = ml_dtypes.bfloat16 if info.ggml_type.name == "BF16" else ref.data.dtype
            assert view.dtype == expected_dtype, info.name


# ---- well-formed files ----------------------------------------------------------------------

def test_every_value_type_matches_gguf_reader(sample):
    assert_metadata_matches_reader(sample)


def test_scalar_values_and_types(sample):
    f = ls_gguf.open(sample)
    for key, (vtype, value) in SCALARS.items():
        assert f.metadata_types[key] == vtype.name
        expected = float(np.float32(value)) if vtype == VT.FLOAT32 else value
        assert f.metadata[key] == expected and type(f.metadata[key]) is type(expected), key


def test_arrays_of_strings_and_numbers(sample):
    f = ls_gguf.open(sample)
    assert f.metadata["test.arr.string"] == STRINGS
    for vtype, values in NUMBER_ARRAYS.items():
        value = f.metadata[f"test.arr.{vtype.name.lower()}"]
        assert value.dtype == GGUF_NUMPY[vtype]
        np.testing.assert_array_equal(value, np.array(values, dtype=GGUF_NUMPY[vtype]))


def test_nested_arrays(sample):
    f = ls_gguf.open(sample)
    for key, (value, type_name) in NESTED.items():
        assert f.metadata_types[key] == type_name
        assert plain(f.metadata[key]) == value, key  # the floats used are exact in float32
    assert all(isinstance(inner, np.ndarray) for inner in f.metadata["test.nested.i32"])


def test_tensors_match_gguf_reader(sample):
    assert_tensors_match_reader(sample)


def test_version_2(sample, tmp_path):
    # v2 and v3 share the little-endian layout; v3 only added big-endian files.
    data = bytearray(sample.read_bytes())
    data[4:8] = struct.pack("<I", 2)
    path = tmp_path / "v2.gguf"
    path.write_bytes(data)
    assert ls_gguf.open(path).version == 2 and ls_gguf.open(sample).version == 3
    assert_metadata_matches_reader(path)
    assert_tensors_match_reader(path)


@pytest.mark.parametrize("alignment", [1, 8, 64, 256])
def test_custom_alignment(tmp_path, alignment):
    # Alignment 1 leaves float tensors unaligned in memory; the views must still be right.
    path = write_gguf(tmp_path / "a.gguf", kv=[("test.s", VT.STRING, "odd", None)],
                      tensors={"a": (np.arange(3, dtype=np.int8), None),
                               "b": (np.arange(5, dtype=np.float32), None),
                               "c": (np.arange(3, dtype=np.float64), None)},
                      alignment=alignment)
    f = ls_gguf.open(path)
    assert f.alignment == alignment and f.data_offset % alignment == 0
    assert_tensors_match_reader(path)
    np.testing.assert_array_equal(f.tensors["b"], np.arange(5, dtype=np.float32))


def test_hand_built_v2_with_empty_arrays(tmp_path):
    # GGUFWriter cannot write empty arrays (llama.cpp's converters do), so build the bytes.
    def string(s: bytes) -> bytes:
        return struct.pack("<Q", len(s)) + s

    def entry(key: bytes, vtype: int, payload: bytes) -> bytes:
        return string(key) + struct.pack("<I", vtype) + payload

    entries = [
        entry(b"e.u32", VT.ARRAY, struct.pack("<IQ", VT.UINT32, 0)),
        entry(b"e.str", VT.ARRAY, struct.pack("<IQ", VT.STRING, 0)),
        entry(b"e.nested", VT.ARRAY, struct.pack("<IQ", VT.ARRAY, 2) + struct.pack("<IQ", VT.INT8, 0)
              + struct.pack("<IQ", VT.INT8, 2) + b"\x05\xfb"),
        entry(b"e.s", VT.STRING, string("v2 ✓".encode())),
    ]
    path = tmp_path / "v2.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 2, 0, len(entries)) + b"".join(entries))
    f = ls_gguf.open(path)
    reader = gguf.GGUFReader(path)
    assert f.version == 2 and f.tensor_infos == [] and f.data_offset == reader.data_offset
    assert f.metadata_types == {"e.u32": "ARRAY[UINT32]", "e.str": "ARRAY[STRING]",
                                "e.nested": "ARRAY[ARRAY[INT8]]", "e.s": "STRING"}
    assert f.metadata["e.u32"].dtype == np.uint32 and f.metadata["e.u32"].size == 0
    assert f.metadata["e.str"] == [] == reader.fields["e.str"].contents()
    assert plain(f.metadata["e.nested"]) == [[], [5, -5]]
    assert f.metadata["e.s"] == reader.fields["e.s"].contents() == "v2 ✓"


def test_typed_getters(sample):
    f = ls_gguf.open(sample)
    assert f.get_uint("test.u64") == 2**64 - 1 and f.get_uint("test.u8") == 200
    assert f.get_uint("absent") is None and f.get_float("absent") is None and f.get_bool("absent") is None
    assert f.get_float("test.f32") == float(np.float32(0.1)) and f.get_float("test.i8") == -100.0
    assert f.get_bool("test.true") is True and f.get_string("test.str") == SCALARS["test.str"][1]
    assert f.get_strings("test.arr.string") == STRINGS and f.get_strings("absent") == []
    assert f.get_ints("test.arr.int8") == NUMBER_ARRAYS[VT.INT8]
    assert f.get_ints("test.arr.uint32") == NUMBER_ARRAYS[VT.UINT32]
    with np.errstate(over="ignore"):  # -1e300 becomes -inf in float32, in C++ as in numpy
        assert f.get_floats("test.arr.float64") == np.float32(NUMBER_ARRAYS[VT.FLOAT64]).tolist()
    assert f.get_floats("test.arr.int16") == [-32768.0, 32767.0]
    with pytest.raises(lockstep.FormatError, match=r"'test.i8' is -100, expected a non-negative integer"):
        f.get_uint("test.i8")
    with pytest.raises(lockstep.FormatError, match=r"'test.str' is STRING, expected an integer"):
        f.get_uint("test.str")
    with pytest.raises(lockstep.FormatError, match=r"'test.u8' is UINT8, expected STRING"):
        f.get_string("test.u8")
    with pytest.raises(lockstep.FormatError, match=r"'test.arr.int8' is ARRAY\[INT8\], expected ARRAY\[STRING\]"):
        f.get_strings("test.arr.int8")
    with pytest.raises(lockstep.FormatError, match=r"'test.arr.uint64' element 1 is 18446744073709551615"):
        f.get_ints("test.arr.uint64")
    with pytest.raises(lockstep.FormatError, match=r"expected an array of numbers") as err:
        f.get_floats("test.arr.string")
    assert err.value.offset == Layout(sample).value["test.arr.string"]


def test_get_floats_narrows_float64_like_numpy(tmp_path):
    flt_max = float(np.finfo(np.float32).max)
    values = [flt_max, flt_max + 2.0**102, 2.0**128 - 2.0**103, -(2.0**128), -1e300, 1e-50, -1e-45, 0.1]
    path = write_gguf(tmp_path / "f.gguf", kv=[("f", VT.ARRAY, values, VT.FLOAT64)])
    with np.errstate(over="ignore"):
        expected = np.array(values, np.float64).astype(np.float32)
    np.testing.assert_array_equal(np.array(ls_gguf.open(path).get_floats("f"), np.float32), expected)


def test_default_model_matches_gguf_reader():
    path = lockstep.default_model_path()
    reader = gguf.GGUFReader(path)  # slow on 100k vocabulary strings: read once
    assert_metadata_matches_reader(path, reader)
    assert_tensors_match_reader(path, reader)
    f = ls_gguf.open(path)
    assert f.metadata["general.architecture"] == "llama" and len(f.metadata["tokenizer.ggml.tokens"]) == 49152
    assert {i.ggml_type.name for i in f.tensor_infos} == {"F32", "Q4_1", "Q8_0"}


# ---- zero-copy views --------------------------------------------------------------------------

def test_views_are_zero_copy_read_only_and_outlive_the_file(sample):
    f = ls_gguf.open(sample)
    infos = f.tensor_infos
    views = {i.name: f.tensors[i.name] for i in infos}
    # All views sit in one mapping at the file's offsets: their addresses differ as the offsets do.
    first = infos[0]
    base_address = views[first.name].__array_interface__["data"][0] - first.offset
    for info in infos:
        view = views[info.name]
        assert view.__array_interface__["data"][0] - base_address == info.offset
        assert not view.flags.writeable and not view.flags.owndata
        with pytest.raises(ValueError):
            view.flags.writeable = True
        owner = view
        while isinstance(owner, np.ndarray):
            assert not owner.flags.owndata
            owner = owner.base
        assert type(owner).__name__ == "PyCapsule"  # holds the memory map
    expected = {i.name: sample.read_bytes()[i.offset:i.offset + i.nbytes] for i in infos}
    del f, infos
    gc.collect()
    for name, view in views.items():
        assert view.tobytes() == expected[name]


def test_quantized_views_drop_attributes_when_reshaped(sample):
    q = ls_gguf.open(sample).tensors["t.q4_1"]
    assert q.logical_shape == (2, 3, 32) and q.ggml_type.name == "Q4_1" and q.shape == (2, 3, 20)
    assert q[0].logical_shape is None and q[0].ggml_type is None
    assert q.view(ls_gguf.QuantizedTensor).logical_shape == (2, 3, 32)


def test_metadata_does_not_touch_tensor_data(tmp_path):
    # A 4 GiB tensor in a sparse file: reading its header, metadata and view must not fault
    # in its pages (4 GiB is a million 4 KiB pages; the header is a few).
    path = write_gguf(tmp_path / "big.gguf", kv=[("test.s", VT.STRING, "x", None)],
                      tensors={"big": (np.zeros((1, 32), np.float32), None)})
    lay = Layout(path)
    data = bytearray(path.read_bytes())
    data[lay.tensor["big"]["dims"]:lay.tensor["big"]["dims"] + 16] = struct.pack("<QQ", 2**20, 2**10)
    path.write_bytes(data)
    os.truncate(path, lay.data_offset + 4 * 2**30)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    f = ls_gguf.open(path)
    _ = f.metadata, f.metadata_types, f.tensor_infos
    view = f.tensors["big"]
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    assert view.shape == (2**10, 2**20) and view.dtype == np.float32
    assert faults < 1000, faults  # measured: a handful; touching the tensor: ~50,000
    assert view[512, 12345] == 0.0


# ---- I2_S and type id 36 --------------------------------------------------------------------

def i2s_file(tmp_path: Path, arch: str) -> tuple[Path, int]:
    """A tensor of 512 I2_S elements (4 blocks of 32 bytes, then the 32-byte scale: 160
    bytes), written as I8 by the gguf package (which has no I2_S), then retyped to id 36.
    Returns the path and the offset of the tensor's type field."""
    path = write_gguf(tmp_path / f"{arch}.gguf", arch=arch,
                      tensors={"w": (np.arange(160, dtype=np.uint8).view(np.int8), None)})
    fields = Layout(path).tensor["w"]
    data = bytearray(path.read_bytes())
    data[fields["dims"]:fields["dims"] + 8] = struct.pack("<Q", 512)
    data[fields["type"]:fields["type"] + 4] = struct.pack("<I", 36)
    path.write_bytes(data)
    return path, fields["type"]


@pytest.mark.parametrize("arch", ["bitnet", "bitnet-b1.58", "bitnet-25"])
def test_i2s_in_bitnet_files(tmp_path, arch):
    path, _ = i2s_file(tmp_path, arch)
    f = ls_gguf.open(path)
    (info,) = f.tensor_infos
    assert info.ggml_type.name == "I2_S" and info.shape == (512,) and info.nbytes == 160
    view = f.tensors["w"]
    assert view.shape == (160,) and view.logical_shape == (512,) and view.ggml_type.name == "I2_S"
    assert view.tobytes() == bytes(range(160))


def test_type_36_outside_bitnet_is_the_retired_id(tmp_path):
    path, type_at = i2s_file(tmp_path, "llama")
    err = open_error(path)
    assert err.offset == type_at
    assert "type id 36, retired" in err.reason and "'llama'" in err.reason


# ---- malformed files ------------------------------------------------------------------------

def open_error(path: Path) -> lockstep.FormatError:
    with pytest.raises(lockstep.FormatError) as info:
        ls_gguf.open(path)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path == str(path)
    assert isinstance(err.offset, int) and 0 <= err.offset <= path.stat().st_size
    assert str(path) in str(err) and f"at byte {err.offset}:" in str(err)
    return err


@pytest.fixture
def patched(tmp_path):
    """patched(src, offset, new) -> a copy of src with `new` written at `offset`. One copy per
    source file and test, patched in place and restored before the next patch: rewriting a
    whole file each time is slow on ext4."""
    copies: dict[Path, tuple[Path, bytes, list[tuple[int, int]]]] = {}

    def apply(src: Path, offset: int, new: bytes) -> Path:
        if src not in copies:
            copy = tmp_path / f"bad{len(copies)}.gguf"
            copy.write_bytes(src.read_bytes())
            copies[src] = (copy, src.read_bytes(), [])
        copy, pristine, last = copies[src]
        fd = os.open(copy, os.O_RDWR)
        try:
            for start, end in last:
                os.pwrite(fd, pristine[start:end], start)
            os.pwrite(fd, new, offset)
        finally:
            os.close(fd)
        last[:] = [(offset, offset + len(new))]
        return copy

    return apply


def test_truncated_at_every_offset(sample, layout, tmp_path):
    path = tmp_path / "cut.gguf"
    path.write_bytes(sample.read_bytes())
    # Only the padding after the last tensor may go.
    for n in range(layout.size, layout.tensor_end - 1, -1):
        os.truncate(path, n)
        assert len(ls_gguf.open(path).tensor_infos) == len(layout.tensor)
    for n in range(layout.tensor_end - 1, -1, -1):
        os.truncate(path, n)
        err = open_error(path)
        assert err.offset <= n


@pytest.mark.parametrize("length", [2**64 - 1, 2**63, "remaining+1"])
def test_huge_string_lengths(sample, layout, length, patched):
    assert len(layout.string_lengths) > 50  # keys, values, array items, tensor names
    for at in layout.string_lengths:
        n = layout.size - (at + 8) + 1 if length == "remaining+1" else length
        err = open_error(patched(sample, at, struct.pack("<Q", n)))
        assert err.offset == at and "exceeds" in err.reason


@pytest.mark.parametrize("count", [2**64 - 1, 2**61, 2**32])
def test_huge_array_counts(sample, layout, count, patched):
    for key, at in layout.array_counts.items():
        err = open_error(patched(sample, at, struct.pack("<Q", count)))
        assert err.offset == at and "cannot fit" in err.reason, key


@pytest.mark.parametrize("field, at", [("tensor count", 8), ("metadata count", 16)])
@pytest.mark.parametrize("count", [2**64 - 1, 2**40])
def test_huge_header_counts(sample, field, at, count, patched):
    err = open_error(patched(sample, at, struct.pack("<Q", count)))
    assert err.offset == at and field in err.reason


@pytest.mark.parametrize("at, delta", [(8, 1), (16, 1), (16, -1)])
def test_counts_off_by_one(sample, at, delta, patched):
    (count,) = struct.unpack_from("<Q", sample.read_bytes(), at)
    open_error(patched(sample, at, struct.pack("<Q", count + delta)))


def test_nested_array_counts(tmp_path, patched):
    path = write_gguf(tmp_path / "n.gguf", kv=[("n", VT.ARRAY, [[1, 2], [3]], None)])
    lay = Layout(path)
    outer_count = lay.value["n"] + 4
    inner_count = outer_count + 8 + 4
    for at in (outer_count, inner_count):
        err = open_error(patched(path, at, struct.pack("<Q", 2**62)))
        assert err.offset == at and "cannot fit" in err.reason


def test_nesting_depth_is_bounded(tmp_path):
    def nest(depth: int) -> list:
        value: Any = [1]
        for _ in range(depth - 1):
            value = [value]
        return value

    deepest = write_gguf(tmp_path / "ok.gguf", kv=[("n", VT.ARRAY, nest(8), None)])
    assert plain(ls_gguf.open(deepest).metadata["n"]) == nest(8)
    too_deep = write_gguf(tmp_path / "deep.gguf", kv=[("n", VT.ARRAY, nest(9), None)])
    err = open_error(too_deep)
    assert "nested more than 8 deep" in err.reason


def test_bad_magic(sample, patched):
    err = open_error(patched(sample, 0, b"GGML"))
    assert err.offset == 0 and 'magic is "GGML"' in err.reason
    err = open_error(patched(sample, 0, b"\x00\xffUF"))
    assert err.offset == 0 and r'"\x00\xffUF"' in err.reason


@pytest.mark.parametrize("version, reason", [
    (1, "unsupported GGUF version 1"), (0, "unsupported GGUF version 0"), (4, "unsupported GGUF version 4"),
    (3 << 24, "byte-swapped"), (2**32 - 1, "unsupported GGUF version"),
])
def test_bad_version(sample, version, reason, patched):
    err = open_error(patched(sample, 4, struct.pack("<I", version)))
    assert err.offset == 4 and reason in err.reason


@pytest.mark.parametrize("vtype, value, reason", [
    (VT.UINT32, 0, "not a non-zero power of two"),
    (VT.UINT32, 3, "not a non-zero power of two"),
    (VT.UINT32, 48, "not a non-zero power of two"),
    (VT.UINT64, 32, "must be UINT32, not UINT64"),
    (VT.STRING, "32", "must be UINT32, not STRING"),
])
def test_bad_alignment(tmp_path, vtype, value, reason):
    path = write_gguf(tmp_path / "align.gguf", kv=[("general.alignment", vtype, value, None)],
                      tensors={"t": (np.ones(4, np.float32), None)})
    with pytest.raises(ValueError):
        gguf.GGUFReader(path)  # the reference rejects them too
    err = open_error(path)
    value_at = path.read_bytes().index(b"general.alignment") + len("general.alignment") + 4
    assert err.offset == value_at and reason in err.reason


def test_unknown_value_types(sample, layout, patched):
    for key in ("test.u32", "test.str", "test.arr.int16"):
        err = open_error(patched(sample, layout.type_field[key], struct.pack("<I", 13)))
        assert err.offset == layout.type_field[key] and "unknown GGUF value type 13" in err.reason
    element_type = layout.value["test.arr.int16"]
    err = open_error(patched(sample, element_type, struct.pack("<I", 99)))
    assert err.offset == element_type and "unknown GGUF value type 99" in err.reason


def test_bool_must_be_0_or_1(sample, layout, patched):
    err = open_error(patched(sample, layout.value["test.true"], b"\x02"))
    assert err.offset == layout.value["test.true"] and "neither 0 nor 1" in err.reason
    second = layout.array_counts["test.arr.bool"] + 8 + 1
    err = open_error(patched(sample, second, b"\xff"))
    assert err.offset == second and "BOOL element 1 is 255" in err.reason


def test_duplicate_keys_and_tensor_names(sample, layout, patched):
    second_key = layout.entry[DUP_KEYS[1]]
    err = open_error(patched(sample, second_key + 8, DUP_KEYS[0].encode()))
    assert err.offset == second_key and f"duplicate metadata key '{DUP_KEYS[0]}'" in err.reason
    second_tensor = layout.tensor[DUP_TENSORS[1]]["info"]
    err = open_error(patched(sample, second_tensor + 8, DUP_TENSORS[0].encode()))
    assert err.offset == second_tensor and f"duplicate tensor name '{DUP_TENSORS[0]}'" in err.reason


def test_empty_key(tmp_path):
    path = tmp_path / "empty_key.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<QIB", 0, VT.UINT8, 1))
    err = open_error(path)
    assert err.offset == 24 and "is empty" in err.reason


def test_strings_must_be_utf8_like_pythons_strict_decoder(tmp_path, patched):
    # One 6-byte string value, rewritten with random bytes (biased to the interesting high
    # range): accepted exactly when Python decodes it, and an error names the first bad byte.
    path = write_gguf(tmp_path / "u.gguf", kv=[("s", VT.STRING, "abcdef", None)])
    at = Layout(path).string_data["s"]
    rng = random.Random(0)
    alphabet = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
    cases = [b"\xf4\x8f\xbf\xbfAB", b"\xed\x9f\xbfABC", b"\xe0\xa0\x80ABC", b"\xef\xbf\xbfABC",
             b"\xed\xa0\x80ABC", b"\xc0\xafABCD", b"\xf4\x90\x80\x80AB", b"ABCDE\xc3"]
    cases += [bytes(rng.choice(alphabet) for _ in range(6)) for _ in range(400)]
    # Valid text cut to 6 bytes: well-formed, or ending in a truncated sequence.
    code_points = [0x41, 0xE9, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0x10000, 0x1F999, 0x10FFFF]
    cases += ["".join(chr(rng.choice(code_points)) for _ in range(4)).encode()[:6].ljust(6, b"z")
              for _ in range(200)]
    accepted = 0
    for raw in cases:
        bad = patched(path, at, raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            err = open_error(bad)
            assert err.offset == at + e.start and "not valid UTF-8" in err.reason, raw
        else:
            assert ls_gguf.open(bad).metadata["s"] == text
            accepted += 1
    assert accepted >= 50


def test_invalid_utf8_in_keys_and_tensor_names(sample, layout, patched):
    key_byte = layout.entry["test.u32"] + 8 + 2
    err = open_error(patched(sample, key_byte, b"\xff"))
    assert err.offset == key_byte and "key of metadata entry" in err.reason
    name_byte = layout.tensor["t.f32"]["info"] + 8
    err = open_error(patched(sample, name_byte, b"\x80"))
    assert err.offset == name_byte and "name of tensor" in err.reason


def tensor_field(layout: Layout, name: str, field: str) -> int:
    return layout.tensor[name][field]


@pytest.mark.parametrize("n_dims", [5, 2**32 - 1])
def test_too_many_dimensions(sample, layout, n_dims, patched):
    at = tensor_field(layout, "t.f32", "n_dims")
    err = open_error(patched(sample, at, struct.pack("<I", n_dims)))
    assert err.offset == at and "more than 4" in err.reason


def test_zero_and_overflowing_dimensions(sample, layout, patched):
    dims = tensor_field(layout, "t.f32", "dims")
    err = open_error(patched(sample, dims + 8, struct.pack("<Q", 0)))
    assert err.offset == dims + 8 and "dimension 1 is 0" in err.reason
    err = open_error(patched(sample, dims, struct.pack("<QQ", 2**40, 2**40)))
    assert err.offset == dims + 8 and "more than INT64_MAX elements" in err.reason


@pytest.mark.parametrize("type_id", [4, 5, 31, 37, 99, 2**32 - 1])
def test_unknown_tensor_types(sample, layout, type_id, patched):
    at = tensor_field(layout, "t.f32", "type")
    err = open_error(patched(sample, at, struct.pack("<I", type_id)))
    assert err.offset == at and f"unknown ggml type id {type_id}" in err.reason


def test_row_length_not_a_multiple_of_the_block(sample, layout, patched):
    # t.q8_0 has rows of 64 elements; 48 is not a multiple of Q8_0's 32-element blocks.
    dims = tensor_field(layout, "t.q8_0", "dims")
    err = open_error(patched(sample, dims, struct.pack("<Q", 48)))
    assert err.offset == tensor_field(layout, "t.q8_0", "type") and "not a multiple of its block size 32" in err.reason


def test_misaligned_and_out_of_range_offsets(sample, layout, patched):
    at = tensor_field(layout, "t.f16", "offset")
    (offset,) = struct.unpack_from("<Q", sample.read_bytes(), at)
    err = open_error(patched(sample, at, struct.pack("<Q", offset + 4)))
    assert err.offset == at and "not a multiple of the alignment 32" in err.reason
    for beyond in (layout.size - layout.data_offset, 2**64 - 32):
        err = open_error(patched(sample, at, struct.pack("<Q", beyond)))
        assert err.offset == at and "extends past the end of the file" in err.reason


def test_overlapping_tensors(sample, layout, patched):
    data = sample.read_bytes()
    (f32_offset,) = struct.unpack_from("<Q", data, tensor_field(layout, "t.f32", "offset"))
    at = tensor_field(layout, "t.f16", "offset")  # t.f16 comes right after t.f32
    err = open_error(patched(sample, at, struct.pack("<Q", f32_offset + 32)))
    assert err.offset == at and "overlaps tensor 't.f32'" in err.reason


def test_data_section_past_the_end(sample, layout, tmp_path):
    path = tmp_path / "cut.gguf"
    path.write_bytes(sample.read_bytes()[:layout.data_offset - 1])
    err = open_error(path)
    assert "past the end of the file" in err.reason


def test_unreadable_paths(tmp_path):
    for path in (tmp_path / "missing.gguf", tmp_path):
        with pytest.raises(lockstep.FormatError) as info:
            ls_gguf.open(path)
        assert info.value.path == str(path) and info.value.offset is None
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    assert open_error(empty).offset == 0


def test_random_corruptions_never_crash(sample, layout, patched):
    # Random bytes over random header fields: each file opens cleanly or raises FormatError;
    # one that opens must give its metadata and every tensor view.
    rng = random.Random(1)
    data = sample.read_bytes()
    opened = 0
    for _ in range(600):
        at = rng.randrange(layout.data_offset)
        new = bytes(rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)]) for _ in range(rng.randint(1, 8)))
        path = patched(sample, at, new)
        try:
            f = ls_gguf.open(path)
        except lockstep.FormatError as err:
            assert err.path == str(path) and 0 <= err.offset <= len(data)
            continue
        opened += 1
        assert len(f.metadata) == len(f.metadata_types)
        for info in f.tensor_infos:
            assert f.tensors[info.name].nbytes == info.nbytes
    assert 0 < opened < 600
