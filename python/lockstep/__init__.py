"""lockstep: run one language model on several inference backends and compare them token by token."""

from lockstep._core import FormatError
from lockstep.compare import LogitComparison, compare_logits
from lockstep.ggml_types import GGMLTypeInfo, ggml_type
from lockstep.loading import load
from lockstep.models import default_model_path
from lockstep.native import NativeModel
from lockstep import gguf, safetensors
from lockstep.quant import dequantize, quantize
from lockstep.inspect import ModelInfo, inspect
from lockstep.route import Route, RouteError, route
from lockstep.tokenizer import Tokenizer
# The function shadows its module's name on the package; import other names from
# lockstep.crossval with `from lockstep.crossval import ...`.
from lockstep.crossval import CrossvalReport, crossval

__version__ = "0.1.0"

__all__ = [
    "CrossvalReport",
    "FormatError",
    "LogitComparison",
    "compare_logits",
    "crossval",
    "GGMLTypeInfo",
    "ModelInfo",
    "Route",
    "RouteError",
    "default_model_path",
    "dequantize",
    "ggml_type",
    "load",
    "NativeModel",
    "gguf",
    "quantize",
    "inspect",
    "route",
    "safetensors",
    "Tokenizer",
]
