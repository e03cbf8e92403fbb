"""The listenable-maps benchmark: every method's mask scored by the seven numbers, in and out of distribution.

For each test clip and each condition, the clip's class ``c`` is the one the classifier predicts, every method
explains ``c`` (through its logit, :func:`~.attribute.attribute`; L-MAC through its decoder), each map becomes a
mask (:func:`~.listenable.map_to_mask`, both settings) and the masked-in and masked-out spectrograms are scored
(:func:`~.listenable.mask_scores`). The conditions follow SpeechBrain's ESC-50 ``interpret`` evaluation
(``eval.py``'s ``generate_mixture``):

* ``clean``: the clip itself (in distribution);
* ``mixture``: ``s / ||s|| + 0.25 * t / ||t||`` (0.8 and 0.2 of the two), peak-normalised, where ``t`` is a clip of
  another class (drawn at random, seeded): the clip 12 dB above the other;
* ``noise``: ``s / ||s|| + 0.5 * n / ||n||`` with white Gaussian noise ``n``, as the recipe builds it: the clip
  6 dB above the noise (until 2026-12-06 this was the milder 12 dB of the mixture).

**Baselines any method must beat**, scored beside every method on the same clips (:data:`BASELINES`): the all-ones
mask (the clip itself) and the all-zeros mask; and for each method and masking, a constant mask at the method's
mean value on the clip (``constant@method``) and the method's own mask values shuffled over the bins
(``random@method``: a random mask at exactly the method's sparsity, SPS and COMP). A method that does no better
than its own constant or shuffled mask on FF or Fid-In earns its score by its density, not by where it puts it.

**Equal sparsity**: every method's map is also turned into a binary mask that keeps its top ``q`` % of bins, for
``q`` in :data:`SPARSITIES` (and a random ``q`` % as the reference), so that methods are compared at the same
density (``Benchmark.sparsity``; :func:`sparsity_curves`).

Intervals are percentile bootstrap intervals over clips (:func:`~auralisation.analysis.bootstrap.bootstrap`).
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

from ..analysis.bootstrap import Interval, bootstrap
from ..choices import LISTENABLE_METHODS
from ..audio import AudioConfig, load_clip, stft
from ..data import Excerpt
from ..errors import ModelError, ParameterError
from ..fileio import atomic_write_text
from .attribute import METHODS, attribute
from .lmac import LMAC
from .listenable import HIGHER_IS_BETTER, MASKINGS, SCORES, apply_mask, map_to_mask, mask_scores

__all__ = [
    "BASELINES", "CONDITIONS", "LISTENABLE_METHODS", "SPARSITIES", "Benchmark", "format_benchmark", "format_sparsity",
    "listenable_benchmark", "sparsity_curves", "summarise_benchmark", "top_fraction_mask", "trivial_wins",
]

#: In distribution, then the two out-of-distribution conditions.
CONDITIONS: tuple[str, ...] = ("clean", "mixture", "noise")

#: Gain of the other clip in a mixture, against the clip's 1 (the recipe's 0.8 and 0.2).
MIXTURE_GAIN = 0.25

#: Gain of the noise, against the clip's 1 (the recipe's ``s / |s| + 0.5 n / |n|``).
NOISE_GAIN = 0.5

#: The trivial masks scored beside the methods (``constant@`` and ``random@`` are per method).
BASELINES: tuple[str, ...] = ("ones", "zeros", "constant@", "random@")

#: Shares of bins (%) kept by the equal-sparsity comparison.
SPARSITIES: tuple[int, ...] = (5, 10, 20, 50)

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


def mix(clip: np.ndarray, other: np.ndarray, *, gain: float = MIXTURE_GAIN) -> np.ndarray:
    """``clip / ||clip|| + gain * other / ||other||``, scaled to a peak of 1 (float32).

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
    mixture = s / norms[0] + gain * t / norms[1]
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
        return mix(y, rng.standard_normal(y.shape), gain=NOISE_GAIN)
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
    sparsity : dict
        ``sparsity[condition][q][method][score]``: per-clip scores of each method's top ``q`` % of bins as a binary
        mask (``q`` as a string, :data:`SPARSITIES`), and of ``"random"`` ``q`` % of bins.

    ``scores[condition][masking]`` also holds the baselines (:data:`BASELINES`) after the methods.
    """

    scores: dict[str, dict[str, dict[str, dict[str, list[float]]]]]
    seconds: dict[str, float]
    clips: list[int]
    accuracy: dict[str, list[float]]
    fingerprint: str = ""
    sparsity: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = dataclasses.field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        """The methods scored."""
        return list(self.seconds)

    def table(
        self, condition: str = "clean", masking: str = "normalised", *, n_boot: int = 1000, seed: int = 0
    ) -> list[dict[str, Any]]:
        """One row per method, then per baseline: its name and an :class:`Interval` (mean and 95 % bootstrap
        interval over clips) per score."""
        by_method = self.scores[condition][masking]
        return [
            {
                "method": method,
                **{name: bootstrap(np.array(by_method[method][name]), n_boot=n_boot, seed=seed) for name in SCORES},
            }
            for method in by_method
        ]

    def to_json(self) -> str:
        """The per-clip record as JSON (what :meth:`from_json` reads)."""
        return json.dumps(dataclasses.asdict(self)) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Benchmark":
        """The record :meth:`to_json` wrote."""
        return cls(**json.loads(text))


def _baseline_names(methods: Sequence[str]) -> list[str]:
    """The baselines' rows: all-ones, all-zeros, then a constant and a shuffled mask per method."""
    return ["ones", "zeros"] + [f"{kind}{method}" for kind in ("constant@", "random@") for method in methods]


def _empty(
    methods: Sequence[str], conditions: Sequence[str], maskings: Sequence[str], fingerprint: str
) -> Benchmark:
    rows = [*methods, *_baseline_names(methods)]
    return Benchmark(
        scores={c: {k: {m: {s: [] for s in SCORES} for m in rows} for k in maskings} for c in conditions},
        seconds={m: 0.0 for m in methods},
        clips=[],
        accuracy={c: [] for c in conditions},
        fingerprint=fingerprint,
        sparsity={c: {str(q): {m: {s: [] for s in SCORES} for m in [*methods, "random"]} for q in SPARSITIES}
                  for c in conditions},
    )


def top_fraction_mask(saliency: np.ndarray, percent: float) -> np.ndarray:
    """A binary mask keeping the ``percent`` % of bins where the map is largest (at least one bin).

    Examples
    --------
    >>> top_fraction_mask(np.array([[0.1, 0.9], [0.5, -1.0]]), 50).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    if not 0.0 < percent <= 100.0:
        raise ParameterError(f"keep a share of bins in (0, 100] %, got {percent}")
    flat = np.asarray(saliency, dtype=np.float64).ravel()
    k = max(1, int(round(percent / 100.0 * flat.size)))
    mask = np.zeros(flat.size, dtype=np.float32)
    mask[np.argsort(-flat, kind="stable")[:k]] = 1.0
    return mask.reshape(np.shape(saliency))


def _baseline_masks(
    masks: Mapping[tuple[str, str], np.ndarray], maskings: Sequence[str], rng: np.random.Generator
) -> list[tuple[str, str, np.ndarray]]:
    """``(row, masking, mask)`` of every baseline for one clip: ones and zeros, and per method and masking its
    constant mask at the method's mean and its mask shuffled over the bins."""
    shape = next(iter(masks.values())).shape
    out = [(name, masking, np.full(shape, value, np.float32)) for masking in maskings
           for name, value in (("ones", 1.0), ("zeros", 0.0))]
    for (method, masking), mask in masks.items():
        out.append((f"constant@{method}", masking, np.full(shape, mask.mean(), np.float32)))
        out.append((f"random@{method}", masking, rng.permutation(mask.ravel()).reshape(shape)))
    return out


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
        "gains": [MIXTURE_GAIN, NOISE_GAIN],
        "sparsities": list(SPARSITIES),
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
            rng = np.random.default_rng([seed, index, CONDITIONS.index(condition), 1])
            by_key: dict[tuple[str, str], np.ndarray] = {}
            top: list[tuple[dict[str, list[float]], np.ndarray]] = []
            for method in methods:
                started = time.perf_counter()
                saliency = explanation_map(
                    model, s, method, c, lmac=lmac, options=(options or {}).get(method)
                )
                result.seconds[method] += time.perf_counter() - started
                for masking in maskings:
                    by_key[method, masking] = map_to_mask(saliency, masking, threshold=threshold,
                                                          scale=method != "lmac")
                for q in SPARSITIES:
                    top.append((result.sparsity[condition][str(q)][method], top_fraction_mask(saliency, q)))
            for q in SPARSITIES:
                top.append((result.sparsity[condition][str(q)]["random"], top_fraction_mask(rng.random(s.shape), q)))
            entries = [(result.scores[condition][masking][method], mask) for (method, masking), mask in by_key.items()]
            entries += [(result.scores[condition][masking][name], mask)
                        for name, masking, mask in _baseline_masks(by_key, maskings, rng)]
            entries += top
            masks = np.stack([mask for _, mask in entries])
            masked_in, masked_out = apply_mask(np.broadcast_to(s, masks.shape), masks)
            p_in = _probabilities(model, masked_in, batch_size)
            p_out = _probabilities(model, masked_out, batch_size)
            p = np.repeat(probabilities, len(masks), axis=0)
            per_mask = mask_scores(p, p_in, p_out, masks)
            for row, (target, _) in enumerate(entries):
                for name in SCORES:
                    target[name].append(float(per_mask[name][row]))
        result.clips.append(index)
        if out is not None:
            atomic_write_text(out, result.to_json())
    return result


def trivial_wins(
    result: Benchmark, condition: str = "clean", masking: str = "normalised", scores: Sequence[str] = ("FF", "Fid-In")
) -> list[tuple[str, str, str, float, float]]:
    """Where a trivial mask does at least as well as a method: ``(method, score, baseline, method's mean,
    baseline's mean)`` for every method, score and baseline (all-ones, all-zeros, the method's own constant and
    shuffled masks) whose mean is not worse than the method's."""
    means = {row["method"]: row for row in result.table(condition, masking, n_boot=10)}
    wins = []
    for method in result.methods:
        for name in scores:
            own = means[method][name].mean
            for baseline in ("ones", "zeros", f"constant@{method}", f"random@{method}"):
                other = means[baseline][name].mean
                if not (np.isfinite(own) and np.isfinite(other)):
                    continue
                if (other >= own) if HIGHER_IS_BETTER[name] else (other <= own):
                    wins.append((method, name, baseline, float(own), float(other)))
    return wins


def sparsity_curves(
    result: Benchmark, condition: str = "clean", score: str = "FF", *, n_boot: int = 1000, seed: int = 0
) -> dict[str, list[Interval]]:
    """Per method (and ``"random"``), ``score`` of its top-``q`` % mask for each ``q`` of :data:`SPARSITIES`, with
    intervals over clips: the comparison at equal sparsity."""
    by_q = result.sparsity[condition]
    methods = list(by_q[str(SPARSITIES[0])])
    return {method: [bootstrap(np.array(by_q[str(q)][method][score]), n_boot=n_boot, seed=seed) for q in SPARSITIES]
            for method in methods}


def format_benchmark(
    result: Benchmark, *, masking: str = "normalised", conditions: Sequence[str] | None = None
) -> str:
    """A Markdown table per condition: every method, then every baseline, x the seven numbers, ``mean [low, high]``;
    the best method's mean in bold (baselines are not ranked), and the masks' mean value (their density)."""

    def cell(interval: Interval, digits: int) -> str:
        return f"{interval.mean:.{digits}f} [{interval.low:.{digits}f}, {interval.high:.{digits}f}]"

    digits = {"AI": 1, "AD": 1, "AG": 1, "FF": 3, "Fid-In": 2, "SPS": 2, "COMP": 2}
    arrows = {name: "↑" if HIGHER_IS_BETTER[name] else "↓" for name in SCORES}
    blocks = []
    for condition in conditions or list(result.scores):
        rows = result.table(condition, masking)
        best = {}
        for name in SCORES:
            means = [row[name].mean for row in rows if row["method"] in result.seconds and np.isfinite(row[name].mean)]
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
            method = row["method"]
            is_method = method in result.seconds
            cells = []
            for name in SCORES:
                text = cell(row[name], digits[name])
                cells.append(f"**{text}**" if is_method and row[name].mean == best.get(name) else text)
            per_clip = (f"{result.seconds[method] / max(len(result.clips) * len(result.scores), 1):.3f}"
                        if is_method else "-")
            label = method if is_method else f"*baseline: {method}*"
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {per_clip} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + f"\n\n{PUBLISHED}\n"


def format_sparsity(result: Benchmark, *, scores: Sequence[str] = ("FF", "Fid-In")) -> str:
    """Markdown: per condition and score, every method's top-``q`` % binary mask for each ``q`` (equal sparsity)."""
    blocks = []
    for condition in result.sparsity:
        for score in scores:
            curves = sparsity_curves(result, condition, score, n_boot=200)
            lines = [f"**{condition}, {score}** at equal sparsity (top q % of each map's bins kept; "
                     f"{len(result.clips)} clips)", "",
                     "| method | " + " | ".join(f"q = {q} %" for q in SPARSITIES) + " |",
                     "|---|" + "---|" * len(SPARSITIES)]
            lines += [f"| {method} | " + " | ".join(f"{i.mean:.3f} [{i.low:.3f}, {i.high:.3f}]" for i in intervals)
                      + " |" for method, intervals in curves.items()]
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def summarise_benchmark(result: Benchmark, *, masking: str = "normalised") -> str:
    """A few sentences per condition, from the numbers: the best method on each score, the methods a trivial mask
    does as well as on FF or Fid-In, and where the paper's deconvolution ranks among the methods on faithfulness
    (FF) and on the masked-in clip (AD, Fid-In)."""
    lines = []
    for condition in result.scores:
        rows = {row["method"]: row for row in result.table(condition, masking, n_boot=200)
                if row["method"] in result.seconds}
        best = []
        for name in SCORES:
            finite = {m: row[name].mean for m, row in rows.items() if np.isfinite(row[name].mean)}
            if finite:
                pick = max if HIGHER_IS_BETTER[name] else min
                winner = pick(finite, key=finite.get)
                best.append(f"{name} {winner} ({finite[winner]:.3g})")
        line = f"{condition} ({len(result.clips)} clips, {masking} masks): best " + "; ".join(best) + "."
        beaten: dict[tuple[str, str], list[str]] = {}
        for method, name, baseline, _, other in trivial_wins(result, condition, masking):
            beaten.setdefault((method, name), []).append(f"{baseline} {other:.3g}")
        if beaten:
            line += " A trivial mask does as well as " + "; ".join(
                f"{method} on {name} ({rows[method][name].mean:.3g}: {', '.join(found)})"
                for (method, name), found in beaten.items()) + "."
        if "deconvnet" in rows:
            ranks = []
            for name in ("FF", "AD", "Fid-In"):
                order = sorted(rows, key=lambda m: rows[m][name].mean, reverse=HIGHER_IS_BETTER[name])
                ranks.append(f"{order.index('deconvnet') + 1} of {len(order)} on {name}")
            line += " Deconvolution ranks " + ", ".join(ranks) + "."
        lines.append(line)
    return "\n".join(lines)
