"""What an attribution explains (a class output or one feature of a layer) and how to score it.

A :class:`Target` names the scalar an attribution method explains:

* a **class**: the class's *logit*, the output layer's value before its softmax (or sigmoid), as Simonyan et al.
  and Selvaraju et al. do, because the softmax's probability also moves when other classes do; the faithfulness
  curves (:mod:`.faithfulness`) follow the *probability* instead, which is bounded and comparable across clips;
* a **feature** ``k`` of a layer: the *mean activation* of its map.

:class:`Scorer` computes that scalar for batches of spectrograms, and its gradients, on the chain that
:mod:`auralisation.deconv` reads from the model (:func:`~auralisation.deconv.chain.read_chain`), with the ReLUs of
:mod:`auralisation.deconv.rules`: the rule's ReLU override lives there only. Like deconvolution, the gradient is
taken with respect to the output of the model's input scaling layer (``log(1 + S)``), which is treated as the
identity going back, so every map has the shape and the units of the magnitude spectrogram.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import numpy as np
import tensorflow as tf

from ..deconv import Deconvolver, check_spectrograms
from ..deconv.chain import Step
from ..deconv.rules import rectifier
from ..deconv.tape import forward
from ..errors import ModelError

__all__ = ["Target", "Scorer", "make_target"]


@dataclasses.dataclass(frozen=True)
class Target:
    """A class output (``layer is None``) or feature ``index`` of ``layer``.

    Attributes
    ----------
    index : int
        The class index, or the feature (channel) index at ``layer``.
    layer : str or None
        The layer's name for a feature; ``None`` for a class.
    """

    index: int
    layer: str | None = None

    @property
    def is_class(self) -> bool:
        """True for a class output."""
        return self.layer is None

    @property
    def selection(self) -> dict[str, int | str]:
        """The keyword arguments that select this target in :func:`~.attribute.attribute` and friends.

        Examples
        --------
        >>> Target(7, "pool2").selection
        {'layer': 'pool2', 'feature': 7}
        """
        return {"class_index": self.index} if self.is_class else {"layer": self.layer, "feature": self.index}

    def __str__(self) -> str:
        return f"class {self.index}" if self.is_class else f"feature {self.index} of {self.layer}"


def make_target(
    deconvolver: Deconvolver,
    *,
    layer: int | str | None = None,
    feature: int | None = None,
    class_index: int | None = None,
) -> Target:
    """The :class:`Target` for a class (``class_index``) or for a feature of a layer (``layer``, ``feature``).

    Raises
    ------
    ModelError
        Both or neither kind given, a layer without a feature, or an index out of range (the message gives the
        valid range).
    """
    model = deconvolver.model
    if class_index is not None:
        if layer is not None or feature is not None:
            raise ModelError("give either class_index, or layer and feature, not both")
        n_classes = int(model.output_shape[-1])
        if not 0 <= int(class_index) < n_classes:
            raise ModelError(
                f"model {model.name!r} has classes 0..{n_classes - 1}; class_index {class_index} does not exist"
            )
        return Target(int(class_index))
    if layer is None or feature is None:
        raise ModelError(
            "say what to explain: class_index=c for a class output, or layer=L and feature=k for a feature map"
        )
    name = deconvolver.layer_name(layer)
    count = deconvolver.n_features(name)
    if not 0 <= int(feature) < count:
        raise ModelError(
            f"layer {name!r} of model {model.name!r} has features 0..{count - 1}; feature {feature} does not exist"
        )
    return Target(int(feature), name)


class Scorer:
    """The score of one :class:`Target` of one model, for batches of spectrograms, and its gradients.

    Parameters
    ----------
    deconvolver : Deconvolver
        Gives the model read as a chain (:attr:`Deconvolver.chain`); its rule does not matter here.
    target : Target
        What to score.
    batch_size : int
        Spectrograms per forward pass in :meth:`scores`.
    """

    def __init__(self, deconvolver: Deconvolver, target: Target, *, batch_size: int = 16) -> None:
        self.deconvolver = deconvolver
        self.chain = deconvolver.chain
        self.target = target
        self.batch_size = batch_size
        self._compiled: dict[tuple[object, ...], Callable[..., tf.Tensor]] = {}
        if target.is_class:
            self._name = deconvolver.model.layers[-1].name
            self._logit_end = self.chain.logit_end(self._name)
        else:
            self._name = target.layer
            self._logit_end = self.chain.ends[target.layer]

    @property
    def shape(self) -> tuple[int, int]:
        """The spectrogram shape the model takes, ``(bins, frames)``."""
        return tuple(self.chain.input_shape[:2])

    def check(self, spectrogram: np.ndarray) -> np.ndarray:
        """One linear magnitude spectrogram ``(bins, frames)`` or ``(bins, frames, 1)`` as float32 ``(bins, frames)``.

        Raises
        ------
        ModelError
            Wrong shape, or NaN/infinite values.
        """
        batch, single = check_spectrograms(self.chain, spectrogram)
        if not single:
            raise ModelError(
                f"expected one spectrogram ({self.shape[0]} x {self.shape[1]} bins x frames) for "
                f"{self.target}, got a batch of shape {np.shape(spectrogram)}; explain one at a time"
            )
        return batch[0, ..., 0]

    def path(self, rule: str = "gradient", *, start: int = 0, probability: bool = False) -> tuple[Step, ...]:
        """The chain's steps from step ``start`` to the score (the logit, or the probability), checked for ``rule``."""
        logits = self.target.is_class and not probability
        return self.chain.path(self._name, rectified_only=rule != "gradient", rule=rule, logits=logits)[start:]

    def head(self, outputs: tf.Tensor) -> tf.Tensor:
        """The score ``(n,)`` from the outputs ``(n, ...)`` of :meth:`path`."""
        if self.target.is_class:
            return outputs[:, self.target.index]
        return tf.reduce_mean(outputs[..., self.target.index], axis=tuple(range(1, len(outputs.shape) - 1)))

    def scaled(self, x: tf.Tensor) -> tf.Tensor:
        """The chain's input: the output of the model's scaling layer for the linear magnitudes ``x``."""
        scaling = self.chain.scaling
        return tf.convert_to_tensor(scaling(x)) if scaling is not None else x

    def _function(
        self, key: tuple[object, ...], build: Callable[[], Callable[..., tf.Tensor]]
    ) -> Callable[..., tf.Tensor]:
        """A compiled function, traced once per key."""
        if key not in self._compiled:
            self._compiled[key] = tf.function(build(), reduce_retracing=True)
        return self._compiled[key]

    def scores(self, spectrograms: np.ndarray, *, probability: bool = False) -> np.ndarray:
        """The target's score for each spectrogram of a batch ``(n, bins, frames)``, in batches of :attr:`batch_size`.

        ``probability`` gives a class's probability instead of its logit (no effect on a feature's mean
        activation). Returns float64 ``(n,)``.
        """
        batch = np.asarray(spectrograms, dtype=np.float32)
        steps = self.path(probability=probability)
        run = self._function(
            ("scores", probability), lambda: lambda x: self.head(forward(steps, self.scaled(x), tf.nn.relu))
        )
        out = [
            run(tf.constant(batch[start : start + self.batch_size, ..., None])).numpy()
            for start in range(0, len(batch), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float64)

    def gradient(self, spectrogram: np.ndarray, rule: Literal["deconvnet", "guided", "gradient"]) -> np.ndarray:
        """The gradient of the score under ``rule`` with respect to the scaled input: float32 ``(bins, frames)``."""
        s = self.check(spectrogram)
        steps = self.path(rule)

        def build() -> Callable[[tf.Tensor], tf.Tensor]:
            rectify = rectifier(rule)

            def run(x: tf.Tensor) -> tf.Tensor:
                z = self.scaled(x)
                with tf.GradientTape() as tape:
                    tape.watch(z)
                    score = tf.reduce_sum(self.head(forward(steps, z, rectify)))
                return tape.gradient(score, z)

            return run

        run = self._function(("gradient", rule), build)
        return run(tf.constant(s[None, ..., None])).numpy()[0, ..., 0].astype(np.float32)

    def layer_gradient(self, spectrogram: np.ndarray, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """The maps ``A`` at ``layer`` and the plain gradient of the score with respect to them, each ``(h, w, c)``.

        Raises
        ------
        ModelError
            ``layer`` is not on the way to the target (above it, or not a layer of the chain).
        """
        s = self.check(spectrogram)
        split = self.chain.ends.get(layer)
        if split is None or split > self._logit_end:
            on_path = [name for name, end in self.chain.ends.items() if end <= self._logit_end]
            raise ModelError(
                f"layer {layer!r} is not below {self.target} in model {self.chain.model_name!r}; choose one of "
                f"{', '.join(on_path)}"
            )
        lower = self.path()[:split]
        upper = self.path(start=split)

        def build() -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
            def run(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                a = forward(lower, self.scaled(x), tf.nn.relu)
                with tf.GradientTape() as tape:
                    tape.watch(a)
                    score = tf.reduce_sum(self.head(forward(upper, a, tf.nn.relu)))
                return a, tape.gradient(score, a)

            return run

        run = self._function(("layer_gradient", layer), build)
        a, grad = run(tf.constant(s[None, ..., None]))
        return a.numpy()[0], grad.numpy()[0]
