"""One entry point for every attribution method: :func:`attribute` and :class:`Attributor`.

============  ==============================================================  =====================================
method        map                                                             target of a feature / of a class
============  ==============================================================  =====================================
deconvnet     deconvolution, ReLU backward ``relu(dy)`` (Zeiler & Fergus)     deconvolve's seeding / the logit
guided        guided backpropagation, ``relu(dy) * (x > 0)`` (Springenberg)   deconvolve's seeding / the logit
gradient      the plain gradient, saliency (Simonyan et al.)                  deconvolve's seeding / the logit
gradcam       Grad-CAM (Selvaraju et al.), upsampled, non-negative            mean activation / the logit
occlusion     drop in score when a patch is hidden (Zeiler & Fergus)          mean activation / the logit
============  ==============================================================  =====================================

Every method returns a float32 ``(bins, frames)`` map, in the spectrogram's layout, that
:func:`auralisation.auralise.auralise` turns into sound. For a **feature**, the three rules are exactly
:func:`auralisation.deconv.deconvolve` (seeded by the feature's whole map by default, as the authors did: the
gradient of ``sum(stop_gradient(A_k) * A_k)``), so ``method="deconvnet"`` is the paper's deconvolved spectrogram;
Grad-CAM and occlusion explain the feature's mean activation. For a **class**, every method explains the class's
logit (the output before the softmax); the rules then run on :class:`~.target.Scorer`'s gradient, on the real
model with the same rules as deconvolution. Grad-CAM and occlusion need no rule and run on the model as it is.

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig
>>> from auralisation.models import choi2016
>>> model = choi2016(AudioConfig(), n_classes=2, seed=0)
>>> S = np.random.default_rng(0).random((257, 173)).astype("float32")
>>> attribute(model, S, "gradcam", class_index=1).shape
(257, 173)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import keras
import numpy as np
from tqdm.auto import tqdm

from ..audio import AudioConfig
from ..auralise import OCCLUSION_PATCH
from ..choices import METHODS, RULES
from ..deconv import Deconvolver
from ..deconv.rules import Seeding
from ..errors import ModelError, ParameterError
from ..frontends import (
    apply_back,
    back_projection,
    describe,
    filterbank_of,
    require_magnitude_input,
    spectrogram_target,
)
from ..lru import LRU
from .gradcam import gradcam
from .occlusion import occlusion
from .target import Scorer, Target, make_target

__all__ = ["METHODS", "Attributor", "Method", "attribute", "attributor_for"]

Method = Literal["deconvnet", "guided", "gradient", "gradcam", "occlusion"]


#: Options each method accepts besides the target.
_OPTIONS: dict[str, tuple[str, ...]] = {
    **{rule: ("seeding",) for rule in RULES},
    "gradcam": ("cam_layer",),
    "occlusion": ("patch", "stride", "fill"),
}


def check_method(method: str) -> str:
    """Return ``method`` if it is one of :data:`METHODS`, else raise :class:`ParameterError`."""
    if method not in METHODS:
        raise ParameterError(f"unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")
    return method


class Attributor:
    """The one way to a map: attribution maps of one Keras model on the clip's linear STFT, with its compiled
    functions kept across calls.

    :meth:`maps` gives the maps of features of a layer by any method (the CLI, the explorer's
    :class:`~auralisation.features.FeatureCache`, the report, the atlas and the notebooks call it); :meth:`attribute`
    gives one map of a class or a feature (the benchmark and the sanity checks call it). The rules run on one
    :class:`~auralisation.deconv.Deconvolver` per rule, front-end aware: the gradient is taken where
    :func:`~auralisation.frontends.spectrogram_target` says and maps on filterbank bands come back to the linear STFT
    by ``route`` (see :mod:`auralisation.frontends`).

    Parameters
    ----------
    model : keras.Model
        Any Keras model with one input (any graph: see :class:`auralisation.deconv.Network`). Never modified.
    config : AudioConfig, optional
        The model's saved config, whose ``frontend`` says what the model takes; ``None``: the model takes the linear
        magnitude spectrogram and maps are taken at its input.
    route : {"transpose", "pinv"}
        How maps on filterbank bands come back to the STFT bins.
    compression : {"identity", "gradient"}
        The backward pass of the compression layers: the identity (the authors' choice) or their true gradient.
    batch_size : int
        Spectrograms per forward pass for occlusion and for :meth:`scorer` users (faithfulness curves).

    Examples
    --------
    >>> import numpy as np
    >>> from auralisation.audio import AudioConfig
    >>> from auralisation.models import choi2016
    >>> attributor = Attributor(choi2016(AudioConfig(), n_classes=2, width=2, seed=0), AudioConfig())
    >>> S = np.random.default_rng(0).random((257, 173)).astype("float32")
    >>> attributor.maps(S, 2, [0, 1], "guided").shape
    (2, 257, 173)
    """

    def __init__(
        self,
        model: keras.Model,
        config: AudioConfig | None = None,
        *,
        route: Literal["transpose", "pinv"] = "transpose",
        compression: Literal["identity", "gradient"] = "identity",
        batch_size: int = 16,
    ) -> None:
        self.model, self.config, self.route, self.compression = model, config, route, compression
        self.batch_size = batch_size
        self.at, on_bands = (None, False) if config is None else spectrogram_target(model, config, route)
        self.matrix = filterbank_of(model, config) if config is not None and on_bands else None
        self._back = None if self.matrix is None else back_projection(self.matrix, route)
        self._engines: dict[tuple[str, str | None], Deconvolver] = {}
        self._scorers: dict[Target, Scorer] = {}
        self.deconvolver("deconvnet")

    def _engine(self, rule: str, at: str | None) -> Deconvolver:
        """The :class:`Deconvolver` of ``rule`` taking the gradient at ``at``, built on first use."""
        if (rule, at) not in self._engines:
            self._engines[rule, at] = Deconvolver(self.model, rule, at=at, compression=self.compression)
        return self._engines[rule, at]

    def deconvolver(self, rule: str) -> Deconvolver:
        """The model's front-end-aware :class:`Deconvolver` under ``rule`` (layer names, feature counts,
        activations), built on first use."""
        return self._engine(rule, self.at)

    def description(self, rule: str = "deconvnet") -> str:
        """How the maps of ``rule`` reach the linear STFT, in words (:func:`~auralisation.frontends.describe`);
        empty without a config."""
        if self.config is None:
            return ""
        return describe(self.model, self.config, rule=rule, route=self.route, compression=self.compression)

    def target(
        self, *, layer: int | str | None = None, feature: int | None = None, class_index: int | None = None
    ) -> Target:
        """The :class:`Target` for a class or a feature (see :func:`~.target.make_target`)."""
        return make_target(self.deconvolver("deconvnet"), layer=layer, feature=feature, class_index=class_index)

    def scorer(self, target: Target) -> Scorer:
        """The :class:`Scorer` of ``target`` (on the model's input), built on first use."""
        if target not in self._scorers:
            self._scorers[target] = Scorer(self._engine("deconvnet", None), target, batch_size=self.batch_size)
        return self._scorers[target]

    def maps(
        self,
        inputs: np.ndarray,
        layer: int | str,
        features: Sequence[int] | np.ndarray | None = None,
        method: str = "deconvnet",
        *,
        seeding: Seeding = "map",
        progress: bool = False,
        **options: Any,
    ) -> np.ndarray:
        """The ``method`` maps of ``features`` of ``layer`` on the linear STFT: float32 ``(n, bins, frames)``.

        Parameters
        ----------
        inputs : numpy.ndarray
            What the model takes (:func:`~auralisation.frontends.model_input` of the clip; for the rules also a
            batch of them, which puts a batch axis first).
        layer : int or str
            A block number (1 = the first max-pooling's output) or a layer name.
        features : sequence of int, optional
            The features (channels), in the order of the maps; ``None``: all of them.
        method : {"deconvnet", "guided", "gradient", "gradcam", "occlusion"}
            The rules deconvolve all ``features`` in one batched call (:meth:`Deconvolver.deconvolve`); Grad-CAM and
            occlusion explain one feature after the other (:meth:`attribute`), on a model that takes the linear
            magnitude.
        seeding : {"map", "max"}
            The rules' seeding (:meth:`Deconvolver.deconvolve`); Grad-CAM and occlusion take only "map".
        progress : bool
            A progress bar over the features of Grad-CAM and occlusion.
        **options
            Grad-CAM's and occlusion's options (:meth:`attribute`); occlusion's ``patch`` defaults to
            :data:`~auralisation.auralise.OCCLUSION_PATCH`.

        Raises
        ------
        ModelError
            Unknown layer, a feature out of range, maps whose shape is not the spectrogram's, Grad-CAM or occlusion
            on a model with a front end.
        ParameterError
            Unknown method, seeding or option.
        """
        check_method(method)
        if method in RULES:
            if options:
                raise ParameterError(f"method {method!r} takes no option {', '.join(sorted(options))}")
            return self._on_stft(self.deconvolver(method).deconvolve(inputs, layer, features, seeding=seeding))
        if seeding != "map":
            raise ParameterError(f"seeding {seeding!r} applies to the ReLU rules ({', '.join(RULES)}); {method} takes "
                                 "no seeding, leave it at 'map'")
        if self.config is not None:
            require_magnitude_input(self.config, method)
        if method == "occlusion":
            options.setdefault("patch", OCCLUSION_PATCH)
        name = self.deconvolver("deconvnet").layer_name(layer)
        chosen = range(self.deconvolver("deconvnet").n_features(name)) if features is None else features
        maps = [self.attribute(inputs, method, self.target(layer=name, feature=int(k)), **options)
                for k in tqdm(chosen, desc=f"{method} {name}", unit="feature", disable=not progress)]
        return np.stack(maps).astype(np.float32)

    def _on_stft(self, maps: np.ndarray) -> np.ndarray:
        """The rules' maps, frequency first, brought back from filterbank bands to the linear STFT bins."""
        maps = np.asarray(maps)
        if self.config is None:
            return maps
        rows = self.config.n_bins if self.matrix is None else self.matrix.shape[0]
        if maps.shape[-2:] == (self.config.n_frames, rows) and rows != self.config.n_frames:
            maps = np.swapaxes(maps, -1, -2)  # a time-first Keras spectrogram layer: frequency first, as everywhere
        if maps.shape[-2:] != (rows, self.config.n_frames):
            raise ModelError(
                f"model {self.model.name!r}: the maps at {self.at or 'the input'} have shape {maps.shape[-2:]}, not "
                f"the spectrogram's ({rows}, {self.config.n_frames}); check the model's front end against its config"
            )
        return maps if self._back is None else apply_back(maps, self._back)

    def attribute(self, spectrogram: np.ndarray, method: str, target: Target, **options: Any) -> np.ndarray:
        """The ``method`` map of ``target`` for one linear magnitude spectrogram: float32 ``(bins, frames)``.

        A feature's map by a rule is :meth:`maps`'s. ``options``: ``seeding`` ("map" or "max") for the rules on a
        feature; ``cam_layer`` (the layer whose maps Grad-CAM weights) for Grad-CAM; ``patch``, ``stride``, ``fill``
        for occlusion. An option the method does not take raises :class:`ParameterError`.
        """
        check_method(method)
        unknown = sorted(set(options) - set(_OPTIONS[method]))
        if unknown:
            raise ParameterError(
                f"method {method!r} takes no option {', '.join(unknown)}; its options are "
                f"{', '.join(_OPTIONS[method]) or 'none'}"
            )
        if method in RULES and not target.is_class:
            seeding = options.get("seeding", "map")
            return self.maps(spectrogram, target.layer, [target.index], method, seeding=seeding)[0]
        scorer = self.scorer(target)
        s = scorer.check(spectrogram)
        if method == "gradcam":
            return gradcam(scorer, s, options.get("cam_layer"))
        if method == "occlusion":
            return occlusion(scorer, s, **options)
        if options.get("seeding", "map") != "map":
            raise ParameterError("seeding='max' applies to a feature map; a class is explained through its logit")
        return scorer.gradient(s, method)


#: Attributors of recently used models, by id; kept small because each holds its model.
_CACHE: LRU[int, Attributor] = LRU(4)


def attributor_for(model: keras.Model) -> Attributor:
    """The cached :class:`Attributor` of ``model``, built on first use (the last few models are kept)."""
    return _CACHE.get(id(model), lambda: Attributor(model), valid=lambda a: a.model is model)


def attribute(
    model: keras.Model,
    spectrogram: np.ndarray,
    method: Method,
    *,
    layer: int | str | None = None,
    feature: int | None = None,
    class_index: int | None = None,
    **options: Any,
) -> np.ndarray:
    """The attribution map of a class output or of a feature of a layer, by ``method``.

    Parameters
    ----------
    model : keras.Model
        The network (not modified). Its :class:`Attributor` is cached for the last few models, so that repeated
        calls do not re-trace anything.
    spectrogram : numpy.ndarray
        Linear magnitude ``(bins, frames)`` or ``(bins, frames, 1)``, the model's input.
    method : {"deconvnet", "guided", "gradient", "gradcam", "occlusion"}
        One of :data:`METHODS` (see the module's table).
    layer : int or str, optional
        With ``feature``: a block number (1 = the first max-pooling's output) or a layer name.
    feature : int, optional
        The feature (channel) index at ``layer``.
    class_index : int, optional
        A class output instead (explained through its logit).
    **options
        ``seeding="map"|"max"`` (rules, feature targets); ``cam_layer=NAME`` (Grad-CAM's maps; ``layer`` is
        always the target feature's layer); ``patch=(16, 8)``,
        ``stride=None`` (half the patch), ``fill="zero"|"mean"`` (occlusion).

    Returns
    -------
    numpy.ndarray
        float32 ``(bins, frames)``, signed for the rules and occlusion, non-negative for Grad-CAM.

    Raises
    ------
    ModelError
        Both or neither of a class and a feature, an index out of range, a spectrogram that does not fit the
        model.
    ParameterError
        Unknown method or option.
    """
    attributor = attributor_for(model)
    target = attributor.target(layer=layer, feature=feature, class_index=class_index)
    return attributor.attribute(spectrogram, method, target, **options)
