"""safetensors weights, single file or sharded, summarised from their headers through lockstep's reader."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from lockstep.errors import format_error
from lockstep.formats.json_files import read_json_object
from lockstep.inspection.model_info import ModelInfo, TensorTypeStat, tensor_type_stats

INDEX_SUFFIX = ".safetensors.index.json"


@dataclass(frozen=True)
class WeightsSummary:
    files: tuple[str, ...]  # relative to the folder of the file that was opened
    sharded: bool
    n_tensors: int
    n_params: int
    tensor_bytes: int
    tensor_types: tuple[TensorTypeStat, ...]


def looks_like_safetensors(head: bytes) -> bool:
    """An 8-byte little-endian header length followed by the header's JSON object.

    Only the shape is checked here; lockstep's reader validates the header and raises
    FormatError for a damaged file, which is more useful than calling it "unknown".
    """
    if len(head) < 9 or int.from_bytes(head[:8], "little") < 2 or head[8:9] != b"{":
        return False
    return head[9:].lstrip(b" \t\r\n")[:1] in (b'"', b"}", b"")  # b"": cut short, still worth an error


def summarize(paths: list[Path]) -> WeightsSummary:
    """Tensors of one or more safetensors files or index files, added up."""
    from lockstep.formats import safetensors  # lockstep's own memory-mapped reader; raises FormatError

    entries: list[tuple[str, int, int]] = []
    files: list[str] = []
    sharded = False
    for path in paths:
        reader = safetensors.open(path)
        for info in reader.tensor_infos.values():
            entries.append((info.dtype, math.prod(info.shape), info.nbytes))
        files.extend(sorted(Path(name).name for name in reader.files))  # the reader lists shards in data order
        sharded = sharded or path.name.endswith(INDEX_SUFFIX)
    return WeightsSummary(
        files=tuple(files),
        sharded=sharded,
        n_tensors=len(entries),
        n_params=sum(n_elements for _, n_elements, _ in entries),
        tensor_bytes=sum(nbytes for _, _, nbytes in entries),
        tensor_types=tensor_type_stats(entries),
    )


def shard_files(index: Path) -> list[str]:
    """The shard file names an index (model.safetensors.index.json or pytorch_model.bin.index.json) lists."""
    weight_map = read_json_object(index).get("weight_map")
    if not isinstance(weight_map, dict) or not all(isinstance(name, str) for name in weight_map.values()):
        raise format_error(index, None, "weight_map is missing or does not map tensor names to file names")
    return sorted(set(weight_map.values()))


def describe_safetensors(path: Path) -> ModelInfo:
    """A safetensors file or index given directly (its folder may add config.json context)."""
    summary = summarize([path])
    what = f"sharded safetensors ({len(summary.files)} shards)" if summary.sharded else "safetensors"
    return ModelInfo(
        path=str(path),
        format="safetensors",
        format_detail=f"{what}: {summary.n_tensors} tensors",
        weights_format="safetensors",
        weight_files=summary.files,
        sharded=summary.sharded,
        n_params=summary.n_params,
        n_tensors=summary.n_tensors,
        tensor_bytes=summary.tensor_bytes,
        tensor_types=summary.tensor_types,
    )
