"""A Hugging Face model folder as the converter reads it: config.json and safetensors weights,
single-file or sharded through model.safetensors.index.json.

The weights are read with lockstep's own safetensors reader (lockstep.formats.safetensors: validated
headers, zero-copy views of the memory map); this module adds the folder-level checks and turns
every failure into a ConvertError naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lockstep.errors import ConvertError, FormatError
from lockstep.formats import safetensors as safetensors_reader

# Float dtypes a checkpoint may store weights in; all are widened to float32 on load.
FLOAT_DTYPES = {"F32", "F16", "BF16", "F64"}
_PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "consolidated.00.pth")


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConvertError(f"{path}: not readable as JSON: {error}") from error
    if not isinstance(value, dict):
        raise ConvertError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


class Checkpoint:
    """The config and tensors of one model folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConvertError(f"{self.folder}: not a directory (expected a Hugging Face model folder)")
        config_path = self.folder / "config.json"
        if not config_path.is_file():
            raise ConvertError(f"{self.folder}: no config.json, so not a Hugging Face model folder")
        self.config = _read_json_object(config_path)
        self._weights: safetensors_reader.Checkpoint | None = None

    @property
    def weights(self) -> safetensors_reader.Checkpoint:
        # Opened on first use, so that an unsupported config is reported before missing weights.
        if self._weights is None:
            if not any(self.folder.glob("*.safetensors")) and not any(self.folder.glob("*.safetensors.index.json")):
                pickles = [name for name in _PICKLES if (self.folder / name).exists()]
                if pickles:
                    raise ConvertError(
                        f"{self.folder}: weights only as PyTorch pickles ({', '.join(pickles)}), which lockstep "
                        "never unpickles; save the model with safetensors (save_pretrained(safe_serialization=True))"
                    )
            try:
                self._weights = safetensors_reader.open(self.folder)
            except FormatError as error:
                raise ConvertError(str(error)) from error
        return self._weights

    def names(self) -> list[str]:
        return self.weights.keys()

    def shape(self, name: str) -> tuple[int, ...]:
        return self.weights.tensor_infos[name].shape

    def load(self, name: str) -> np.ndarray:
        """The tensor as float32: a zero-copy view when stored as F32, widened from F16/BF16 otherwise."""
        info = self.weights.tensor_infos[name]
        if info.dtype not in FLOAT_DTYPES:
            raise ConvertError(f"{info.file}: tensor {name!r} has dtype {info.dtype}; only float weights are converted")
        return np.asarray(self.weights[name], dtype=np.float32)
