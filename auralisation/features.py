"""The maps of a layer's features on a clip, and the cache the explorer reads them from.

:func:`feature_maps` is what ``auralisation auralise`` asks for: the maps of chosen features of chosen layers of
any model (its front end read from the config), by any method.

For the ReLU rules (deconvnet, guided, gradient) a layer's features are deconvolved in one batched call
(:meth:`auralisation.methods.Attributor.maps`, the one way to a map, through :func:`layer_features`) and kept in a
:class:`FeatureCache` keyed by ``(clip, layer, seeding, method)``; Grad-CAM and occlusion explain one feature per
pass, so one feature's map is computed on demand (:func:`layer_features` with one feature) and cached by
``(clip, layer, feature, method)``. "Most active" means one thing everywhere: the largest value of the feature's
map at the layer (:func:`feature_activations`, :func:`strongest_first`).

Examples
--------
>>> import numpy as np
>>> strongest_first(np.array([0.5, 2.0, 0.5, 1.0])).tolist()
[1, 3, 0, 2]
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any, Literal

import keras
import numpy as np

from .auralise import loudness_gains, synthesise
from .audio import AudioConfig
from .clip import Clip
from .deconv import RULES, Deconvolver
from .deconv.rules import Seeding
from .errors import ParameterError
from .lru import LRU
from .methods import Attributor, check_method
from .plotting.spectrograms import thumbnail_png

__all__ = [
    "FeatureCache", "LayerFeatures", "feature_activations", "feature_maps",
    "feature_strengths", "layer_features", "strongest_first",
]


@dataclasses.dataclass
class LayerFeatures:
    """The maps of one layer's features for one clip, by one method, with the activations of all of them.

    The ReLU rules (deconvnet, guided, gradient) hold every feature's map (one batched deconvolution); Grad-CAM
    and occlusion, which cost a pass per feature, hold only the feature asked for (:func:`layer_features`).

    Attributes
    ----------
    clip : str
        The clip's key.
    layer : int
        Block number (1-based).
    layer_name : str
        The Keras layer (``"pool3"``).
    seeding : {"map", "max"}
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
    seeding: str
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
        ParameterError
            ``feature`` is out of range, or its map is not held (Grad-CAM and occlusion hold one feature).
        """
        n = self.n_features
        if not 0 <= feature < n:
            raise ParameterError(
                f"layer {self.layer} ({self.layer_name}) has features 0..{n - 1}; feature {feature} does not exist"
            )
        if feature not in self.mapped:
            raise ParameterError(
                f"the {self.method} maps of layer {self.layer} hold features {list(self.mapped)}, not {feature}; "
                "compute it with layer_features(..., features=[feature]) or FeatureCache.get"
            )
        return self.deconvolved[self.mapped.index(feature)]

    @property
    def order(self) -> np.ndarray:
        """Feature indices by decreasing activation (ties by index)."""
        return strongest_first(self.activations)

    @functools.cached_property
    def thumbnails(self) -> list[bytes]:
        """A small PNG of each map held, in :attr:`mapped`'s order (:func:`~auralisation.plotting.thumbnail_png`)."""
        return [thumbnail_png(d) for d in self.deconvolved]


def strongest_first(activations: np.ndarray) -> np.ndarray:
    """Feature indices by decreasing activation (ties by index)."""
    return np.argsort(-np.asarray(activations), kind="stable")


def feature_strengths(activations: np.ndarray) -> np.ndarray:
    """Each feature's strength on a clip: the largest value of its activation map (what ``seeding="max"`` seeds).

    This is the package's one definition of "the most active feature" (the explorer, the report and the
    notebooks rank by it).

    Parameters
    ----------
    activations : np.ndarray
        The maps of one layer on one clip, ``(n_features, ...)`` (:meth:`Deconvolver.activations`).

    Returns
    -------
    np.ndarray
        float32 ``(n_features,)``.

    Examples
    --------
    >>> feature_strengths(np.array([[[0.0, 2.0]], [[1.0, 1.5]]]))
    array([2. , 1.5], dtype=float32)
    """
    maps = np.asarray(activations)
    return maps.reshape(len(maps), -1).max(axis=1).astype(np.float32)


def feature_activations(deconvolver: Deconvolver, clip: Clip, layer: int) -> np.ndarray:
    """Each feature's activation at ``layer`` on ``clip``: :func:`feature_strengths`, float32 ``(n_features,)``."""
    return feature_strengths(deconvolver.activations(clip.S, layer))


def _layer_gain(clip: Clip, maps: np.ndarray) -> float:
    """The ``"comparable"`` gain that brings the loudest of ``maps``' auralisations to a peak of 0.99."""
    waves = synthesise(clip.X, maps, clip.config)
    return float(loudness_gains(waves, "comparable", normalize=True)[0])


def layer_features(
    attributor: Attributor,
    clip: Clip,
    layer: int,
    method: str = "deconvnet",
    *,
    seeding: Seeding = "map",
    features: Sequence[int] | None = None,
) -> LayerFeatures:
    """The ``method`` maps of ``features`` of ``layer`` for ``clip`` (:meth:`Attributor.maps`), with the activations
    of all the layer's features and the layer's gain.

    ``features=None`` maps all of them (for the rules, one batched call); occlusion uses the patch
    :data:`~auralisation.auralise.OCCLUSION_PATCH`.

    Raises
    ------
    ParameterError
        Unknown method or seeding.
    ModelError
        No such layer or feature, or the clip does not fit the model.
    """
    deconvolver = attributor.deconvolver("deconvnet")
    chosen = None if features is None else tuple(int(k) for k in features)
    D = attributor.maps(clip.S, layer, chosen, method, seeding=seeding)
    return LayerFeatures(clip.key, int(layer), deconvolver.layer_name(layer), seeding, D,
                         feature_activations(deconvolver, clip, layer), _layer_gain(clip, D), method, chosen)


def feature_maps(
    model: keras.Model,
    inputs: np.ndarray,
    config: AudioConfig,
    layers: Sequence[int | str],
    features: Sequence[int] | None = None,
    method: str = "deconvnet",
    *,
    seeding: Seeding = "map",
    route: Literal["transpose", "pinv"] = "transpose",
    compression: Literal["identity", "gradient"] = "identity",
    progress: bool = True,
) -> tuple[dict[str, tuple[list[int], np.ndarray]], str]:
    """The ``method`` maps of the chosen features of each of ``layers`` for one clip, on its linear STFT
    (:meth:`Attributor.maps` of an :class:`~auralisation.methods.Attributor` with ``config``, ``route`` and
    ``compression``; ``inputs``: :func:`~auralisation.frontends.model_input` of the clip).

    Returns
    -------
    tuple
        Layer name -> (feature indices, float32 maps ``(n, bins, frames)``), in the order of ``layers`` (the
        argument :func:`auralisation.auralise.export` takes); and how the maps came back to the STFT, in words
        (empty for Grad-CAM and occlusion).

    Raises
    ------
    ModelError
        Unknown layer, a feature out of range, Grad-CAM or occlusion on a model with a front end.
    ParameterError
        Unknown method or seeding, ``seeding="max"`` with Grad-CAM or occlusion.
    """
    check_method(method)
    attributor = Attributor(model, config, route=route, compression=compression)
    deconvolver = attributor.deconvolver("deconvnet")
    maps: dict[str, tuple[list[int], np.ndarray]] = {}
    for layer in layers:
        name = deconvolver.layer_name(layer)
        chosen = list(range(deconvolver.n_features(name))) if features is None else [int(k) for k in features]
        maps[name] = (chosen, attributor.maps(inputs, name, chosen, method, seeding=seeding, progress=progress))
    return maps, attributor.description(method) if method in RULES else ""


class FeatureCache:
    """Maps for the explorer, kept for the most recently used clips, layers, features and methods.

    For the ReLU rules a whole layer is computed at once (:func:`layer_features`, keyed by
    ``(clip, layer, seeding, method)``; one entry of the paper's network is 64 x 257 x 173 float32 values, about
    11 MB), so that moving the feature slider only reads the cache. Grad-CAM and occlusion compute the feature
    asked for (:func:`layer_features` with one feature, keyed by ``(clip, layer, feature, method)``; one map each).

    Parameters
    ----------
    attributor : Attributor
        The network's :class:`~auralisation.methods.Attributor` (the one way to a map; it keeps one
        :class:`~auralisation.deconv.Deconvolver` per rule).
    size : int
        Layers kept; ``4 * size`` single-feature maps are kept beside them.

    Attributes
    ----------
    attributor : Attributor
    """

    def __init__(self, attributor: Attributor, size: int = 16) -> None:
        self.attributor = attributor
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
    def key(
        clip: Clip, layer: int, seeding: Seeding = "map", method: str = "deconvnet", feature: int = 0
    ) -> tuple[Any, ...]:
        """The cache key of what :meth:`get` returns for these arguments."""
        if check_method(method) in RULES:
            return clip.key, int(layer), seeding, method
        return clip.key, int(layer), int(feature), method

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        return key in self._layers or key in self._singles

    def get(
        self, clip: Clip, layer: int, seeding: Seeding = "map", method: str = "deconvnet", feature: int = 0
    ) -> LayerFeatures:
        """The maps of ``layer`` for ``clip`` by ``method``, computed on first use.

        Every feature's map for the ReLU rules (``feature`` is not used); ``feature``'s alone for Grad-CAM and
        occlusion (``seeding`` is not used).
        """
        key = self.key(clip, layer, seeding, method, feature)
        if method in RULES:
            return self._layers.get(key, lambda: layer_features(self.attributor, clip, layer, method, seeding=seeding))
        return self._singles.get(key, lambda: layer_features(self.attributor, clip, layer, method, features=[feature]))
