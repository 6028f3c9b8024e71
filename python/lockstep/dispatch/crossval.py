"""Cross-validation of backends on one model: the Python front of the C++ dispatcher.

Order of the checks, each with its own exit code (DESIGN.md):
preflight (3) -> route and model file (5) -> template (4) -> tokenize + parity gate (2) -> logits
+ metrics -> verdict (0/1). A backend that cannot load its model file is exit 5 too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from lockstep import _core
from lockstep.backends.native import NativeModel
from lockstep.dispatch.localization import capture_free, localize_between, localize_fault
from lockstep.dispatch.noise_floor import FLOAT32_ARITHMETIC, judge_pair, measure_noise_floor, thresholds_from_floor
from lockstep.dispatch.report import CrossvalReport, PairReport, json_ready, pair_report, sha256_of_model
from lockstep.dispatch.specs import (
    BACKEND_SETS,
    BackendSpec,
    PreparedBackend,
    check_available,
    labels_for,
    prepare_backend,
    same_file,
)
from lockstep.dispatch.thresholds import resolve_thresholds
from lockstep.errors import ExitCode
from lockstep.routing.activation_check import check_activations
from lockstep.text.hints import tokenizer_hints
from lockstep.text.templates import RenderedPrompt, conversation, render


def crossval(
    path: str | Path,
    prompt: str | None = None,
    *,
    messages: Sequence[Mapping[str, str]] | None = None,
    system_prompt: str | None = None,
    backends: str | Sequence[str | BackendSpec | PreparedBackend] = "both",
    template: str = "auto",
    chat_template: str | Path | None = None,
    steps: int = 0,
    thresholds: Mapping[str, float] | None = None,
    top_k: int = 10,
    n_threads: int | None = None,
    inject_fault: str | None = None,
    localize: bool = True,
    noise_floor: bool = True,
    date: datetime | None = None,
) -> CrossvalReport:
    """Run one model on several backends and compare them token by token.

    ``backends``: ``"both"``, ``"all"``, or a sequence whose first entry is the reference; each
    entry a spec (``"hf"``, ``"llama.cpp=other.gguf"``) or a :class:`PreparedBackend`.
    ``path`` supplies the tokenizer hints and chat template, and the model of every spec
    without its own. ``thresholds`` overrides defaults (see :func:`resolve_thresholds`).
    ``localize``: capture every backend's hidden states and give each pair the layer and point
    where it first parts beyond the noise floor (lockstep.dispatch.localization); a localized
    block is a divergence.
    ``noise_floor``: judge cross-precision pairs against a control measured on this model and
    prompt (lockstep.dispatch.noise_floor) instead of the fixed band; explicit ``thresholds``
    turn it off (the fixed bands with those overrides decide).

    Raises BackendUnavailable (exit 3), TemplateError (exit 4), FormatError, FileNotFoundError
    or BackendLoadError (exit 5) before any backend computes; otherwise returns a report whose
    ``exit_code`` is 0, 1 or 2.
    """
    path = Path(path)
    entries = list(BACKEND_SETS.get(backends, (backends,)) if isinstance(backends, str) else backends)
    specs = [BackendSpec.parse(e) if isinstance(e, str) else e for e in entries]
    if len(specs) < 2:
        raise ValueError(f"crossval needs at least two backends, got {entries}")
    resolved_thresholds = resolve_thresholds(thresholds)
    for spec in specs:  # every backend's availability before anything is read or loaded
        if isinstance(spec, BackendSpec):
            check_available(spec)

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file or folder")
    hints, embedded = tokenizer_hints(path)
    turns = conversation(prompt=prompt, messages=messages, system_prompt=system_prompt)
    rendered = render(turns, template, chat_template_file=chat_template, embedded_template=embedded,
                      hints=hints, date=date)

    prepared = [
        s if isinstance(s, PreparedBackend) else prepare_backend(s, path, n_threads=n_threads, inject_fault=inject_fault)
        for s in specs
    ]
    labels = labels_for([(p.name, p.model) for p in prepared], path)
    # A backend on another model file renders that file's own chat template, as its users
    # would: a file whose template differs is caught by the token gate (different-template).
    texts = [
        rendered.text if same_file(p.model, path) else _render_for(p.model, turns, template, chat_template, date).text
        for p in prepared
    ]
    # The same tokenizer flags on every backend. The crossval's model's template decides BOS:
    # add_special follows it. Special tokens in the rendered text (chat markers) are always
    # parsed, as the model saw them in training.
    floor, floor_note = None, None
    if noise_floor and not thresholds:
        floor, floor_note = _noise_floor(path, rendered, steps, n_threads)
        if floor is not None:
            resolved_thresholds["cross-precision"] = thresholds_from_floor(floor, resolved_thresholds["cross-precision"])
    raw = _core.run_crossval([p.backend for p in prepared], labels, texts, rendered.add_bos, True,
                             resolved_thresholds, top_k, steps, n_threads or 0)
    tokens = dict(zip(raw.backends, raw.tokens))
    localization = None
    if inject_fault and raw.token_mismatch is None:
        native = next(((label, p) for label, p in zip(labels, prepared) if p.name == "native"), None)
        if native is not None:
            localization = localize_fault(native[1].model, tokens[native[0]], inject_fault, n_threads=n_threads)
            localization = {"backend": native[0], **localization} if localization else None
    pairs = [pair_report(p, top_k, steps) for p in raw.pairs]
    cross_pairs = [pair_report(p, top_k, 0) for p in raw.cross_pairs]
    if floor is not None:
        for pair in pairs + cross_pairs:
            if pair.precision_class == "cross-precision":
                judge_pair(pair, floor)
    exit_code, odd_one_out = raw.exit_code, raw.odd_one_out or None
    if localize and raw.token_mismatch is None:
        _localize_pairs(pairs + cross_pairs, dict(zip(labels, prepared)), tokens,
                        n_threads=n_threads, inject_fault=inject_fault)
    if raw.token_mismatch is None:
        # Every stage decides, a block localized above its floor too: one perturbed layer
        # moves SmolLM2 Q4_1's logits by less than the noise, but its block stands out.
        exit_code, odd_one_out = _verdict(labels, pairs, cross_pairs)
    return CrossvalReport(
        model=str(path),
        model_sha256=sha256_of_model(path),
        backends=[{"label": label, "name": p.name, "version": p.version, "capabilities": p.capabilities,
                   "model": {"path": str(p.model), "sha256": sha256_of_model(p.model)}}
                  for label, p in zip(labels, prepared)],
        prompt=rendered,
        texts={label: text for label, text in zip(labels, texts) if text != rendered.text},
        flags={"add_special": rendered.add_bos, "parse_special": True, "steps": steps, "top_k": top_k,
               "inject_fault": inject_fault, "template": template},
        thresholds=resolved_thresholds,
        tokens=tokens,
        token_mismatch=json_ready(raw.token_mismatch),
        pairs=pairs,
        cross_pairs=cross_pairs,
        odd_one_out=odd_one_out,
        reference_greedy=raw.reference_greedy,
        exit_code=exit_code,
        fault_localization=localization,
        noise_floor_note=floor_note,
        activation_checks=[c.to_dict() for c in
                           check_activations(path, [(label, p.name, p.model) for label, p in zip(labels, prepared)])],
    )


def _noise_floor(path: Path, rendered: RenderedPrompt, steps: int,
                 n_threads: int | None) -> tuple[dict[str, Any] | None, str | None]:
    """The cross-precision control on the crossval's model, or None and why not (the fixed
    band decides then)."""
    try:
        engine = NativeModel(path, n_threads=n_threads)
        if FLOAT32_ARITHMETIC in engine.capabilities():
            # Float weights meet float activations either way: no rounding for the control to
            # measure, and a floor of zero would flag every cross-precision pair.
            return None, ("no noise floor: the model's weights are float, so the native engine rounds no "
                          "activations to measure; the fixed cross-precision band decides")
        ids = engine.tokenize(rendered.text, add_special=rendered.add_bos, parse_special=True)
        return measure_noise_floor(path, ids, "cross-precision", steps=steps, n_threads=n_threads,
                                   engine=engine), None
    except (RuntimeError, ValueError, OSError) as error:  # FormatError is a ValueError
        return None, f"no noise floor (the native engine cannot run this model: {error}); the fixed bands decide"


def _verdict(labels: Sequence[str], pairs: Sequence[PairReport],
             cross_pairs: Sequence[PairReport]) -> tuple[int, str | None]:
    """Exit code and odd one out over every stage of every pair (pairs[i - 1] is backend 0
    against i; cross_pairs are (i, j), i < j, in order), the triangulation rule from C++."""
    index = {label: k for k, label in enumerate(labels)}
    diverged = [(index[p.reference], index[p.test]) for p in [*pairs, *cross_pairs] if not p.passed]
    odd = _core.odd_one_out(list(labels), sorted((min(x, y), max(x, y)) for x, y in diverged)) if len(labels) >= 3 else ""
    return int(ExitCode.LOGITS_DIVERGED if any(not p.passed for p in pairs) else ExitCode.OK), odd or None


def _localize_pairs(pairs: Sequence[PairReport], prepared: Mapping[str, PreparedBackend],
                    tokens: Mapping[str, list[int]], *, n_threads: int | None, inject_fault: str | None) -> None:
    """Sets each pair's localization and layer errors (lockstep.dispatch.localization's
    localize_between); each backend's hidden states are captured once. A pair where neither
    side can anchor (two native engines) is not localized."""
    free: dict[str, Any] = {}

    def free_states(label: str):
        if label not in free:
            p = prepared[label]
            free[label] = capture_free(p.name, p.backend, p.model, ids_of(label), n_threads=n_threads,
                                       inject_fault=inject_fault if p.name == "native" else None)
        return free[label]

    def ids_of(label: str) -> np.ndarray:
        return np.asarray(tokens[label], dtype=np.int32)

    for pair in pairs:
        compared = localize_between((pair.reference, prepared[pair.reference].backend),
                                    (pair.test, prepared[pair.test].backend), free_states, ids_of)
        if compared is not None:
            pair.localization = compared.localization
            pair.layer_errors = compared.table


def _render_for(model: Path, turns, template: str, chat_template, date) -> RenderedPrompt:
    hints, embedded = tokenizer_hints(model)
    return render(turns, template, chat_template_file=chat_template, embedded_template=embedded, hints=hints, date=date)
