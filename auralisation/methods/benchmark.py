"""The listenable-maps benchmark: every method's mask scored by the seven numbers, in and out of distribution.

For each test clip and each condition, the clip's class ``c`` is the one the classifier predicts, every method
explains ``c`` (through its logit, :func:`~.attribute.attribute`; L-MAC through its decoder), each map becomes a
mask (:func:`~.listenable.map_to_mask`, both settings) and the masked-in and masked-out spectrograms are scored
(:func:`~.listenable.mask_scores`). The conditions follow SpeechBrain's ESC-50 ``interpret`` evaluation
(``eval.py``'s ``generate_mixture``):

* ``clean``: the clip itself (in distribution);
* ``mixture``: ``0.8 * s / ||s|| + 0.2 * t / ||t||``, peak-normalised, where ``t`` is a clip of another class
  (drawn at random, seeded);
* ``noise``: the same mixture with white Gaussian noise as ``t`` (the clip 12 dB above the noise).

Intervals are percentile bootstrap intervals over clips (:func:`~auralisation.analysis.correlation.bootstrap_ci`).
The run writes its per-clip scores after each clip (``out``), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import keras
import numpy as np
from tqdm.auto import tqdm

from ..analysis.correlation import Interval, bootstrap_ci
from ..choices import LISTENABLE_METHODS
from ..audio import AudioConfig, load_clip, stft
from ..data import Excerpt
from ..errors import ModelError, ParameterError
from ..fileio import atomic_write_text
from .attribute import METHODS, attribute
from .lmac import LMAC
from .listenable import HIGHER_IS_BETTER, MASKINGS, SCORES, apply_mask, map_to_mask, mask_scores

__all__ = [
    "CONDITIONS", "LISTENABLE_METHODS", "Benchmark", "format_benchmark", "listenable_benchmark",
    "summarise_benchmark",
]

#: In distribution, then the two out-of-distribution conditions.
CONDITIONS: tuple[str, ...] = ("clean", "mixture", "noise")


#: Weight of the clip in a mixture (the recipe's 0.8; the other clip or the noise gets 0.2).
CLIP_WEIGHT = 0.8

#: The published figures, as context: another model on another data set.
PUBLISHED = (
    "Published L-MAC figures (Paissan et al., ICML 2024): CNN14 on ESC-50, in distribution and on mixtures "
    "with other clips and with noise; another model and another data set, so context only. We have not "
    "checked their exact values here: see the paper's tables (arXiv:2403.13086)."
)


def spread(n: int, k: int | None) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (all of them when ``k`` is ``None`` or at least ``n``), so that
    a sample of a split ordered by class and track still covers every class.

    Examples
    --------
    >>> spread(10, 4)
    [0, 2, 5, 7]
    """
    if k is None or k >= n:
        return list(range(n))
    if k < 1:
        raise ParameterError(f"score at least one clip, got {k}")
    return [int(i) for i in np.floor(np.arange(k) * n / k)]


def mix(clip: np.ndarray, other: np.ndarray, *, weight: float = CLIP_WEIGHT) -> np.ndarray:
    """``weight * clip / ||clip|| + (1 - weight) * other / ||other||``, scaled to a peak of 1 (float32).

    Examples
    --------
    >>> mix(np.array([3.0, 0.0]), np.array([0.0, 2.0])).tolist()
    [1.0, 0.25]
    """
    s = np.asarray(clip, dtype=np.float64)
    t = np.asarray(other, dtype=np.float64)
    if s.shape != t.shape:
        raise ModelError(f"cannot mix clips of {s.shape} and {t.shape} samples")
    norms = np.linalg.norm(s), np.linalg.norm(t)
    if min(norms) == 0:
        raise ModelError("cannot mix a silent clip: its norm is 0")
    mixture = weight * s / norms[0] + (1.0 - weight) * t / norms[1]
    return (mixture / np.abs(mixture).max()).astype(np.float32)


def condition_waveform(
    excerpts: Sequence[Excerpt],
    index: int,
    condition: Literal["clean", "mixture", "noise"],
    config: AudioConfig,
    *,
    seed: int = 0,
) -> np.ndarray:
    """The waveform of excerpt ``index`` under ``condition`` (see the module's docstring); seeded per clip.

    Raises
    ------
    ParameterError
        An unknown condition.
    ModelError
        A mixture asked of excerpts that all share one class.
    """
    if condition not in CONDITIONS:
        raise ParameterError(f"unknown condition {condition!r}; choose one of {', '.join(CONDITIONS)}")
    excerpt = excerpts[index]
    y = load_clip(excerpt.path, config, excerpt.offset)
    if condition == "clean":
        return y
    rng = np.random.default_rng([seed, index, CONDITIONS.index(condition)])
    if condition == "noise":
        return mix(y, rng.standard_normal(y.shape))
    others = [i for i, other in enumerate(excerpts) if other.label != excerpt.label]
    if not others:
        raise ModelError("a mixture needs clips of at least two classes; give more of the test split")
    other = excerpts[int(rng.choice(others))]
    return mix(y, load_clip(other.path, config, other.offset))


def explanation_map(
    model: keras.Model,
    spectrogram: np.ndarray,
    method: str,
    class_index: int,
    *,
    lmac: LMAC | None = None,
    options: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """The map of ``method`` for class ``class_index`` of one spectrogram; for ``"lmac"``, the decoder's mask.

    L-MAC explains the class the classifier predicts; asking it for another class raises :class:`ModelError`.
    """
    if method == "lmac":
        if lmac is None:
            raise ModelError(
                "method 'lmac' needs a trained decoder: load_lmac(MODEL_DIR, model), or train one with "
                "`auralisation lmac --model MODEL_DIR --data DATASET`"
            )
        predicted = int(np.argmax(model(spectrogram[None, ..., None], training=False)[0]))
        if predicted != class_index:
            raise ModelError(
                f"the L-MAC decoder explains the predicted class ({predicted}), not class {class_index}"
            )
        return lmac.mask(spectrogram)
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; choose one of {', '.join(LISTENABLE_METHODS)}")
    return attribute(model, spectrogram, method, class_index=class_index, **(options or {}))


@dataclasses.dataclass
class Benchmark:
    """Per-clip scores of every method, condition and masking, and the time each method took.

    Attributes
    ----------
    scores : dict
        ``scores[condition][masking][method][score]``: a list of per-clip values (see :data:`.listenable.SCORES`).
    seconds : dict of str to float
        Seconds each method spent making maps, over every clip and condition.
    clips : list of int
        The excerpts (indices into the list given) scored so far.
    accuracy : dict of str to list of float
        Per condition, 1 for each clip whose predicted class is its label, else 0.
    fingerprint : str
        Digest of the model's (and decoder's) weights and of the settings: a saved run is resumed only by a run
        with the same fingerprint.
    """

    scores: dict[str, dict[str, dict[str, dict[str, list[float]]]]]
    seconds: dict[str, float]
    clips: list[int]
    accuracy: dict[str, list[float]]
    fingerprint: str = ""

    @property
    def methods(self) -> list[str]:
        """The methods scored."""
        return list(self.seconds)

    def table(
        self, condition: str = "clean", masking: str = "normalised", *, n_boot: int = 1000, seed: int = 0
    ) -> list[dict[str, Any]]:
        """One row per method: its name and an :class:`Interval` (mean and 95 % bootstrap interval) per score."""
        by_method = self.scores[condition][masking]
        return [
            {
                "method": method,
                **{name: bootstrap_ci(np.array(by_method[method][name]), n_boot=n_boot, seed=seed) for name in SCORES},
            }
            for method in self.methods
        ]

    def to_json(self) -> str:
        """The per-clip record as JSON (what :meth:`from_json` reads)."""
        return json.dumps(dataclasses.asdict(self)) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Benchmark":
        """The record :meth:`to_json` wrote."""
        return cls(**json.loads(text))


def _empty(
    methods: Sequence[str], conditions: Sequence[str], maskings: Sequence[str], fingerprint: str
) -> Benchmark:
    return Benchmark(
        scores={c: {k: {m: {s: [] for s in SCORES} for m in methods} for k in maskings} for c in conditions},
        seconds={m: 0.0 for m in methods},
        clips=[],
        accuracy={c: [] for c in conditions},
        fingerprint=fingerprint,
    )


def _fingerprint(models: Sequence[keras.Model], settings: Mapping[str, Any]) -> str:
    """SHA-1 of the models' weights and of the settings (as JSON)."""
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode())
    for model in models:
        for weight in model.get_weights():
            digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def _probabilities(model: keras.Model, spectrograms: np.ndarray, batch_size: int) -> np.ndarray:
    """``f(X)`` for a batch ``(n, bins, frames)``: float64 ``(n, classes)``."""
    x = np.asarray(spectrograms, dtype=np.float32)[..., None]
    out = [model(x[i : i + batch_size], training=False).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(out).astype(np.float64)


def listenable_benchmark(
    model: keras.Model,
    excerpts: Sequence[Excerpt],
    classes: Sequence[str],
    config: AudioConfig,
    *,
    methods: Sequence[str] = LISTENABLE_METHODS,
    clips: Sequence[int] | None = None,
    conditions: Sequence[str] = CONDITIONS,
    maskings: Sequence[str] = MASKINGS,
    threshold: float = 0.5,
    lmac: LMAC | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    out: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> Benchmark:
    """Score every method's masks on ``excerpts`` (the test split, say) in every condition.

    Parameters
    ----------
    model : keras.Model
        The classifier (a softmax over ``classes``); not modified.
    excerpts : sequence of Excerpt
        The clips (a mixture's partner is drawn from all of them).
    classes : sequence of str
        The model's class names (for the accuracy per condition).
    config : AudioConfig
        The model's.
    methods : sequence of str
        Among :data:`LISTENABLE_METHODS`; ``"lmac"`` needs ``lmac``.
    clips : sequence of int, optional
        Indices of the excerpts to score; default: all.
    conditions, maskings : sequence of str
        Among :data:`CONDITIONS` and :data:`~.listenable.MASKINGS`.
    threshold : float
        Of the ``"threshold"`` masking, relative to the map's maximum.
    lmac : LMAC, optional
        The trained decoder (:func:`~.lmac.load_lmac`).
    options : mapping, optional
        Method -> options for :func:`~.attribute.attribute` (say ``{"occlusion": {"patch": (32, 16)}}``).
    out : path-like, optional
        A JSON file of per-clip scores, written after each clip; a run with the same model, decoder and settings
        finds the clips already there and goes on from them; a file from another model or other settings is
        started afresh.
    batch_size : int
        Spectrograms per forward pass.
    seed : int
        Seeds the mixtures' partners and the noise.
    progress : bool
        Show a progress bar over clips.

    Returns
    -------
    Benchmark
    """
    for method in methods:
        if method not in LISTENABLE_METHODS:
            raise ParameterError(f"unknown method {method!r}; choose among {', '.join(LISTENABLE_METHODS)}")
    if "lmac" in methods and lmac is None:
        raise ModelError("'lmac' is among the methods but no decoder was given; load one with load_lmac")
    unknown = sorted(set(conditions) - set(CONDITIONS)) + sorted(set(maskings) - set(MASKINGS))
    if unknown:
        raise ModelError(
            f"unknown condition or masking {', '.join(unknown)}; conditions are {', '.join(CONDITIONS)}, maskings "
            f"{', '.join(MASKINGS)}"
        )
    label_of = {name: i for i, name in enumerate(classes)}
    settings = {
        "methods": list(methods),
        "conditions": list(conditions),
        "maskings": list(maskings),
        "threshold": threshold,
        "options": options or {},
        "seed": seed,
        "excerpts": [dataclasses.astuple(excerpt) for excerpt in excerpts],
    }
    fingerprint = _fingerprint([model] + ([lmac.decoder] if lmac is not None and "lmac" in methods else []), settings)
    result = _empty(methods, conditions, maskings, fingerprint)
    if out is not None and Path(out).is_file():
        saved = Benchmark.from_json(Path(out).read_text())
        if saved.fingerprint == fingerprint:
            result = saved
    wanted = range(len(excerpts)) if clips is None else clips
    done = set(result.clips)
    todo = [i for i in wanted if i not in done]
    for index in tqdm(todo, disable=not progress, unit="clip", desc="listenable benchmark"):
        for condition in conditions:
            y = condition_waveform(excerpts, index, condition, config, seed=seed)
            s = np.abs(stft(y, config)).astype(np.float32)
            probabilities = _probabilities(model, s[None], batch_size)
            c = int(probabilities[0].argmax())
            result.accuracy[condition].append(float(c == label_of.get(excerpts[index].label, -1)))
            masks = []
            for method in methods:
                started = time.perf_counter()
                saliency = explanation_map(
                    model, s, method, c, lmac=lmac, options=(options or {}).get(method)
                )
                result.seconds[method] += time.perf_counter() - started
                masks += [
                    map_to_mask(saliency, masking, threshold=threshold, scale=method != "lmac") for masking in maskings
                ]
            masks = np.stack(masks)
            masked_in, masked_out = apply_mask(np.broadcast_to(s, masks.shape), masks)
            p_in = _probabilities(model, masked_in, batch_size)
            p_out = _probabilities(model, masked_out, batch_size)
            p = np.repeat(probabilities, len(masks), axis=0)
            per_mask = mask_scores(p, p_in, p_out, masks)
            keys = [(method, masking) for method in methods for masking in maskings]
            for row, (method, masking) in enumerate(keys):
                for name in SCORES:
                    result.scores[condition][masking][method][name].append(float(per_mask[name][row]))
        result.clips.append(index)
        if out is not None:
            atomic_write_text(out, result.to_json())
    return result


def format_benchmark(
    result: Benchmark, *, masking: str = "normalised", conditions: Sequence[str] | None = None
) -> str:
    """A Markdown table per condition: every method x the seven numbers, ``mean [low, high]``; best in bold."""

    def cell(interval: Interval, digits: int) -> str:
        return f"{interval.mean:.{digits}f} [{interval.low:.{digits}f}, {interval.high:.{digits}f}]"

    digits = {"AI": 1, "AD": 1, "AG": 1, "FF": 3, "Fid-In": 2, "SPS": 2, "COMP": 2}
    arrows = {name: "↑" if HIGHER_IS_BETTER[name] else "↓" for name in SCORES}
    blocks = []
    for condition in conditions or list(result.scores):
        rows = result.table(condition, masking)
        best = {}
        for name in SCORES:
            means = [row[name].mean for row in rows if np.isfinite(row[name].mean)]
            if means:
                best[name] = max(means) if HIGHER_IS_BETTER[name] else min(means)
        lines = [
            f"**{condition}** ({len(result.clips)} clips, {masking} masks; accuracy "
            f"{100 * np.mean(result.accuracy[condition]):.0f} %)",
            "",
            "| method | " + " | ".join(f"{name} {arrows[name]}" for name in SCORES) + " | seconds per clip |",
            "|---|" + "---|" * (len(SCORES) + 1),
        ]
        for row in rows:
            cells = []
            for name in SCORES:
                text = cell(row[name], digits[name])
                cells.append(f"**{text}**" if row[name].mean == best.get(name) else text)
            per_clip = result.seconds[row["method"]] / max(len(result.clips) * len(result.scores), 1)
            lines.append(f"| {row['method']} | " + " | ".join(cells) + f" | {per_clip:.3f} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + f"\n\n{PUBLISHED}\n"


def summarise_benchmark(result: Benchmark, *, masking: str = "normalised") -> str:
    """A few sentences per condition, from the numbers: the best method on each score, and where the paper's
    deconvolution ranks among the methods on faithfulness (FF) and on the masked-in clip (AD, Fid-In)."""
    lines = []
    for condition in result.scores:
        rows = {row["method"]: row for row in result.table(condition, masking, n_boot=200)}
        best = []
        for name in SCORES:
            finite = {m: row[name].mean for m, row in rows.items() if np.isfinite(row[name].mean)}
            if finite:
                pick = max if HIGHER_IS_BETTER[name] else min
                winner = pick(finite, key=finite.get)
                best.append(f"{name} {winner} ({finite[winner]:.3g})")
        line = f"{condition} ({len(result.clips)} clips, {masking} masks): best " + "; ".join(best) + "."
        if "deconvnet" in rows:
            ranks = []
            for name in ("FF", "AD", "Fid-In"):
                order = sorted(rows, key=lambda m: rows[m][name].mean, reverse=HIGHER_IS_BETTER[name])
                ranks.append(f"{order.index('deconvnet') + 1} of {len(order)} on {name}")
            line += " Deconvolution ranks " + ", ".join(ranks) + "."
        lines.append(line)
    return "\n".join(lines)
