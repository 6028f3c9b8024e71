"""A Hugging Face model folder as the converter reads it: config.json and safetensors weights,
single-file or sharded through model.safetensors.index.json.

The `safetensors` package validates each file's header before any tensor is mapped; this module
validates the folder around it (the config is a JSON object, the index names files inside the
folder) and turns every failure into a ConvertError naming the file.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from lockstep.conversion.errors import ConvertError

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
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
    """The config and tensors of one model folder; use as a context manager (keeps files mapped)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConvertError(f"{self.folder}: not a directory (expected a Hugging Face model folder)")
        config_path = self.folder / "config.json"
        if not config_path.is_file():
            raise ConvertError(f"{self.folder}: no config.json, so not a Hugging Face model folder")
        self.config = _read_json_object(config_path)
        self._stack = ExitStack()
        self._handles: dict[Path, Any] = {}
        self._files_by_name: dict[str, Path] | None = None

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()
        self._handles.clear()

    @property
    def _files(self) -> dict[str, Path]:
        # Found on first use, so that an unsupported config is reported before missing weights.
        if self._files_by_name is None:
            self._files_by_name = self._weight_files()
        return self._files_by_name

    def _weight_files(self) -> dict[str, Path]:
        """Tensor name -> the safetensors file holding it (the names are filled in lazily for single files)."""
        index_path = self.folder / INDEX_FILE
        if index_path.is_file():
            weight_map = _read_json_object(index_path).get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise ConvertError(f"{index_path}: 'weight_map' must be a non-empty object")
            files: dict[str, Path] = {}
            root = self.folder.resolve()
            for name, file_name in weight_map.items():
                if not isinstance(file_name, str):
                    raise ConvertError(f"{index_path}: weight_map[{name!r}] is not a file name")
                path = (self.folder / file_name).resolve()
                if path.parent != root:
                    raise ConvertError(f"{index_path}: weight_map[{name!r}] = {file_name!r} points outside the folder")
                if not path.is_file():
                    raise ConvertError(f"{index_path}: weight_map[{name!r}] names {file_name!r}, which does not exist")
                files[name] = path
            return files
        single = self.folder / SINGLE_FILE
        if single.is_file():
            return {name: single for name in self._open(single).keys()}
        pickles = [name for name in _PICKLES if (self.folder / name).exists()]
        if pickles:
            raise ConvertError(
                f"{self.folder}: weights only as PyTorch pickles ({', '.join(pickles)}), which lockstep never "
                "unpickles; save the model with safetensors (save_pretrained(..., safe_serialization=True))"
            )
        raise ConvertError(f"{self.folder}: no {SINGLE_FILE} and no {INDEX_FILE}")

    def _open(self, path: Path) -> Any:
        from safetensors import safe_open

        if path not in self._handles:
            try:
                import ml_dtypes  # noqa: F401  (registers bfloat16 with numpy, which safetensors needs)

                handle = safe_open(str(path), framework="numpy")
            except Exception as error:  # safetensors raises its own error type for malformed headers
                raise ConvertError(f"{path}: not a valid safetensors file: {error}") from error
            self._handles[path] = self._stack.enter_context(handle)
        return self._handles[path]

    def names(self) -> list[str]:
        return list(self._files)

    def _slice(self, name: str) -> Any:
        try:
            return self._open(self._files[name]).get_slice(name)
        except ConvertError:
            raise
        except Exception as error:
            raise ConvertError(f"{self._files[name]}: tensor {name!r}: {error}") from error

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(n) for n in self._slice(name).get_shape())

    def dtype(self, name: str) -> str:
        return str(self._slice(name).get_dtype())

    def load(self, name: str) -> np.ndarray:
        """The tensor as float32 (widened from F16/BF16)."""
        dtype = self.dtype(name)
        if dtype not in FLOAT_DTYPES:
            raise ConvertError(f"{self._files[name]}: tensor {name!r} has dtype {dtype}; only float weights are converted")
        try:
            array = self._open(self._files[name]).get_tensor(name)
        except Exception as error:
            raise ConvertError(f"{self._files[name]}: tensor {name!r}: {error}") from error
        return np.ascontiguousarray(array, dtype=np.float32)
