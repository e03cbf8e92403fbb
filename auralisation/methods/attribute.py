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

from typing import Any, Literal

import keras
import numpy as np

from ..choices import METHODS, RULES
from ..deconv import Deconvolver
from ..errors import ParameterError
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
    """Attribution maps of one Keras model, with its compiled functions kept across calls.

    Parameters
    ----------
    model : keras.Model
        Any Keras model with one input, a linear magnitude spectrogram (any graph: see
        :class:`auralisation.deconv.Network`). Never modified.
    batch_size : int
        Spectrograms per forward pass for occlusion and for :meth:`scorer` users (faithfulness curves).
    """

    def __init__(self, model: keras.Model, *, batch_size: int = 16) -> None:
        self.model = model
        self.batch_size = batch_size
        self._deconvolvers: dict[str, Deconvolver] = {}
        self._scorers: dict[Target, Scorer] = {}
        self.deconvolver("deconvnet")

    def deconvolver(self, rule: str) -> Deconvolver:
        """The model's :class:`Deconvolver` under ``rule``, built on first use."""
        if rule not in self._deconvolvers:
            self._deconvolvers[rule] = Deconvolver(self.model, rule)
        return self._deconvolvers[rule]

    def target(
        self, *, layer: int | str | None = None, feature: int | None = None, class_index: int | None = None
    ) -> Target:
        """The :class:`Target` for a class or a feature (see :func:`~.target.make_target`)."""
        return make_target(self.deconvolver("deconvnet"), layer=layer, feature=feature, class_index=class_index)

    def scorer(self, target: Target) -> Scorer:
        """The :class:`Scorer` of ``target``, built on first use."""
        if target not in self._scorers:
            self._scorers[target] = Scorer(self.deconvolver("deconvnet"), target, batch_size=self.batch_size)
        return self._scorers[target]

    def attribute(self, spectrogram: np.ndarray, method: str, target: Target, **options: Any) -> np.ndarray:
        """The ``method`` map of ``target`` for one linear magnitude spectrogram: float32 ``(bins, frames)``.

        ``options``: ``seeding`` ("map" or "max") for the rules on a feature; ``cam_layer`` (the layer whose maps
        Grad-CAM weights) for Grad-CAM; ``patch``, ``stride``, ``fill`` for occlusion. An option the method does
        not take raises :class:`ParameterError`.
        """
        check_method(method)
        unknown = sorted(set(options) - set(_OPTIONS[method]))
        if unknown:
            raise ParameterError(
                f"method {method!r} takes no option {', '.join(unknown)}; its options are "
                f"{', '.join(_OPTIONS[method]) or 'none'}"
            )
        scorer = self.scorer(target)
        s = scorer.check(spectrogram)
        if method == "gradcam":
            return gradcam(scorer, s, options.get("cam_layer"))
        if method == "occlusion":
            return occlusion(scorer, s, **options)
        if target.is_class:
            if options.get("seeding", "map") != "map":
                raise ParameterError("seeding='max' applies to a feature map; a class is explained through its logit")
            return scorer.gradient(s, method)
        seeding = options.get("seeding", "map")
        maps = self.deconvolver(method).deconvolve(s, target.layer, [target.index], seeding=seeding)
        return maps[0]


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
