"""lockstep: run one language model on several inference backends and compare them token by token."""

from lockstep._core import FormatError
from lockstep.ggml_types import GGMLTypeInfo, ggml_type
from lockstep.models import default_model_path
from lockstep import gguf
from lockstep.tokenizer import Tokenizer

__version__ = "0.1.0"

__all__ = [
    "FormatError",
    "GGMLTypeInfo",
    "default_model_path",
    "ggml_type",
    "gguf",
    "Tokenizer",
]
