"""A static HTML report to see and hear a network's features on some clips: no server, no Jupyter.

:func:`build_report` writes, into one folder, ``index.html`` and beside it, per clip, the original audio and its
spectrogram, and per layer a figure of the most active features' deconvolved spectrograms (``D`` and ``|X| * D``)
with one ``<audio>`` player per feature (its auralisation, ``istft(X * D)``). Every asset is written atomically
first and the page last, so a page never points at a file that is not there yet. The page carries a small inline
script that checks, in the browser, that every player's audio decodes and every image loads, and writes the
result into the page (``<body data-selfcheck="ok">`` and a line at the bottom); it fetches nothing.

On the command line (:mod:`auralisation.cli.report`)::

    auralisation report --model models/choi2016 --audio a.wav b.wav --out results/report --n-features 4

Examples
--------
>>> from auralisation.io import load_model
>>> build_report(load_model("models/choi2016"), ["a.wav"], "results/report")  # doctest: +SKIP
PosixPath('results/report/index.html')
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import numpy as np
from tqdm.auto import tqdm

from ..audio import write_wav
from ..auralise import loudness_gains, synthesise
from ..clip import Clip
from ..errors import ModelError, ParameterError
from ..deconv.rules import Seeding
from ..features import feature_activations, strongest_first
from ..fileio import atomic_write_text
from ..frontends import require_magnitude_input
from ..methods import Attributor
from ..plotting.grids import feature_grid
from ..plotting.spectrograms import spectrogram
from ..plotting.style import save_figure
from ..models import TrainedModel
from .page import PAGE_STYLE, SELF_CHECK_SCRIPT

__all__ = ["PAGE", "build_report"]

#: File name of the page in the output folder.
PAGE = "index.html"

@dataclasses.dataclass
class _Feature:
    """One feature's entry on the page."""

    index: int
    activation: float
    audio: str


@dataclasses.dataclass
class _Layer:
    """One layer's section of a clip."""

    number: int
    name: str
    n_features: int
    figure: str
    features: list[_Feature]


@dataclasses.dataclass
class _ClipSection:
    """One clip's section of the page."""

    name: str
    source: Path | None
    audio: str
    figure: str
    prediction: str
    layers: list[_Layer]


def _slug(name: str, taken: set[str]) -> str:
    """A folder name for ``name``: safe characters only, unique among ``taken`` (which it joins)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "clip"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


def _relative(root: Path, path: Path) -> str:
    """``path`` relative to the page's folder ``root``, with forward slashes (for ``src`` attributes)."""
    return path.relative_to(root).as_posix()


def _prediction(trained: TrainedModel, clip: Clip, top: int = 3) -> str:
    """The model's ``top`` classes for ``clip`` with their probabilities, as text."""
    scores = np.asarray(trained.model(clip.S[None, ..., None], training=False))[0]
    best = np.argsort(-scores)[:top]
    return ", ".join(f"{trained.classes[i]} {scores[i]:.2f}" for i in best)


def _clip_section(
    trained: TrainedModel,
    attributor: Attributor,
    rule: str,
    clip: Clip,
    folder: Path,
    root: Path,
    layers: Sequence[int],
    n_features: int,
    seeding: Seeding,
    loudness: str,
) -> _ClipSection:
    """Write one clip's assets into ``folder``; return its section of the page (paths relative to ``root``)."""
    config = clip.config
    original_png = folder / "original.png"
    save_figure(spectrogram(clip.S, config, title=f"{clip.name}: |X|").figure, original_png)
    sections = []
    deconvolver = attributor.deconvolver(rule)
    for layer in layers:
        name = deconvolver.layer_name(layer)
        activations = feature_activations(deconvolver, clip, layer)
        chosen = strongest_first(activations)[:n_features]
        D = attributor.maps(clip.S, layer, chosen, rule, seeding=seeding)
        figure = folder / f"layer{layer}.png"
        title = f"{clip.name}, layer {layer} ({name}): the {len(chosen)} most active of {len(activations)} features"
        save_figure(feature_grid(clip.S, D, chosen, activations[chosen], config, title=title), figure)
        entries = []
        waves = synthesise(clip.X, D, config)
        waves = waves * loudness_gains(waves, loudness, normalize=True)[:, None]
        for feature, wave in zip(chosen, waves):
            path = write_wav(folder / f"layer{layer}_feature{int(feature):03d}.wav", wave, config.sr, normalize="none")
            entries.append(_Feature(int(feature), float(activations[feature]), _relative(root, path)))
        sections.append(_Layer(int(layer), name, len(activations), _relative(root, figure), entries))
    own_level = loudness == "comparable" and float(np.max(np.abs(clip.y))) <= 1.0
    original_wav = write_wav(folder / "original.wav", clip.y, config.sr, normalize="none" if own_level else "peak")
    return _ClipSection(
        name=clip.name,
        source=clip.source,
        audio=_relative(root, original_wav),
        figure=_relative(root, original_png),
        prediction=_prediction(trained, clip) if trained.classes else "",
        layers=sections,
    )


def _page(sections: Sequence[_ClipSection], title: str, meta: str) -> str:
    """The report's HTML."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{PAGE_STYLE}</style>",
        f"<script>{SELF_CHECK_SCRIPT}</script>",
        '</head><body data-selfcheck="pending">',
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{meta}</p>',
        "<p>For each clip and layer: the deconvolved spectrograms <i>D</i> of the layer's most active features (top "
        "row) and <i>|X| &middot; D</i> (bottom row), shown as sign times level in dB (red: the feature adds energy "
        "with the clip's phase, blue: with the phase flipped, white: more than 60 dB below the panel's 99th "
        "percentile, which shows what a feature lets through of a loud mix); below, one "
        "player per feature plays its auralisation, <i>istft(X &middot; D)</i>. Listen for onsets, harmonics and "
        "suppressed attacks in layer 1, and for textures in the deep layers.</p>",
    ]
    for section in sections:
        parts += [
            f"<h2>{escape(section.name)}</h2>",
            f'<p class="meta">{escape(str(section.source or section.name))}'
            + (f" &mdash; predicted: {escape(section.prediction)}" if section.prediction else "")
            + "</p>",
            f'<p>original: <audio controls preload="metadata" src="{quote(section.audio)}"></audio></p>',
            f'<img src="{quote(section.figure)}" alt="spectrogram of {escape(section.name)}" style="width:600px">',
        ]
        for layer in section.layers:
            cells = "".join(
                f"<td>feature {f.index}<br>activation {f.activation:.3g}<br>"
                f'<audio controls preload="metadata" src="{quote(f.audio)}"></audio></td>'
                for f in layer.features
            )
            parts += [
                f"<h3>Layer {layer.number} ({escape(layer.name)}): {len(layer.features)} of {layer.n_features} "
                "features, most active first</h3>",
                f'<img src="{quote(layer.figure)}" alt="features of layer {layer.number} on {escape(section.name)}">',
                f'<table class="features"><tr>{cells}</tr></table>',
            ]
    parts += ['<p id="selfcheck" class="meta">Self-check: pending (needs JavaScript).</p>', "</body></html>"]
    return "\n".join(parts) + "\n"


def build_report(
    trained: TrainedModel,
    audio: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    layers: Sequence[int | str] | None = None,
    n_features: int = 4,
    seeding: Seeding = "map",
    loudness: Literal["comparable", "peak"] = "comparable",
    rule: Literal["deconvnet", "guided", "gradient"] = "deconvnet",
    title: str = "Listening to a network's features",
    progress: bool = True,
) -> Path:
    """Write the report on ``audio`` into ``out``; return the page's path (``out/index.html``).

    Parameters
    ----------
    trained : TrainedModel
        The model, its config and class names (:func:`auralisation.io.load_model`).
    audio : sequence of path-like
        Audio files; the first ``config.duration`` seconds of each are used.
    out : path-like
        Output folder (created); the page is ``index.html``, each clip's files are in a subfolder.
    layers : sequence of int or str, optional
        Block numbers (1-based) or their layer names; all blocks by default.
    n_features : int
        Features per layer: the most active ones on each clip (largest value of the map).
    seeding, rule
        Deconvolution seeding and rule (:func:`auralisation.deconv.deconvolve`).
    loudness : {"comparable", "peak"}
        ``"comparable"``: the features shown of a layer share one gain that brings the loudest to a peak of 0.99
        (as :func:`auralisation.auralise.export` does), so a weak feature sounds weak, and the original plays at its
        own level; ``"peak"``: every file normalized to a peak of 0.99, as the authors did.
    title : str
        The page's title.
    progress : bool
        Show a progress bar.

    Raises
    ------
    AudioError
        A file is missing or unreadable (nothing is written).
    ParameterError
        No audio, an unknown rule or loudness, or fewer than one feature per layer.
    ModelError
        An unknown layer.
    """
    if not audio:
        raise ParameterError("no audio files given; pass at least one with --audio FILE")
    if n_features < 1:
        raise ParameterError(f"n_features per layer must be at least 1, got {n_features}")
    if loudness not in ("comparable", "peak"):
        raise ParameterError(f"loudness must be 'comparable' or 'peak', got {loudness!r}")
    require_magnitude_input(trained.config, "the report")
    attributor = Attributor(trained.model, trained.config)
    deconvolver = attributor.deconvolver(rule)
    blocks = deconvolver.layer_names
    n_blocks = len(blocks)
    names = blocks if layers is None else [deconvolver.layer_name(layer) for layer in layers]
    outside = [name for name in names if name not in blocks]
    if outside:
        raise ModelError(f"the report shows blocks ({', '.join(blocks)}); {', '.join(outside)} is not one of them")
    layers = [blocks.index(name) + 1 for name in names]
    clips = [Clip.load(path, trained.config) for path in audio]
    out = Path(out)
    taken: set[str] = set()
    sections = []
    for clip in tqdm(clips, desc="report", unit="clip", disable=not progress):
        folder = out / _slug(clip.name, taken)
        sections.append(
            _clip_section(trained, attributor, rule, clip, folder, out, layers, n_features, seeding, loudness)
        )
    config = trained.config
    meta = escape(
        f"{trained.model.name}: {n_blocks} blocks; rule {rule}, seeding {seeding}, loudness {loudness}; "
        f"{config.duration:g} s at {config.sr} Hz, n_fft {config.n_fft}, hop {config.hop_length}, "
        f"{config.scaling} magnitude; written {datetime.datetime.now().isoformat(timespec='seconds')}. "
        f"{attributor.description(rule)}"
    )
    page = out / PAGE
    atomic_write_text(page, _page(sections, title, meta))
    return page
