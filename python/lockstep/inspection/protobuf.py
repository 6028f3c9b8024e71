"""A bounded walk over the top-level fields of a protobuf message stored in a file.

Enough to recognise ONNX ModelProto and TensorFlow SavedModel files by their field numbers
without their schema packages: each field's tag is read, length-delimited payloads are
skipped by seeking (a 2 GB graph costs one seek), and the walk stops at the first thing that
is not well-formed protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from lockstep.errors import NotProtobuf

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
_MAX_VARINT_BYTES = 10


@dataclass(frozen=True)
class Field:
    number: int
    wire_type: int
    offset: int  # of the tag
    value: int  # the varint or fixed value; for length-delimited fields, the payload length
    payload_offset: int  # where a length-delimited payload starts (== end of the tag otherwise)


def _read_varint(stream: BinaryIO, offset: int, size: int) -> tuple[int, int]:
    """(value, offset after it); never reads past `size`."""
    value = 0
    for index in range(_MAX_VARINT_BYTES):
        if offset + index >= size:
            raise NotProtobuf(offset, "varint runs past the end of the file")
        byte = stream.read(1)[0]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, offset + index + 1
    raise NotProtobuf(offset, "varint longer than 10 bytes")


def walk_fields(stream: BinaryIO, size: int, allowed: dict[int, int], max_fields: int) -> list[Field]:
    """The top-level fields of the message filling `stream` (`size` bytes).

    `allowed` maps each field number of the message to its wire type; any other field, a
    payload past the end, or more than `max_fields` fields raises NotProtobuf.
    """
    fields: list[Field] = []
    offset = 0
    stream.seek(0)
    while offset < size:
        if len(fields) >= max_fields:
            raise NotProtobuf(offset, f"more than {max_fields} top-level fields")
        tag, after_tag = _read_varint(stream, offset, size)
        number, wire_type = tag >> 3, tag & 7
        if allowed.get(number) != wire_type:
            raise NotProtobuf(offset, f"field {number} with wire type {wire_type} is not part of the message")
        if wire_type == VARINT:
            value, end = _read_varint(stream, after_tag, size)
        elif wire_type == LENGTH_DELIMITED:
            value, payload = _read_varint(stream, after_tag, size)
            end = payload + value
            if end > size:
                raise NotProtobuf(offset, f"field {number} declares {value} bytes, past the end of the file")
            fields.append(Field(number, wire_type, offset, value, payload))
            stream.seek(end)
            offset = end
            continue
        else:
            width = 8 if wire_type == FIXED64 else 4
            end = after_tag + width
            if end > size:
                raise NotProtobuf(offset, f"fixed-width field {number} runs past the end of the file")
            value = int.from_bytes(stream.read(width), "little")
        fields.append(Field(number, wire_type, offset, value, after_tag))
        offset = end
    return fields


def read_string(stream: BinaryIO, field: Field, max_bytes: int) -> str | None:
    """A length-delimited field as UTF-8 text, if it is short enough to be worth reporting."""
    if field.wire_type != LENGTH_DELIMITED or field.value > max_bytes:
        return None
    stream.seek(field.payload_offset)
    return stream.read(field.value).decode("utf-8", errors="replace")
