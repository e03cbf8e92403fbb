"""The explorer's pure view: what one selection (clip, layer, feature, method, seeding, loudness) shows and plays.

:func:`render` takes a loaded :class:`~auralisation.clip.Clip`, the maps of one layer
(:class:`~auralisation.features.LayerFeatures`) and a feature index, and returns a :class:`View` with three
waveforms and a figure:

* **original**: the clip itself;
* **auralised**: ``istft(X * D)``, the clip's STFT times the feature's deconvolved spectrogram, with the clip's
  phase (:func:`auralisation.auralise.synthesise`). Loudness ``"comparable"``: one gain for all the features of
  the layer on this clip (:attr:`~auralisation.features.LayerFeatures.gain`, the loudest of them at a peak of 0.99,
  as :func:`auralisation.auralise.export` writes them), so a weak feature sounds weak; ``"peak"``: every feature
  at a peak of 0.99, as the authors did;
* **residual**: the clip *without* what the feature responds to, ``istft(X * (1 - M))`` with the soft mask
  ``M = clip(D / max(D), 0, 1)`` (:func:`residual_mask`): where the deconvolved spectrogram is at its positive
  peak the clip is removed, where it is zero or negative the clip is kept as it is. The mask never exceeds 1, so
  the residual is never louder than the clip in any bin and plays at the clip's own level; a feature whose
  deconvolved spectrogram has no positive value leaves the clip unchanged.

:func:`static_view` is the same without widgets, for notebooks read on GitHub. Nothing here imports ipywidgets;
the players are IPython's (imported when a player is made). The wiring is :mod:`auralisation.ui.explorer`.

Examples
--------
>>> import numpy as np
>>> residual_mask(np.array([-1.0, 0.5, 2.0])).tolist()
[0.0, 0.25, 1.0]
"""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Sequence
from html import escape as _escape
from typing import Any, Literal

import numpy as np
from matplotlib.figure import Figure

from ..audio import istft
from ..auralise import auralise, synthesise
from ..clip import Clip
from ..errors import ParameterError
from ..deconv.rules import Seeding
from ..features import FeatureCache, LayerFeatures, feature_activations, strongest_first
from ..plotting.grids import feature_grid
from ..plotting.spectrograms import FeaturePanels

__all__ = ["View", "audio_html", "auralised", "image_html", "render", "residual_mask", "static_view"]

#: How loud an auralisation plays: ``"comparable"`` (one gain per layer and clip) or ``"peak"`` (each at 0.99).
Loudness = Literal["comparable", "peak"]


@dataclasses.dataclass
class View:
    """What the explorer shows for one clip, layer and feature (see :func:`render`).

    Attributes
    ----------
    clip, layer, layer_name, feature, seeding, method, loudness
        What was asked for.
    activation : float
        The largest value of the feature's map at the layer.
    rank : int
        1 for the layer's most active feature on this clip.
    n_features : int
        Features of the layer.
    sr : int
        Sample rate of the waveforms.
    original, auralised, residual : numpy.ndarray
        float32 waveforms of ``config.n_samples`` samples.
    deconvolved : numpy.ndarray
        The feature's map ``D`` ``(n_bins, n_frames)`` by the method (its deconvolved spectrogram for the rules).
    masked : numpy.ndarray
        ``|X| * D``.
    figure : matplotlib.figure.Figure
        ``|X|``, ``D`` and ``|X| * D``; when :func:`render` was given ``panels``, it is their figure, redrawn in
        place by the next render.
    """

    clip: str
    layer: int
    layer_name: str
    feature: int
    seeding: str
    method: str
    loudness: str
    activation: float
    rank: int
    n_features: int
    sr: int
    original: np.ndarray = dataclasses.field(repr=False)
    auralised: np.ndarray = dataclasses.field(repr=False)
    residual: np.ndarray = dataclasses.field(repr=False)
    deconvolved: np.ndarray = dataclasses.field(repr=False)
    masked: np.ndarray = dataclasses.field(repr=False)
    figure: Figure = dataclasses.field(repr=False)


def residual_mask(D: np.ndarray) -> np.ndarray:
    """The soft mask ``clip(D / max(D), 0, 1)`` of what a feature responds to (zeros when ``max(D) <= 0``).

    ``istft(X * (1 - mask))`` is the clip without the feature (see the module's docstring).
    """
    D = np.asarray(D, dtype=np.float32)
    peak = float(D.max()) if D.size else 0.0
    if peak <= 0.0:
        return np.zeros_like(D)
    return np.clip(D / peak, 0.0, 1.0)


def render(
    clip: Clip,
    features: LayerFeatures,
    feature: int,
    *,
    loudness: Loudness = "comparable",
    panels: FeaturePanels | None = None,
) -> View:
    """The view of one feature: original, auralised and residual audio, and the figure.

    Parameters
    ----------
    clip : Clip
        The clip (its STFT gives the phase and the magnitude).
    features : LayerFeatures
        The maps of one layer for this clip (:func:`~auralisation.features.layer_features` or
        :class:`~auralisation.features.FeatureCache`).
    feature : int
        Feature index, ``0 .. features.n_features - 1``, one whose map ``features`` holds.
    loudness : {"comparable", "peak"}
        Loudness of the auralised signal (see :func:`auralised`).
    panels : FeaturePanels, optional
        Figure to draw into (the explorer reuses one); a new one is made when omitted.

    Returns
    -------
    View

    Raises
    ------
    ParameterError
        ``feature`` is out of range or not held, or ``features`` belong to another clip.
    """
    if features.clip != clip.key:
        raise ParameterError(f"the layer features were computed for clip {features.clip!r}, not {clip.key!r}")
    D = features.map(feature)
    residual = istft(clip.X * (1.0 - residual_mask(D)), clip.config)
    if panels is None:
        panels = FeaturePanels(clip.config)
    panels.update(clip.S, D)
    activation = float(features.activations[feature])
    return View(
        clip=clip.name,
        layer=features.layer,
        layer_name=features.layer_name,
        feature=int(feature),
        seeding=features.seeding,
        method=features.method,
        loudness=loudness,
        activation=activation,
        rank=1 + int(np.sum(features.activations > activation)),
        n_features=features.n_features,
        sr=clip.config.sr,
        original=clip.y,
        auralised=auralised(clip, features, feature, loudness),
        residual=residual,
        deconvolved=D,
        masked=clip.S * D,
        figure=panels.figure,
    )


def auralised(clip: Clip, features: LayerFeatures, feature: int, loudness: Loudness = "comparable") -> np.ndarray:
    """The auralisation ``istft(X * D)`` of one feature, float32 ``(n_samples,)``.

    ``"comparable"`` applies the layer's gain (:attr:`LayerFeatures.gain`): the feature keeps its loudness
    relative to the layer's other features on this clip. ``"peak"`` brings it to a peak of 0.99 on its own.
    """
    D = features.map(feature)[None]
    if loudness == "comparable":
        return (synthesise(clip.X, D, clip.config)[0] * features.gain).astype(np.float32)
    return auralise(clip.X, D, clip.config, loudness=loudness)[0]


def audio_html(y: np.ndarray, sr: int, *, normalize: bool, label: str | None = None) -> tuple[str, float]:
    """An HTML ``<audio>`` player (:class:`IPython.display.Audio`) and the gain applied to ``y``.

    With ``normalize`` the player scales the waveform to full scale (gain reported as 1). Without it the waveform
    plays at its own level, unless its peak exceeds 1: then it is scaled down to a peak of 0.99 (the gain says by
    how much) rather than clipped. ``label`` (what is heard: clip, layer, feature) becomes the player's
    ``aria-label`` and ``title``, which a screen reader announces and a pointer shows.
    """
    from IPython.display import Audio

    y = np.asarray(y, dtype=np.float32)
    gain = 1.0
    if not normalize:
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        if peak > 1.0:
            gain = 0.99 / peak
            y = y * gain
    silent = not np.any(y)
    player = Audio(y, rate=sr, normalize=normalize and not silent)._repr_html_()
    if label is not None:
        quoted = _escape(label, quote=True)
        player = player.replace("<audio ", f'<audio aria-label="{quoted}" title="{quoted}" ', 1)
    return player, gain


def image_html(png: bytes, label: str) -> str:
    """An HTML ``<img>`` of the PNG ``png``, inline, with ``label`` (what it shows: clip, layer, feature) as its
    ``alt`` text and ``title``; it fits the width of its container.

    (An :class:`ipywidgets.Image` cannot carry an ``alt`` text: screen readers would announce an unnamed image.)
    """
    quoted = _escape(label, quote=True)
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{quoted}" title="{quoted}" style="max-width:100%">'


def _png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def static_view(
    clip: Clip,
    cache: FeatureCache,
    layers: Sequence[int],
    *,
    count: int = 3,
    seeding: Seeding = "map",
    method: str = "deconvnet",
    loudness: Loudness = "comparable",
) -> list[Any]:
    """A view without widgets, for notebooks read on GitHub or nbviewer: display each item in turn.

    The clip's player, then per layer a heading, the :func:`~auralisation.plotting.feature_grid` of the ``count``
    most active features (:func:`~auralisation.features.strongest_first`; as a PNG image, which displays without a
    matplotlib backend and on GitHub) and a row of players of their auralisations (:func:`auralised`).

    Parameters
    ----------
    clip : Clip
    cache : FeatureCache
        Where the maps come from (computed there on first use).
    layers : sequence of int
        Block numbers (1-based).
    count : int
        Features per layer.
    seeding, method, loudness
        As the explorer's controls.

    Returns
    -------
    list
        IPython display objects (:class:`IPython.display.HTML`, :class:`IPython.display.Image`).
    """
    from IPython.display import HTML, Image

    normalize = loudness == "peak"
    sr = clip.config.sr
    items: list[Any] = [HTML(f"<h4>{_escape(clip.name)}</h4>"
                             + audio_html(clip.y, sr, normalize=normalize, label=f"original: {clip.name}")[0])]
    for layer in layers:
        activations = feature_activations(cache.deconvolver, clip, layer)
        picked = strongest_first(activations)[:count]
        entries = {int(k): cache.get(clip, layer, seeding, method, int(k)) for k in picked}
        name = cache.deconvolver.layer_name(layer)
        items.append(HTML(f"<h4>Layer {layer} ({name}): the {len(picked)} most active of "
                          f"{len(activations)} features, by {method}</h4>"))
        maps = np.stack([entry.map(k) for k, entry in entries.items()])
        figure = feature_grid(clip.S, maps, picked, activations[picked], clip.config)
        items.append(Image(data=_png(figure), format="png",
                           alt=f"{clip.name}, layer {layer} ({name}): the deconvolved spectrograms of features "
                               f"{', '.join(map(str, picked))} by {method}"))
        cells = "".join(
            f"<td style='text-align:center'>feature {k} (activation {activations[k]:.3g})<br>"
            + audio_html(auralised(clip, entry, k, loudness), sr, normalize=normalize,
                         label=f"auralised: {clip.name}, layer {layer} ({name}), feature {k}, {method}")[0]
            + "</td>"
            for k, entry in entries.items()
        )
        items.append(HTML(f"<table><tr>{cells}</tr></table>"))
    return items
