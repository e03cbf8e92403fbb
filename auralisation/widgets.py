"""The notebook explorer: pick a clip, a layer and a feature; see and hear what the feature responds to.

The view logic is one pure function, :func:`render`: given a loaded :class:`Clip`, the deconvolved spectrograms of
all features of one layer (:class:`LayerFeatures`) and a feature index, it returns a :class:`View` with three
waveforms and a figure:

* **original**: the clip itself;
* **auralised**: ``istft(X * D)``, the clip's STFT times the feature's deconvolved spectrogram, with the clip's
  phase (:func:`auralisation.auralise.synthesise`). Loudness ``"comparable"``: one gain for all the features of
  the layer on this clip (:attr:`LayerFeatures.gain`, the loudest of them at a peak of 0.99, as
  :func:`auralisation.auralise.export` writes them), so a weak feature sounds weak; ``"peak"``: every feature at a
  peak of 0.99, as the authors did;
* **residual**: the clip *without* what the feature responds to, ``istft(X * (1 - M))`` with the soft mask
  ``M = clip(D / max(D), 0, 1)`` (:func:`residual_mask`): where the deconvolved spectrogram is at its positive
  peak the clip is removed, where it is zero or negative the clip is kept as it is. The mask never exceeds 1, so
  the residual is never louder than the clip in any bin and plays at the clip's own level; a feature whose
  deconvolved spectrogram has no positive value leaves the clip unchanged.

:class:`Explorer` only wires ipywidgets controls to :func:`render`. Its method dropdown offers every attribution
method of :mod:`auralisation.methods`. With a ReLU rule (deconvnet, guided, gradient) a layer's features are
deconvolved in one batched call (:meth:`auralisation.deconv.Deconvolver.deconvolve` with ``features=None``) and
kept in a :class:`FeatureCache` keyed by ``(clip, layer, seed, method)``; after a clip's first view the explorer
computes its other layers too, so moving the layer or feature slider afterwards only reads the cache, runs two
inverse STFTs and blits three images (:class:`auralisation.plots_listen.FeaturePanels`). Grad-CAM and occlusion
explain one feature per pass, so the selected feature's map is computed on demand (:func:`single_feature`) and
cached by ``(clip, layer, feature, method)``.

Examples
--------
>>> from auralisation.train import load_model
>>> from auralisation.synth import demo_clips
>>> from auralisation.widgets import Explorer
>>> trained = load_model("models/choi2016")                    # doctest: +SKIP
>>> explorer = Explorer(trained, demo_clips(trained.config))   # doctest: +SKIP
>>> explorer                                                   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from html import escape as _escape
from pathlib import Path
from typing import Any, Literal

import ipywidgets as widgets
import keras
import numpy as np
from IPython.display import HTML, Audio, Image
from matplotlib.figure import Figure

from .audio import AUDIO_EXTENSIONS, AudioConfig, istft, load_clip, stft
from .auralise import OCCLUSION_PATCH, auralise, loudness_gains, synthesise
from .deconv import RULES, Deconvolver
from .errors import AudioError, AuralisationError, ModelError
from .frontends import require_magnitude_input
from .lru import LRU
from .methods import METHODS, Attributor, check_method
from .plots_listen import FeaturePanels, feature_grid, thumbnail_png
from .train import TrainedModel

__all__ = [
    "Clip",
    "Explorer",
    "FeatureCache",
    "LayerFeatures",
    "View",
    "audio_html",
    "image_html",
    "auralised",
    "feature_activations",
    "layer_features",
    "single_feature",
    "strongest_first",
    "render",
    "residual_mask",
]

Loudness = Literal["comparable", "peak"]
Seed = Literal["map", "max"]


# ----------------------------------------------------------------------------------------------------------------
# Data


@dataclasses.dataclass(frozen=True)
class Clip:
    """A loaded clip with its STFT.

    Attributes
    ----------
    name : str
        What the explorer and reports call it (the file's stem by default).
    key : str
        Identifies the audio for caching: the resolved path and its modification time.
    y : numpy.ndarray
        The waveform, float32 ``(config.n_samples,)``.
    X : numpy.ndarray
        Its complex STFT ``(n_bins, n_frames)``.
    S : numpy.ndarray
        ``|X|``, the network's input (linear magnitude), float32.
    config : AudioConfig
    source : pathlib.Path or None
        The file it was loaded from.
    """

    name: str
    key: str
    y: np.ndarray = dataclasses.field(repr=False)
    X: np.ndarray = dataclasses.field(repr=False)
    S: np.ndarray = dataclasses.field(repr=False)
    config: AudioConfig = dataclasses.field(repr=False)
    source: Path | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str], config: AudioConfig, *, name: str | None = None) -> "Clip":
        """Load the first ``config.duration`` seconds of ``path`` (see :func:`auralisation.audio.load_clip`).

        Raises
        ------
        AudioError
            The file is missing, unreadable, or of an unknown type.
        """
        path = Path(path).expanduser()
        y = load_clip(path, config)
        key = f"{path.resolve()}@{path.stat().st_mtime_ns}"
        return cls.from_waveform(y, config, name=name or path.stem, key=key, source=path)

    @classmethod
    def from_waveform(
        cls, y: np.ndarray, config: AudioConfig, *, name: str, key: str | None = None, source: Path | None = None
    ) -> "Clip":
        """A clip from a waveform of exactly ``config.n_samples`` samples at ``config.sr`` (keyed by its content)."""
        y = np.asarray(y, dtype=np.float32)
        if y.shape != (config.n_samples,):
            raise AudioError(
                f"clip {name!r}: expected {config.n_samples} samples ({config.duration} s at {config.sr} Hz), got "
                f"shape {y.shape}; load it with auralisation.audio.load_clip"
            )
        X = stft(y, config)
        key = key or f"{name}#{hashlib.sha1(y.tobytes()).hexdigest()[:12]}"
        return cls(name, key, y, X, np.abs(X).astype(np.float32), config, source)


@dataclasses.dataclass
class LayerFeatures:
    """The maps of one layer's features for one clip, by one method, with the activations of all of them.

    The ReLU rules (deconvnet, guided, gradient) hold every feature's map (one batched deconvolution); Grad-CAM
    and occlusion, which cost a pass per feature, hold only the feature asked for (:func:`single_feature`).

    Attributes
    ----------
    clip : str
        The clip's key.
    layer : int
        Block number (1-based).
    layer_name : str
        The Keras layer (``"pool3"``).
    seed : {"map", "max"}
        The seeding of the rules ("map" for Grad-CAM and occlusion, which take none).
    deconvolved : numpy.ndarray
        float32 ``(len(mapped), n_bins, n_frames)``: the maps of :attr:`mapped`, in that order.
    activations : numpy.ndarray
        float32 ``(n_features,)``: the largest value of each feature's map at the layer.
    gain : float
        The ``"comparable"`` loudness gain of the layer on this clip: 0.99 over the largest peak of the maps'
        raw auralisations ``istft(X * D)`` (1 when all are silent), as :func:`auralisation.auralise.export` applies
        to a layer. Per layer, because the level of ``istft(X * D)`` falls by orders of magnitude with depth; for
        Grad-CAM and occlusion, over the one feature held.
    method : str
        One of :data:`auralisation.methods.METHODS`.
    features : tuple of int, optional
        The features :attr:`deconvolved` holds; None (the default) for all of them, ``0 .. n_features - 1``.
    """

    clip: str
    layer: int
    layer_name: str
    seed: str
    deconvolved: np.ndarray = dataclasses.field(repr=False)
    activations: np.ndarray
    gain: float
    method: str = "deconvnet"
    features: tuple[int, ...] | None = None

    @property
    def n_features(self) -> int:
        """Number of features of the layer."""
        return len(self.activations)

    @property
    def mapped(self) -> tuple[int, ...]:
        """The features whose maps are held, in the order of :attr:`deconvolved`."""
        return tuple(range(self.n_features)) if self.features is None else self.features

    def map(self, feature: int) -> np.ndarray:
        """The map ``(n_bins, n_frames)`` of ``feature``.

        Raises
        ------
        ModelError
            ``feature`` is out of range, or its map is not held (Grad-CAM and occlusion hold one feature).
        """
        n = self.n_features
        if not 0 <= feature < n:
            raise ModelError(
                f"layer {self.layer} ({self.layer_name}) has features 0..{n - 1}; feature {feature} does not exist"
            )
        if feature not in self.mapped:
            raise ModelError(
                f"the {self.method} maps of layer {self.layer} hold features {list(self.mapped)}, not {feature}; "
                "compute it with single_feature or FeatureCache.get"
            )
        return self.deconvolved[self.mapped.index(feature)]

    @property
    def order(self) -> np.ndarray:
        """Feature indices by decreasing activation (ties by index)."""
        return strongest_first(self.activations)

    @functools.cached_property
    def thumbnails(self) -> list[bytes]:
        """A small PNG of each map held, in :attr:`mapped`'s order (:func:`~auralisation.plots_listen.thumbnail_png`)."""
        return [thumbnail_png(d) for d in self.deconvolved]


def strongest_first(activations: np.ndarray) -> np.ndarray:
    """Feature indices by decreasing activation (ties by index)."""
    return np.argsort(-np.asarray(activations), kind="stable")


def feature_activations(deconvolver: Deconvolver, clip: Clip, layer: int) -> np.ndarray:
    """Each feature's activation at ``layer`` on ``clip``: the largest value of its map, float32 ``(n_features,)``."""
    maps = deconvolver.activations(clip.S, layer)
    return maps.reshape(len(maps), -1).max(axis=1).astype(np.float32)


def _layer_gain(clip: Clip, maps: np.ndarray) -> float:
    """The ``"comparable"`` gain that brings the loudest of ``maps``' auralisations to a peak of 0.99."""
    waves = synthesise(clip.X, maps, clip.config)
    return float(loudness_gains(waves, "comparable", normalise=True)[0])


def layer_features(deconvolver: Deconvolver, clip: Clip, layer: int, seed: Seed = "map") -> LayerFeatures:
    """Deconvolve all features of ``layer`` for ``clip`` in one batched call, with their activations and gain.

    The method is the deconvolver's rule.

    Raises
    ------
    ModelError
        No such layer, or the clip does not fit the model.
    """
    name = deconvolver.layer_name(layer)
    deconvolved = deconvolver.deconvolve(clip.S, layer, None, seed=seed)
    activations = feature_activations(deconvolver, clip, layer)
    return LayerFeatures(clip.key, int(layer), name, seed, deconvolved, activations, _layer_gain(clip, deconvolved),
                         deconvolver.rule)


def single_feature(attributor: Attributor, clip: Clip, layer: int, feature: int, method: str) -> LayerFeatures:
    """The ``method`` map of one feature of ``layer`` for ``clip`` (:meth:`Attributor.attribute`), with the
    activations of all the layer's features; occlusion uses the patch
    :data:`~auralisation.auralise.OCCLUSION_PATCH`.

    Raises
    ------
    ModelError
        Unknown method, no such layer or feature, or the clip does not fit the model.
    """
    check_method(method)
    deconvolver = attributor.deconvolver("deconvnet")
    target = attributor.target(layer=layer, feature=feature)
    options = {"patch": OCCLUSION_PATCH} if method == "occlusion" else {}
    D = attributor.attribute(clip.S, method, target, **options)[None]
    return LayerFeatures(clip.key, int(layer), deconvolver.layer_name(layer), "map", D,
                         feature_activations(deconvolver, clip, layer), _layer_gain(clip, D), method, (int(feature),))


class FeatureCache:
    """Maps for the explorer, kept for the most recently used clips, layers, features and methods.

    For the ReLU rules a whole layer is computed at once (:func:`layer_features`, keyed by
    ``(clip, layer, seed, method)``; one entry of the paper's network is 64 x 257 x 173 float32 values, about
    11 MB), so that moving the feature slider only reads the cache. Grad-CAM and occlusion compute the feature
    asked for (:func:`single_feature`, keyed by ``(clip, layer, feature, method)``; one map each).

    Parameters
    ----------
    model : keras.Model or Attributor
        The network, or its :class:`~auralisation.methods.Attributor` (which keeps one
        :class:`~auralisation.deconv.Deconvolver` per rule).
    size : int
        Layers kept; ``4 * size`` single-feature maps are kept beside them.

    Attributes
    ----------
    attributor : Attributor
    """

    def __init__(self, model: keras.Model | Attributor, size: int = 16) -> None:
        self.attributor = model if isinstance(model, Attributor) else Attributor(model)
        self._layers: LRU[tuple[Any, ...], LayerFeatures] = LRU(size)
        self._singles: LRU[tuple[Any, ...], LayerFeatures] = LRU(4 * size)

    @property
    def computed(self) -> int:
        """How many entries were computed (not found in the cache)."""
        return self._layers.computed + self._singles.computed

    @property
    def deconvolver(self) -> Deconvolver:
        """The deconvnet :class:`~auralisation.deconv.Deconvolver` (layer names, feature counts, activations)."""
        return self.attributor.deconvolver("deconvnet")

    @staticmethod
    def key(clip: Clip, layer: int, seed: Seed = "map", method: str = "deconvnet", feature: int = 0) -> tuple[Any, ...]:
        """The cache key of what :meth:`get` returns for these arguments."""
        if check_method(method) in RULES:
            return clip.key, int(layer), seed, method
        return clip.key, int(layer), int(feature), method

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        return key in self._layers or key in self._singles

    def get(
        self, clip: Clip, layer: int, seed: Seed = "map", method: str = "deconvnet", feature: int = 0
    ) -> LayerFeatures:
        """The maps of ``layer`` for ``clip`` by ``method``, computed on first use.

        Every feature's map for the ReLU rules (``feature`` is not used); ``feature``'s alone for Grad-CAM and
        occlusion (``seed`` is not used).
        """
        key = self.key(clip, layer, seed, method, feature)
        if method in RULES:
            return self._layers.get(key, lambda: layer_features(self.attributor.deconvolver(method), clip, layer, seed))
        return self._singles.get(key, lambda: single_feature(self.attributor, clip, layer, feature, method))


@dataclasses.dataclass
class View:
    """What the explorer shows for one clip, layer and feature (see :func:`render`).

    Attributes
    ----------
    clip, layer, layer_name, feature, seed, method, loudness
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
    seed: str
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


# ----------------------------------------------------------------------------------------------------------------
# The pure view


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
        The maps of one layer for this clip (:func:`layer_features`, :func:`single_feature` or
        :class:`FeatureCache`).
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
    ModelError
        ``feature`` is out of range or not held, or ``features`` belong to another clip.
    """
    if features.clip != clip.key:
        raise ModelError(f"the layer features were computed for clip {features.clip!r}, not {clip.key!r}")
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
        seed=features.seed,
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


# ----------------------------------------------------------------------------------------------------------------
# The widget


@dataclasses.dataclass
class _Card:
    """One thumbnail of the feature browser; clicking its button selects :attr:`feature`."""

    image: widgets.HTML
    button: widgets.Button
    box: widgets.VBox
    feature: int = 0


class Explorer:
    """Listen to a network's features on any clip, in a notebook.

    Controls: a clip picker (the clips given, a path typed in, or an uploaded file), a layer slider, a feature
    slider with the feature's activation beside it, the attribution method (:data:`~auralisation.methods.METHODS`:
    deconvnet, the paper's, then guided backpropagation, the gradient, Grad-CAM and occlusion), the seeding of the
    ReLU rules (``"map"``: the whole activation map, as the authors did; ``"max"``: its strongest activation only)
    and the loudness policy. The view shows players for the original, the auralised feature and the residual (the
    clip without the feature; see :func:`residual_mask`), the figure of
    :class:`~auralisation.plots_listen.FeaturePanels`, and a browser of the layer's features, strongest first:
    clicking one selects it. The ReLU rules compute a whole layer at once, so the browser shows every feature's
    thumbnail and the feature slider answers at once; Grad-CAM and occlusion (with the coarse patch
    :data:`~auralisation.auralise.OCCLUSION_PATCH`) compute the selected feature only, on demand (occlusion takes
    seconds), and keep it in the cache.

    Everything shown comes from :func:`render`; :attr:`view` holds the last :class:`View`. Errors (an unreadable
    file, say) are shown in :attr:`status` and kept in :attr:`error` instead of being raised from a callback.

    Parameters
    ----------
    model : TrainedModel or keras.Model
        A model from :func:`auralisation.train.load_model`, or a Keras model with ``config`` given.
    clips : mapping of name to path or waveform, or sequence of paths
        The clips to pick from (may be empty: then type a path or upload a file). A waveform must have
        ``config.n_samples`` samples at ``config.sr`` (see :func:`auralisation.synth.demo_clips`); a file's first ``config.duration``
        seconds are used.
    config : AudioConfig, optional
        Required with a bare Keras model; must be omitted (or equal) with a :class:`TrainedModel`.
    method : str
        The method shown first, one of :data:`~auralisation.methods.METHODS`.
    prefetch : bool
        After a clip's first view by a ReLU rule, deconvolve its other layers too, so that the layer slider answers
        at once.
    cache_size : int
        Layers kept (see :class:`FeatureCache`).
    local_files : bool
        Offer the box for the path of a file on the kernel's disk (with its *load* button) beside *upload*. The
        standalone app (:mod:`auralisation.app`) turns it off: there the visitor's files are not the server's.
    """

    def __init__(
        self,
        model: TrainedModel | keras.Model,
        clips: Mapping[str, str | os.PathLike[str] | np.ndarray] | Sequence[str | os.PathLike[str]] = (),
        *,
        config: AudioConfig | None = None,
        method: str = "deconvnet",
        prefetch: bool = True,
        cache_size: int = 16,
        local_files: bool = True,
    ) -> None:
        self.model, self.config, self.classes = _unpack_model(model, config)
        require_magnitude_input(self.config, "the explorer")
        self.cache = FeatureCache(self.model, size=cache_size)
        self.prefetch = prefetch
        self.local_files = local_files
        self.panels = FeaturePanels(self.config)
        self.view: View | None = None
        self.error: AuralisationError | None = None
        self.latency: float | None = None
        self._paths: dict[str, Path | None] = {}
        self._loaded: dict[str, Clip] = {}
        self._predictions: dict[str, str] = {}
        self._original_html: dict[str, str] = {}
        self._prefetched: set[tuple[str, str, str]] = set()
        self._browser_key: tuple[Any, ...] | None = None
        self._cards: list[_Card] = []
        self._holding = False
        self._uploads: tempfile.TemporaryDirectory[str] | None = None
        self._build_controls(check_method(method), local_files)
        items = clips.items() if isinstance(clips, Mapping) else ((Path(p).stem, p) for p in clips)
        for name, source in items:
            key = self._unique(name)
            if isinstance(source, np.ndarray):
                self._loaded[key] = Clip.from_waveform(source, self.config, name=key)
                self._paths[key] = None
            else:
                self._paths[key] = Path(source)
        with self._hold():
            self.clip.options = list(self._paths)
            self.clip.value = next(iter(self._paths), None)
        self.refresh()

    # --- building -------------------------------------------------------------------------------------------

    def _build_controls(self, method: str, local_files: bool) -> None:
        n_layers = len(self.cache.deconvolver.layer_names)
        wide = {"description_width": "70px"}
        self.clip = widgets.Dropdown(description="clip", style=wide, layout=widgets.Layout(width="320px"),
                                     tooltip="the clip to explore")
        self.path = widgets.Text(placeholder="or type a path to an audio file", layout=widgets.Layout(width="320px"),
                                 tooltip="path of an audio file to load")
        self.load = widgets.Button(description="load", tooltip="load the file typed in", icon="folder-open")
        self.upload = widgets.FileUpload(accept=",".join(AUDIO_EXTENSIONS), multiple=False, description="upload",
                                         tooltip="upload an audio file from this computer")
        self.layer = widgets.IntSlider(value=1, min=1, max=n_layers, description="layer", style=wide,
                                       continuous_update=False, tooltip="the layer (block) to listen to")
        self.feature = widgets.IntSlider(value=0, min=0, max=self.cache.deconvolver.n_features(1) - 1,
                                         description="feature", style=wide, continuous_update=False,
                                         tooltip="the feature of the layer to listen to")
        self.feature_info = widgets.HTML()
        self.method = widgets.Dropdown(options=METHODS, value=method, description="method", style=wide,
                                       layout=widgets.Layout(width="220px"),
                                       tooltip="how a feature's map is computed (deconvnet: the paper's)")
        # Radio buttons rather than toggle buttons, whose fixed width cut "whole map" and "comparable"; each choice
        # is a Tab stop that Space selects.
        self.seed = widgets.RadioButtons(options=[("whole map", "map"), ("strongest", "max")], value="map",
                                         description="seed", orientation="horizontal", style=wide,
                                         layout=widgets.Layout(width="auto"),
                                         tooltip="whole map: the feature's whole activation map (the authors); "
                                                 "strongest: its single strongest activation (Zeiler & Fergus)")
        self.loudness = widgets.RadioButtons(options=["comparable", "peak"], value="comparable",
                                             description="loudness", orientation="horizontal", style=wide,
                                             layout=widgets.Layout(width="auto"),
                                             tooltip="comparable: features keep their relative loudness; "
                                                     "peak: every player is normalised to full scale")
        self.status = widgets.HTML()
        self.players = {name: widgets.HTML() for name in ("original", "auralised", "residual")}
        self.player_labels = {name: widgets.HTML() for name in self.players}
        self.image = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        self.browser_title = widgets.HTML()
        self.browser = widgets.GridBox(layout=widgets.Layout(grid_template_columns="repeat(auto-fill, 104px)",
                                                             grid_gap="4px"))
        self.clip.observe(self._on_change, "value")
        self.layer.observe(self._on_change, "value")
        self.feature.observe(self._on_change, "value")
        self.seed.observe(self._on_change, "value")
        self.method.observe(self._on_change, "value")
        self.loudness.observe(self._on_change, "value")
        self.load.on_click(lambda _: self._guard(lambda: self.add_clip(self.path.value)))
        self.upload.observe(self._on_upload, "value")
        players = [widgets.VBox([self.player_labels[n], self.players[n]]) for n in self.players]
        self.widget = widgets.VBox([
            widgets.HBox([self.clip, self.path, self.load, self.upload] if local_files else [self.clip, self.upload]),
            widgets.HBox([self.layer, self.feature, self.feature_info]),
            widgets.HBox([self.method, self.seed, self.loudness]),
            self.status,
            widgets.HBox(players),
            self.image,
            self.browser_title,
            self.browser,
        ])
        self.widget.add_class("auralisation-explorer")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # --- clips ----------------------------------------------------------------------------------------------

    def _unique(self, name: str) -> str:
        """``name``, or ``name (2)``, ``name (3)``... if it is taken."""
        candidate, n = name, 1
        while candidate in self._paths:
            n += 1
            candidate = f"{name} ({n})"
        return candidate

    def add_clip(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Load the audio file ``path``, add it to the clip picker and show it; return its name there.

        Raises
        ------
        AudioError
            The file is missing or cannot be read (nothing is added).
        """
        if not str(path).strip():
            raise AudioError("no path given: type the path of an audio file, then press load")
        path = Path(str(path).strip()).expanduser()
        key = self._unique(name or path.stem)
        self._loaded[key] = Clip.load(path, self.config, name=key)
        self._paths[key] = path
        with self._hold():
            self.clip.options = list(self._paths)
            self.clip.value = key
        self.refresh()
        return key

    def _on_upload(self, change: dict[str, Any]) -> None:
        """Write an uploaded file to a temporary folder and add it as a clip."""
        if not change["new"]:
            return
        item = change["new"][0]
        if self._uploads is None:
            self._uploads = tempfile.TemporaryDirectory(prefix="auralisation-upload-")
        target = Path(self._uploads.name) / Path(item["name"]).name
        target.write_bytes(bytes(item["content"]))
        self._guard(lambda: self.add_clip(target))
        self.upload.value = ()

    def _clip(self, name: str) -> Clip:
        """The loaded clip ``name`` (loaded on first use)."""
        if name not in self._loaded:
            self._loaded[name] = Clip.load(self._paths[name], self.config, name=name)
        return self._loaded[name]

    def _prediction(self, clip: Clip) -> str:
        """The model's top class for ``clip``, as text (empty without class names)."""
        if not self.classes:
            return ""
        if clip.key not in self._predictions:
            scores = np.asarray(self.model(clip.S[None, ..., None], training=False))[0]
            best = int(np.argmax(scores))
            self._predictions[clip.key] = f"predicted <b>{self.classes[best]}</b> ({scores[best]:.2f})"
        return self._predictions[clip.key]

    # --- updating -------------------------------------------------------------------------------------------

    @contextmanager
    def _hold(self) -> Iterator[None]:
        """Change several controls without a view for each change."""
        holding, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = holding

    def _guard(self, action: Callable[[], object]) -> None:
        """Run ``action``; show an :class:`AuralisationError` in :attr:`status` instead of raising it."""
        try:
            action()
            self.error = None
        except AuralisationError as error:
            self.error = error
            self.status.value = f"<span style='color:#b00'>\u26a0 {_escape(str(error))}</span>"

    def _on_change(self, change: dict[str, Any]) -> None:
        if not self._holding:
            self._guard(self.refresh)

    def refresh(self) -> None:
        """Render the view the controls ask for and show it (then prefetch the clip's other layers)."""
        if self.clip.value is None:
            typed = "type the path of an audio file and press <i>load</i>, or " if self.local_files else ""
            self.status.value = f"No clip yet: {typed}upload one."
            return
        start = time.perf_counter()
        clip = self._clip(self.clip.value)
        layer, seed, method = self.layer.value, self.seed.value, self.method.value
        batched = method in RULES
        self.seed.disabled = not batched
        with self._hold():
            self.feature.max = self.cache.deconvolver.n_features(layer) - 1
        feature = self.feature.value
        if self.cache.key(clip, layer, seed, method, feature) not in self.cache:
            what = f"the features of layer {layer}" if batched else f"the {method} map of feature {feature}"
            self.status.value = f"computing {what} of <b>{_escape(clip.name)}</b>\u2026"
        features = self.cache.get(clip, layer, seed, method, feature)
        view = render(clip, features, feature, loudness=self.loudness.value, panels=self.panels)
        self._show(clip, features, view)
        self.view = view
        self.latency = time.perf_counter() - start
        status = (
            f"<b>{_escape(clip.name)}</b> {self._prediction(clip)} \u2014 layer {view.layer} ({view.layer_name}), "
            f"feature {view.feature}, {method}: shown in {1000 * self.latency:.0f} ms"
        )
        if self.prefetch and batched and (clip.key, seed, method) not in self._prefetched:
            self.status.value = status + "; preparing the other layers\u2026"
            for other in range(1, self.layer.max + 1):
                _ = self.cache.get(clip, other, seed, method).thumbnails
            self._prefetched.add((clip.key, seed, method))
        self.status.value = status

    def _show(self, clip: Clip, features: LayerFeatures, view: View) -> None:
        """Put ``view`` into the output widgets."""
        normalize = view.loudness == "peak"
        key = f"{clip.key}|{normalize}"
        if key not in self._original_html:
            self._original_html[key] = audio_html(view.original, view.sr, normalize=normalize,
                                                  label=f"original: {clip.name}")[0]
        self.players["original"].value = self._original_html[key]
        self.player_labels["original"].value = "<b>original</b>"
        where = f"layer {view.layer} ({view.layer_name}), feature {view.feature}, {view.method}"
        for name, y, what, label in (
            ("auralised", view.auralised, "the feature alone", f"auralised: {clip.name}, {where}"),
            ("residual", view.residual, "the clip without it", f"residual: {clip.name} without {where}"),
        ):
            html, gain = audio_html(y, view.sr, normalize=normalize, label=label)
            self.players[name].value = html
            note = f" (scaled by {20 * np.log10(gain):.1f} dB to avoid clipping)" if gain < 1.0 else ""
            self.player_labels[name].value = f"<b>{name}</b>: {what}{note}"
        self.feature_info.value = (
            f"activation <b>{view.activation:.3g}</b> (rank {view.rank} of {view.n_features})"
            + (" \u2014 <i>inactive on this clip</i>" if view.activation <= 0 else "")
        )
        self.image.value = image_html(self.panels.png(), f"{clip.name}, {where}: |X|, its deconvolved "
                                      "spectrogram D and |X| \u00b7 D")
        self._fill_browser(clip, features)

    def _fill_browser(self, clip: Clip, features: LayerFeatures) -> None:
        """Show the layer's features, strongest first, with the thumbnails of the maps held (only on a change)."""
        key = (features.clip, features.layer, features.seed, features.method, features.mapped)
        if key == self._browser_key:
            return
        while len(self._cards) < features.n_features:
            self._cards.append(self._new_card())
        thumbnails = dict(zip(features.mapped, features.thumbnails))
        shown = []
        for card, feature in zip(self._cards, features.order):
            card.feature = int(feature)
            card.button.description = f"#{feature}  {features.activations[feature]:.2g}"
            what = f"{clip.name}, layer {features.layer} ({features.layer_name}), feature {feature}"
            thumbnail = thumbnails.get(int(feature))
            card.image.value = "" if thumbnail is None else image_html(thumbnail, f"{what}: {features.method} map")
            card.button.tooltip = f"listen to {what} (activation {features.activations[feature]:.3g})"
            shown.append(card.box)
        self.browser.children = shown
        maps = ("maps" if features.features is None else
                f"activations ({features.method} computes the selected feature's map alone)")
        self.browser_title.value = (
            f"<b>Layer {features.layer} ({features.layer_name})</b>: its {features.n_features} features' {maps} on "
            "this clip, strongest activation first; click one to listen."
        )
        self._browser_key = key

    def _new_card(self) -> _Card:
        image = widgets.HTML(layout=widgets.Layout(width="100px", height="74px"))
        button = widgets.Button(layout=widgets.Layout(width="100px"))
        card = _Card(image, button, widgets.VBox([image, button]))
        button.on_click(lambda _: self.select(feature=card.feature))
        return card

    def static(
        self, count: int = 3, *, clip: str | None = None, layers: Sequence[int] | None = None
    ) -> list[Any]:
        """A view without widgets, for notebooks read on GitHub or nbviewer: display each item in turn.

        For ``clip`` (the one shown by default): its player, then per layer a heading, the
        :func:`~auralisation.plots_listen.feature_grid` of the ``count`` most active features (as a PNG image, which
        displays without a matplotlib backend and on GitHub) and a row of players of their auralisations, at the
        explorer's method, seeding and loudness (see :func:`auralised`). Maps come from the explorer's cache when it
        has them.
        """
        name = clip or self.clip.value
        if name is None:
            raise AudioError("no clip to show: give clip=NAME or load one first")
        loaded = self._clip(name)
        normalize = self.loudness.value == "peak"
        seed, method = self.seed.value, self.method.value
        items: list[Any] = [HTML(f"<h4>{_escape(loaded.name)}</h4>"
                                 + audio_html(loaded.y, self.config.sr, normalize=normalize,
                                              label=f"original: {loaded.name}")[0])]
        for layer in range(1, self.layer.max + 1) if layers is None else layers:
            activations = feature_activations(self.cache.deconvolver, loaded, layer)
            picked = strongest_first(activations)[:count]
            entries = {int(k): self.cache.get(loaded, layer, seed, method, int(k)) for k in picked}
            name = self.cache.deconvolver.layer_name(layer)
            items.append(HTML(f"<h4>Layer {layer} ({name}): the {len(picked)} most active of "
                              f"{len(activations)} features, by {method}</h4>"))
            maps = np.stack([entry.map(k) for k, entry in entries.items()])
            figure = feature_grid(loaded.S, maps, picked, activations[picked], self.config)
            items.append(Image(data=_png(figure), format="png",
                               alt=f"{loaded.name}, layer {layer} ({name}): the deconvolved spectrograms of features "
                                   f"{', '.join(map(str, picked))} by {method}"))
            cells = "".join(
                f"<td style='text-align:center'>feature {k} (activation {activations[k]:.3g})<br>"
                + audio_html(auralised(loaded, entry, k, self.loudness.value), self.config.sr,
                             normalize=normalize, label=f"auralised: {loaded.name}, layer {layer} ({name}), "
                                                        f"feature {k}, {method}")[0]
                + "</td>"
                for k, entry in entries.items()
            )
            items.append(HTML(f"<table><tr>{cells}</tr></table>"))
        return items

    def select(
        self, *, clip: str | None = None, layer: int | None = None, feature: int | None = None,
        seed: Seed | None = None, loudness: Loudness | None = None, method: str | None = None,
    ) -> View | None:
        """Set several controls at once and show the result once; return :attr:`view`."""
        with self._hold():
            for control, value in ((self.clip, clip), (self.layer, layer), (self.seed, seed),
                                   (self.loudness, loudness), (self.method, method)):
                if value is not None:
                    control.value = value
            self.feature.max = self.cache.deconvolver.n_features(self.layer.value) - 1
            if feature is not None:
                self.feature.value = feature
        self._guard(self.refresh)
        return self.view


def _png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _unpack_model(
    model: TrainedModel | keras.Model, config: AudioConfig | None
) -> tuple[keras.Model, AudioConfig, list[str]]:
    """The Keras model, its config and class names from what :class:`Explorer` was given."""
    if isinstance(model, TrainedModel):
        if config is not None and config != model.config:
            raise ModelError("the config given differs from the trained model's own config; leave config out")
        return model.model, model.config, list(model.classes)
    if isinstance(model, keras.Model):
        if config is None:
            raise ModelError(
                "a bare Keras model needs its AudioConfig: Explorer(model, clips, config=config), or pass the "
                "TrainedModel from auralisation.train.load_model"
            )
        return model, config, []
    raise ModelError(f"expected a TrainedModel or a keras.Model, got {type(model).__name__}")
