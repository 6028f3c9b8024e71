"""Whether each backend runs the feed-forward activation a model declares.

A model declares its activation in config.json (``hidden_act``) or, as a GGUF file, through its
architecture name or lockstep's ``lockstep.ffn_activation`` key (ModelInfo.ffn_activation). What
a backend runs on its model file is a fact about the backend (routing/support.py): llama.cpp's
graph fixes it per architecture and reads no key (its ``bitnet`` graph gates with SiLU, while
BitNet-2B-4T and the zoo's ``bitnet-b1.58`` need squared ReLU); the native engine runs what the
file declares; transformers runs a folder's ``hidden_act``. A disagreement is a backend that
computes another model than the one declared: its logits are wrong whatever the thresholds say.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lockstep.inspection.detect import describe
from lockstep.inspection.model_info import ModelInfo
from lockstep.routing.support import LLAMA_CPP_FFN_ACTIVATIONS, LLAMA_CPP_PINNED_VERSION


@dataclass(frozen=True)
class ActivationCheck:
    """One backend: the activation declared for the model, and the one the backend runs."""

    backend: str  # the backend's label in the report
    declared: str | None  # None: the model declares none
    declared_by: str | None  # e.g. "config.json hidden_act"
    runs: str | None  # None: not known for this backend and file
    runs_because: str

    @property
    def agrees(self) -> bool | None:
        """True or False when both sides are known, None when the check cannot tell."""
        return None if self.declared is None or self.runs is None else self.declared == self.runs

    @property
    def message(self) -> str:
        if self.agrees is None:
            return f"{self.backend}: activation not checked ({self.runs_because if self.runs is None else 'none declared'})"
        if self.agrees:
            return f"{self.backend} runs {self.runs}, as declared ({self.declared_by})"
        return (f"{self.backend} runs {self.runs} in the feed-forward ({self.runs_because}), "
                f"but the model declares {self.declared} ({self.declared_by})")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "agrees": self.agrees, "message": self.message}


def ffn_activation_run(backend: str, info: ModelInfo) -> tuple[str | None, str]:
    """(activation, why) that `backend` runs on the model `info` describes; activation None when not known."""
    arch = info.architecture
    if backend == "llama.cpp":
        if info.format == "gguf" and arch in LLAMA_CPP_FFN_ACTIVATIONS:
            return LLAMA_CPP_FFN_ACTIVATIONS[arch], f"llama.cpp {LLAMA_CPP_PINNED_VERSION}'s {arch} graph, whatever the file says"
        return None, f"llama.cpp's {arch} graph is not in lockstep's table"
    if backend == "native":
        if info.ffn_activation is None:
            return None, "the file declares no activation"
        return info.ffn_activation, f"the native engine follows {info.ffn_activation_source}"
    if backend == "hf" and info.format != "gguf" and info.ffn_activation is not None:
        return info.ffn_activation, f"transformers follows {info.ffn_activation_source}"
    return None, f"what {backend} runs on {info.format} {arch} models is not in lockstep's table"


def check_activations(model: str | os.PathLike[str], backends: list[tuple[str, str, str | os.PathLike[str]]]
                      ) -> list[ActivationCheck]:
    """One check per backend. `model` declares the activation (the crossval's model); `backends`
    are (label, registered name, the model file it runs)."""
    declared = describe(Path(model))
    infos: dict[Path, ModelInfo] = {Path(model): declared}
    checks = []
    for label, name, path in backends:
        if Path(path) not in infos:
            infos[Path(path)] = describe(Path(path))
        runs, because = ffn_activation_run(name, infos[Path(path)])
        checks.append(ActivationCheck(label, declared.ffn_activation, declared.ffn_activation_source, runs, because))
    return checks
