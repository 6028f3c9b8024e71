"""Exported-graph formats that no lockstep backend runs: ONNX, TFLite/LiteRT, TensorFlow SavedModel.

They are recognised (so the user learns what they have and what to do) from their container
structure alone, with bounded reads; no schema package is needed.
"""

from __future__ import annotations

from pathlib import Path

from lockstep.errors import format_error
from lockstep.inspection.model_info import ModelInfo
from lockstep.inspection.protobuf import LENGTH_DELIMITED, VARINT, NotProtobuf, read_string, walk_fields

# onnx.proto, message ModelProto: field number -> wire type.
_ONNX_MODEL_FIELDS = {
    1: VARINT,  # ir_version
    2: LENGTH_DELIMITED,  # producer_name
    3: LENGTH_DELIMITED,  # producer_version
    4: LENGTH_DELIMITED,  # domain
    5: VARINT,  # model_version
    6: LENGTH_DELIMITED,  # doc_string
    7: LENGTH_DELIMITED,  # graph
    8: LENGTH_DELIMITED,  # opset_import
    14: LENGTH_DELIMITED,  # metadata_props
    20: LENGTH_DELIMITED,  # training_info
    25: LENGTH_DELIMITED,  # functions
    26: LENGTH_DELIMITED,  # configuration
}
_ONNX_IR_VERSION, _ONNX_PRODUCER, _ONNX_PRODUCER_VERSION, _ONNX_GRAPH, _ONNX_OPSET = 1, 2, 3, 7, 8

# tensorflow/core/protobuf/saved_model.proto: saved_model_schema_version = 1, meta_graphs = 2.
_SAVED_MODEL_FIELDS = {1: VARINT, 2: LENGTH_DELIMITED}
_SAVED_MODEL_META_GRAPHS = 2

# A real ModelProto has a handful of top-level fields (opsets, metadata, local functions).
_MAX_TOP_LEVEL_FIELDS = 100_000
_MAX_REPORTED_STRING = 256

TFLITE_IDENTIFIER = b"TFL3"


def describe_onnx(path: Path) -> ModelInfo | None:
    """An ONNX ModelProto (ir_version and graph present, nothing but ModelProto fields), else None."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        try:
            fields = walk_fields(stream, size, _ONNX_MODEL_FIELDS, _MAX_TOP_LEVEL_FIELDS)
        except NotProtobuf:
            return None
        by_number = {field.number: field for field in fields}
        if _ONNX_IR_VERSION not in by_number or _ONNX_GRAPH not in by_number:
            return None
        producer = [
            read_string(stream, by_number[number], _MAX_REPORTED_STRING)
            for number in (_ONNX_PRODUCER, _ONNX_PRODUCER_VERSION)
            if number in by_number
        ]
    opsets = sum(1 for field in fields if field.number == _ONNX_OPSET)
    made_by = " ".join(part for part in producer if part) or "an unnamed producer"
    detail = (
        f"ONNX ModelProto, IR version {by_number[_ONNX_IR_VERSION].value}, {opsets} opset import(s), "
        f"graph of {by_number[_ONNX_GRAPH].value} bytes, made by {made_by}"
    )
    return ModelInfo(path=str(path), format="onnx", format_detail=detail, weights_format="onnx", weight_files=(path.name,))


def describe_tflite(path: Path, head: bytes) -> ModelInfo | None:
    """A TFLite/LiteRT FlatBuffer: file identifier "TFL3" at bytes 4..8 and a root table inside the file."""
    if head[4:8] != TFLITE_IDENTIFIER:
        return None
    size = path.stat().st_size
    version = _tflite_schema_version(path, size)
    detail = "TFLite/LiteRT FlatBuffer (file identifier TFL3)"
    if version is not None:
        detail += f", schema version {version}"
    return ModelInfo(path=str(path), format="tflite", format_detail=detail, weights_format="tflite", weight_files=(path.name,))


def _tflite_schema_version(path: Path, size: int) -> int | None:
    """Model.version (field 0 of the root table), following the FlatBuffer offsets with bounds checks."""
    with path.open("rb") as stream:

        def read(offset: int, width: int, signed: bool = False) -> int | None:
            if offset < 0 or offset + width > size:
                return None
            stream.seek(offset)
            return int.from_bytes(stream.read(width), "little", signed=signed)

        table = read(0, 4)  # uoffset of the root table
        back = read(table, 4, signed=True) if table is not None else None  # soffset to its vtable
        if table is None or back is None:
            return None
        vtable = table - back
        vtable_size = read(vtable, 2)
        if vtable_size is None or vtable_size < 6:  # no entry for field 0
            return None
        field_offset = read(vtable + 4, 2)
        if field_offset is None:
            return None
        if field_offset == 0:  # absent: the schema default
            return 0
        return read(table + field_offset, 4)


def describe_saved_model(folder: Path) -> ModelInfo:
    """A TensorFlow SavedModel folder: saved_model.pb (binary protobuf) or saved_model.pbtxt."""
    binary = folder / "saved_model.pb"
    if binary.is_file():
        size = binary.stat().st_size
        with binary.open("rb") as stream:
            try:
                fields = walk_fields(stream, size, _SAVED_MODEL_FIELDS, _MAX_TOP_LEVEL_FIELDS)
            except NotProtobuf as error:
                raise format_error(binary, error.offset, f"not a SavedModel protobuf: {error.reason}") from None
        meta_graphs = sum(1 for field in fields if field.number == _SAVED_MODEL_META_GRAPHS)
        detail = f"TensorFlow SavedModel (saved_model.pb, {meta_graphs} meta graph(s))"
        files = ["saved_model.pb"]
    else:
        detail = "TensorFlow SavedModel (saved_model.pbtxt, text format)"
        files = ["saved_model.pbtxt"]
    if (folder / "variables").is_dir():
        files += sorted(f"variables/{child.name}" for child in (folder / "variables").iterdir() if child.is_file())
    return ModelInfo(path=str(folder), format="saved_model", format_detail=detail, weights_format="saved_model", weight_files=tuple(files))

