"""
lockstep's compiled core. Use the `lockstep` package, not this module.
"""
from __future__ import annotations

import collections.abc
import types
import typing

import numpy
import numpy.typing

__all__: list[str] = ['Backend', 'CHECKS', 'CrossvalResult', 'DEQUANTIZED_FLOAT32', 'FLOAT32_ARITHMETIC', 'FormatError', 'GGUFFile', 'GreedySplit', 'METRIC_COLUMNS', 'NativeModel', 'PairResult', 'SafetensorsCheckpoint', 'Sampler', 'StreamingDecoder', 'THRESHOLD_BANDS', 'THRESHOLD_NAMES', 'Thresholds', 'TokenIdError', 'TokenMismatch', 'TokenSide', 'Tokenizer', 'VocabAlignment', 'backend_names', 'compare_logits', 'create_backend', 'dequantize', 'engine_version', 'failed_checks', 'fault_catalogue', 'find_token_mismatch', 'ggml_types', 'gguf_open', 'kernels', 'native_support', 'odd_one_out', 'pre_tokenizer_patterns', 'precision_class', 'preflight_backend', 'quant_support', 'quantize', 'regex_split', 'register_backend', 'run_crossval', 'safetensors_open', 'thresholds', 'vocab_bridge']
class FormatError(ValueError):
    pass
class TokenIdError(ValueError):
    pass
class Tokenizer:
    @staticmethod
    def from_file(path: str) -> Tokenizer:
        ...
    def decode_bytes(self, ids: typing.Any, skip_special: bool = False) -> bytes:
        ...
    def encode(self, text: str, add_special: bool = False, parse_special: bool = False) -> numpy.typing.NDArray[numpy.int32]:
        ...
    def encode_bytes(self, text: bytes, add_special: bool = False, parse_special: bool = False) -> numpy.typing.NDArray[numpy.int32]:
        ...
    def is_control(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> bool:
        ...
    def token_text(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> str:
        ...
    def token_to_piece(self, id: typing.SupportsInt | typing.SupportsIndex) -> bytes:
        ...
    @property
    def add_bos(self) -> bool:
        ...
    @property
    def add_eos(self) -> bool:
        ...
    @property
    def bos_id(self) -> typing.Any:
        ...
    @property
    def eos_id(self) -> typing.Any:
        ...
    @property
    def vocab_size(self) -> int:
        ...
class StreamingDecoder:
    def __init__(self, tokenizer: Tokenizer, skip_special: bool = False) -> None:
        ...
    def flush(self) -> str:
        ...
    def push(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> str:
        ...
class NativeModel:
    def __init__(self, path: str, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, n_ctx: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = '', inject_fault: str = '', unrounded_activations: bool = False) -> None:
        ...
    def capabilities(self) -> list[str]:
        ...
    def eval(self, ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], all_logits: bool = True, capture: collections.abc.Sequence[str] = []) -> tuple[numpy.typing.NDArray[numpy.float32], dict]:
        ...
    def info(self) -> dict:
        ...
    def reset(self) -> None:
        ...
    def rewind(self, n_keep: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def tokenize(self, text: str, add_special: bool, parse_special: bool) -> numpy.typing.NDArray[numpy.int32]:
        ...
    def version(self) -> str:
        ...
    @property
    def n_ctx(self) -> int:
        ...
    @property
    def n_past(self) -> int:
        ...
    @property
    def tokenizer(self) -> Tokenizer:
        """
        The model's vocabulary (a _core.Tokenizer shared with the engine), None if it has none.
        """
class Thresholds:
    """
    The limits one position is judged by (src/dispatch/thresholds.h).
    """
    _fields: typing.ClassVar[tuple] = ('min_cosine', 'max_nmse', 'max_kl', 'top1_margin')
    @property
    def max_kl(self) -> float:
        ...
    @property
    def max_nmse(self) -> float:
        ...
    @property
    def min_cosine(self) -> float:
        ...
    @property
    def top1_margin(self) -> float:
        ...
class VocabAlignment:
    """
    How the two vocabularies of a pair were aligned.
    """
    _fields: typing.ClassVar[tuple] = ('identical', 'reference_size', 'test_size', 'aligned', 'unaligned_reference', 'unaligned_test', 'ambiguous_reference', 'ambiguous_test', 'examples_reference', 'examples_test', 'max_unaligned_mass_reference', 'max_unaligned_mass_test')
    @property
    def aligned(self) -> int:
        """
        ids with a counterpart
        """
    @property
    def ambiguous_reference(self) -> int:
        """
        unpaired because the piece is shared
        """
    @property
    def ambiguous_test(self) -> int:
        ...
    @property
    def examples_reference(self) -> list:
        """
        pieces without a counterpart
        """
    @property
    def examples_test(self) -> list:
        ...
    @property
    def identical(self) -> bool:
        """
        same pieces under the same ids
        """
    @property
    def max_unaligned_mass_reference(self) -> float:
        """
        largest probability on unaligned tokens at any position
        """
    @property
    def max_unaligned_mass_test(self) -> float:
        ...
    @property
    def reference_size(self) -> int:
        ...
    @property
    def test_size(self) -> int:
        ...
    @property
    def unaligned_reference(self) -> int:
        ...
    @property
    def unaligned_test(self) -> int:
        ...
class TokenSide:
    """
    One side of a token mismatch.
    """
    _fields: typing.ClassVar[tuple] = ('backend', 'id', 'counterpart', 'piece', 'window_ids', 'window_pieces')
    @property
    def backend(self) -> str:
        """
        label
        """
    @property
    def counterpart(self) -> int:
        """
        the bridged id in the other vocabulary (-1: none)
        """
    @property
    def id(self) -> int:
        """
        -1: the sequence ended first
        """
    @property
    def piece(self) -> bytes:
        ...
    @property
    def window_ids(self) -> list[int]:
        """
        context around the index
        """
    @property
    def window_pieces(self) -> list:
        ...
class TokenMismatch:
    """
    Where two tokenizations of one text part, and the likely cause.
    """
    _fields: typing.ClassVar[tuple] = ('index', 'window_start', 'a', 'b', 'cause', 'explanation')
    @property
    def a(self) -> TokenSide:
        ...
    @property
    def b(self) -> TokenSide:
        ...
    @property
    def cause(self) -> str:
        ...
    @property
    def explanation(self) -> str:
        ...
    @property
    def index(self) -> int:
        """
        first differing position
        """
    @property
    def window_start(self) -> int:
        """
        position of window_ids[0]
        """
class GreedySplit:
    """
    A teacher-forced step where the two top-1 choices part.
    """
    _fields: typing.ClassVar[tuple] = ('step', 'reference_token', 'test_token', 'margin', 'tie')
    @property
    def margin(self) -> float:
        """
        p_ref(reference_token) - p_ref(test_token)
        """
    @property
    def reference_token(self) -> int:
        """
        in the reference's ids
        """
    @property
    def step(self) -> int:
        ...
    @property
    def test_token(self) -> int:
        """
        in the reference's ids
        """
    @property
    def tie(self) -> bool:
        """
        margin within top1_margin: a tie flip, not a divergence
        """
class PairResult:
    """
    One backend compared with another.
    """
    _fields: typing.ClassVar[tuple] = ('reference', 'test', 'precision_class', 'thresholds', 'alignment', 'positions', 'first_divergence', 'divergence_reason', 'teacher_forced', 'teacher_forced_first_divergence', 'greedy_splits', 'free_running', 'free_running_agreement')
    @property
    def alignment(self) -> VocabAlignment:
        ...
    @property
    def divergence_reason(self) -> str:
        ...
    @property
    def first_divergence(self) -> int:
        """
        -1: none
        """
    @property
    def free_running(self) -> list[int]:
        """
        the test's own greedy tokens, its ids
        """
    @property
    def free_running_agreement(self) -> int:
        """
        leading tokens equal to the reference's
        """
    @property
    def greedy_splits(self) -> list:
        ...
    @property
    def positions(self) -> dict:
        """
        per prompt position
        """
    @property
    def precision_class(self) -> str:
        """
        which band applied
        """
    @property
    def reference(self) -> str:
        """
        label
        """
    @property
    def teacher_forced(self) -> dict:
        """
        per step of the reference's greedy path
        """
    @property
    def teacher_forced_first_divergence(self) -> int:
        """
        -1: none
        """
    @property
    def test(self) -> str:
        """
        label
        """
    @property
    def thresholds(self) -> Thresholds:
        ...
class CrossvalResult:
    """
    What run_crossval found (src/dispatch/crossval.h).
    """
    _fields: typing.ClassVar[tuple] = ('exit_code', 'backends', 'tokens', 'token_mismatch', 'pairs', 'reference_greedy', 'odd_one_out', 'cross_pairs')
    @property
    def backends(self) -> list[str]:
        """
        labels
        """
    @property
    def cross_pairs(self) -> list:
        """
        the non-reference pairs
        """
    @property
    def exit_code(self) -> int:
        """
        0 within thresholds, 1 diverged, 2 token mismatch
        """
    @property
    def odd_one_out(self) -> str:
        """
        '' when none
        """
    @property
    def pairs(self) -> list:
        """
        each backend against the reference
        """
    @property
    def reference_greedy(self) -> list[int]:
        ...
    @property
    def token_mismatch(self) -> typing.Any:
        ...
    @property
    def tokens(self) -> list[list[int]]:
        """
        per backend, its own ids
        """
class Backend:
    """
    Base class of every backend; subclass it in Python.
    """
    def __init__(self) -> None:
        ...
    def bos_id(self) -> int:
        ...
    def capabilities(self) -> list[str]:
        ...
    def name(self) -> str:
        ...
    def version(self) -> str:
        ...
    def vocab_size(self) -> int:
        ...
class GGUFFile:
    """
    A validated GGUF file; use lockstep.gguf.open, which wraps this.
    """
    def get_bool(self, key: str) -> bool | None:
        ...
    def get_float(self, key: str) -> float | None:
        ...
    def get_floats(self, key: str) -> list[float]:
        ...
    def get_ints(self, key: str) -> list[int]:
        ...
    def get_string(self, key: str) -> str | None:
        ...
    def get_strings(self, key: str) -> list[str]:
        ...
    def get_uint(self, key: str) -> int | None:
        ...
    def metadata(self) -> dict:
        ...
    def metadata_types(self) -> dict:
        ...
    def tensor_bytes(self, arg0: str) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        ...
    def tensor_infos(self) -> list:
        ...
    @property
    def alignment(self) -> int:
        ...
    @property
    def data_offset(self) -> int:
        ...
    @property
    def path(self) -> str:
        ...
    @property
    def version(self) -> int:
        ...
class SafetensorsCheckpoint:
    def tensor_infos(self) -> list:
        ...
    def view(self, name: str, dtype: numpy.dtype[typing.Any], shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        ...
    @property
    def files(self) -> list[str]:
        ...
    @property
    def metadata(self) -> dict:
        ...
class Sampler:
    def __init__(self, temperature: typing.SupportsFloat | typing.SupportsIndex = 0.0, top_k: typing.SupportsInt | typing.SupportsIndex = 0, top_p: typing.SupportsFloat | typing.SupportsIndex = 1.0, min_p: typing.SupportsFloat | typing.SupportsIndex = 0.0, repeat_penalty: typing.SupportsFloat | typing.SupportsIndex = 1.0, presence_penalty: typing.SupportsFloat | typing.SupportsIndex = 0.0, frequency_penalty: typing.SupportsFloat | typing.SupportsIndex = 0.0, penalty_last_n: typing.SupportsInt | typing.SupportsIndex = 64, seed: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def probabilities(self, logits: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], history: typing.Annotated[numpy.typing.ArrayLike, numpy.int32]) -> numpy.typing.NDArray[numpy.float64]:
        ...
    def sample(self, logits: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], history: typing.Annotated[numpy.typing.ArrayLike, numpy.int32]) -> int:
        ...
def backend_names() -> list[str]:
    ...
def compare_logits(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], next_tokens: typing.Annotated[numpy.typing.ArrayLike, numpy.int32] | None = None, top_k: typing.SupportsInt | typing.SupportsIndex = 10, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = '') -> dict:
    ...
def create_backend(name: str, path: str, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, inject_fault: str = '') -> Backend:
    ...
def dequantize(raw: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8], type_id: typing.SupportsInt | typing.SupportsIndex, n_elements: typing.SupportsInt | typing.SupportsIndex, row_length: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    ...
def engine_version() -> str:
    """
    "lockstep X.Y.Z": the version this engine was built as.
    """
def failed_checks(columns: dict, thresholds: dict) -> numpy.typing.NDArray[numpy.uint8]:
    """
    Per position, the thresholds it breaks as bits: 1 cosine, 2 NMSE, 4 KL, 8 top-1 (the crossval's rule).
    """
def fault_catalogue() -> list[tuple[str, str]]:
    """
    (name, description) of every fault the native engine can inject.
    """
def find_token_mismatch(a: Backend, label_a: str, ids_a: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], b: Backend, label_b: str, ids_b: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], text: str = '', window: typing.SupportsInt | typing.SupportsIndex = 4) -> TokenMismatch | None:
    """
    The token-parity gate on two id sequences of one text: None, or where and most likely why they differ.
    """
def ggml_types() -> dict:
    ...
def gguf_open(path: str) -> GGUFFile:
    ...
def native_support() -> dict:
    """
    What the native engine runs: architecture names (GGUF general.architecture and config.json model_type), the ggml types its matmul reads, the safetensors dtypes it reads, the feed-forward activation of each GGUF architecture and the GGUF key that overrides it.
    """
def odd_one_out(labels: collections.abc.Sequence[str], diverged_pairs: collections.abc.Sequence[tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]]) -> str:
    """
    The triangulation rule: the label whose every pair diverged while all others agreed ('' if none); diverged_pairs holds (x, y) index pairs with x < y.
    """
def pre_tokenizer_patterns(family: str) -> list[str]:
    ...
def precision_class(name_a: str, capabilities_a: collections.abc.Sequence[str], name_b: str, capabilities_b: collections.abc.Sequence[str]) -> str:
    ...
def preflight_backend(arg0: str) -> typing.Any:
    ...
def quant_support() -> dict:
    ...
def quantize(values: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], type_id: typing.SupportsInt | typing.SupportsIndex, row_length: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.uint8]:
    ...
def regex_split(pattern: str, text: str) -> list[str]:
    ...
def register_backend(name: str, preflight: collections.abc.Callable, create: collections.abc.Callable) -> None:
    ...
def run_crossval(backends: collections.abc.Sequence[Backend], labels: collections.abc.Sequence[str], texts: collections.abc.Sequence[str], add_special: bool, parse_special: bool, thresholds: dict, top_k: typing.SupportsInt | typing.SupportsIndex = 10, steps: typing.SupportsInt | typing.SupportsIndex = 0, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> CrossvalResult:
    """
    Run the crossval pipeline; thresholds: {band: {name: value}} with band same-arithmetic | cross-precision.
    """
def safetensors_open(path: str) -> SafetensorsCheckpoint:
    ...
def thresholds(overrides: collections.abc.Mapping[str, typing.SupportsFloat | typing.SupportsIndex] = {}) -> dict:
    """
    The thresholds per band, {band: {name: value}}: the defaults with overrides applied, each keyed NAME (both bands) or BAND.NAME. Unknown names raise ValueError.
    """
def vocab_bridge(pieces_a: collections.abc.Sequence[str], pieces_b: collections.abc.Sequence[str]) -> dict:
    """
    Pair the ids of two vocabularies (lists of token pieces as bytes) by piece.
    """
CHECKS: dict = {1: 'cosine', 2: 'NMSE', 4: 'KL', 8: 'top-1'}
DEQUANTIZED_FLOAT32: str = 'dequantized-float32'
FLOAT32_ARITHMETIC: str = 'float32-arithmetic'
METRIC_COLUMNS: tuple = ('cosine', 'max_abs_diff', 'nmse', 'kl', 'top1_a', 'top1_b', 'top1_margin', 'topk_overlap', 'kendall_tau', 'p_next_a', 'p_next_b', 'nll_a', 'nll_b')
THRESHOLD_BANDS: tuple = ('same-arithmetic', 'cross-precision')
THRESHOLD_NAMES: tuple = ('min_cosine', 'max_nmse', 'max_kl', 'top1_margin')
kernels: types.ModuleType  # the compute kernels, for tests (src/bindings/register_kernels.cpp)
