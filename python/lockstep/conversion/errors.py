"""Why a conversion stopped; the CLI maps each to its exit code."""


class ConvertError(ValueError):
    """The input folder cannot be converted: missing or malformed files, an unsupported
    architecture or tokenizer (CLI exit code 5, bad model file)."""


class UnsupportedTypeError(ValueError):
    """The requested output type does not apply to this model, e.g. a ternary type for a model
    whose weights are not ternary (CLI exit code 64, usage)."""
