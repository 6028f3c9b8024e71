"""lockstep: run one language model on several inference backends and compare them token by token.

The public API only; the pipeline's stages are the subpackages (docs/architecture.md):
formats -> text -> inspection -> routing -> backends -> dispatch -> conversion, zoo -> cli.
"""

from lockstep.backends.loading import load
from lockstep.backends.native import NativeModel
from lockstep.dispatch.corpus import CorpusDivergence, corpus_divergence
from lockstep.dispatch.crossval import crossval
from lockstep.dispatch.metrics import LogitComparison, compare_logits
from lockstep.dispatch.report import CrossvalReport
from lockstep.errors import BackendUnavailable, FormatError, RouteError, TemplateError
from lockstep.formats import gguf, safetensors
from lockstep.formats.ggml_types import GGMLTypeInfo, ggml_type
from lockstep.formats.quant import dequantize, quantize
from lockstep.inspection.model_info import ModelInfo
from lockstep.routing.inspect import inspect
from lockstep.routing.route import Route, route
from lockstep.text.tokenizer import Tokenizer
from lockstep.zoo.known_models import default_model_path

# The function shadows the subpackage's name on the package root, as DESIGN.md's API names it;
# `from lockstep.zoo import synthetic` still finds the subpackage.
from lockstep.zoo.sweep import zoo

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "CorpusDivergence",
    "CrossvalReport",
    "FormatError",
    "GGMLTypeInfo",
    "LogitComparison",
    "ModelInfo",
    "NativeModel",
    "Route",
    "RouteError",
    "TemplateError",
    "Tokenizer",
    "compare_logits",
    "corpus_divergence",
    "crossval",
    "default_model_path",
    "dequantize",
    "ggml_type",
    "gguf",
    "inspect",
    "load",
    "quantize",
    "route",
    "safetensors",
    "zoo",
]
