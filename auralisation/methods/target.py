"""What an attribution explains (a class output or one feature of a layer) and how to score it.

A :class:`Target` names the scalar an attribution method explains:

* a **class**: the class's *logit*, the output layer's value before its softmax (or sigmoid), as Simonyan et al.
  and Selvaraju et al. do, because the softmax's probability also moves when other classes do; the faithfulness
  curves (:mod:`.faithfulness`) follow the *probability* instead, which is bounded and comparable across clips;
* a **feature** ``k`` of a layer: the *mean activation* of its map.

:class:`Scorer` computes that scalar for batches of spectrograms, and its gradients, on the real model run by
:class:`auralisation.deconv.Network`, with the rules of :mod:`auralisation.deconv.rules`: the rules' override
lives there only. Like deconvolution, the gradient is taken with respect to the spectrogram, and a compression
layer (``log(1 + S)``) is treated as the identity going back, so every map has the shape and the units of the
magnitude spectrogram.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import numpy as np
import tensorflow as tf

from ..deconv import Deconvolver, check_spectrograms
from ..deconv.recording import Call, Recording
from ..deconv.rules import activation_name
from ..errors import ModelError

__all__ = ["Scorer", "Target"]


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


#: Output activations whose input is the logit.
SQUASHING = frozenset({"softmax", "sigmoid", "log_softmax"})


def _output_call(recording: Recording, output: tf.Tensor) -> Call:
    """The leaf call that produced the model's output."""
    for call in reversed(recording.calls):
        if call.children == 0 and call.output is output:
            return call
    raise ModelError("cannot find the layer that produces the model's output; is the model's output one tensor?")


def logits_of(recording: Recording, output: tf.Tensor) -> tf.Tensor:
    """The model's logits: the input of its final softmax or sigmoid, or the output itself when it has none."""
    call = _output_call(recording, output)
    if call.pre_activation is not None and activation_name(call.function) in SQUASHING:
        return call.pre_activation
    return output


class Scorer:
    """The score of one :class:`Target` of one model, for batches of spectrograms, and its gradients.

    Parameters
    ----------
    deconvolver : Deconvolver
        Gives the model (:attr:`Deconvolver.network`); its rule does not matter here.
    target : Target
        What to score.
    batch_size : int
        Spectrograms per forward pass in :meth:`scores`.
    """

    def __init__(self, deconvolver: Deconvolver, target: Target, *, batch_size: int = 16) -> None:
        self.deconvolver = deconvolver
        self.network = deconvolver.network
        self.target = target
        self.batch_size = batch_size
        self._compiled: dict[tuple[object, ...], Callable[..., tf.Tensor]] = {}

    @property
    def shape(self) -> tuple[int, int]:
        """The spectrogram shape the model takes, ``(bins, frames)``."""
        return tuple(self.network.input_shape[:2])

    def check(self, spectrogram: np.ndarray) -> np.ndarray:
        """One linear magnitude spectrogram ``(bins, frames)`` or ``(bins, frames, 1)`` as float32 ``(bins, frames)``.

        Raises
        ------
        ModelError
            Wrong shape, or NaN/infinite values.
        """
        batch, single = check_spectrograms(self.network, spectrogram)
        if not single:
            raise ModelError(
                f"expected one spectrogram ({self.shape[0]} x {self.shape[1]} bins x frames) for "
                f"{self.target}, got a batch of shape {np.shape(spectrogram)}; explain one at a time"
            )
        return batch[0, ..., 0]

    def score(self, x: tf.Tensor, rule: str = "gradient", *, probability: bool = False) -> tuple[tf.Tensor, Recording]:
        """The target's score ``(n,)`` for the model's inputs ``x``, by a forward pass under ``rule``; and its recording."""
        with self.network.ruled(rule) as recording:
            output = self.network.model(x, training=False)
        if self.target.is_class:
            values = output if probability else logits_of(recording, output)
            return values[:, self.target.index], recording
        a = recording.output(self.target.layer)
        return tf.reduce_mean(a[..., self.target.index], axis=tuple(range(1, len(a.shape) - 1))), recording

    def _function(
        self, key: tuple[object, ...], build: Callable[[], Callable[..., tf.Tensor]]
    ) -> Callable[..., tf.Tensor]:
        """A compiled function, traced once per key."""
        if key not in self._compiled:
            self._compiled[key] = tf.function(build(), reduce_retracing=True, autograph=False)
        return self._compiled[key]

    def scores(self, spectrograms: np.ndarray, *, probability: bool = False) -> np.ndarray:
        """The target's score for each spectrogram of a batch ``(n, bins, frames)``, in batches of :attr:`batch_size`.

        ``probability`` gives a class's probability instead of its logit (no effect on a feature's mean
        activation). Returns float64 ``(n,)``.
        """
        batch = np.asarray(spectrograms, dtype=np.float32)
        run = self._function(("scores", probability), lambda: lambda x: self.score(x, probability=probability)[0])
        out = [
            run(tf.constant(batch[start : start + self.batch_size, ..., None])).numpy()
            for start in range(0, len(batch), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float64)

    def gradient(self, spectrogram: np.ndarray, rule: Literal["deconvnet", "guided", "gradient"]) -> np.ndarray:
        """The gradient of the score under ``rule`` with respect to the spectrogram: float32 ``(bins, frames)``."""
        s = self.check(spectrogram)

        def build() -> Callable[[tf.Tensor], tf.Tensor]:
            def run(x: tf.Tensor) -> tf.Tensor:
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    score, recording = self.score(x, rule)
                    score = tf.reduce_sum(score)
                return tape.gradient(score, self.network.source(recording, x))

            return run

        run = self._function(("gradient", rule), build)
        return run(tf.constant(s[None, ..., None])).numpy()[0, ..., 0].astype(np.float32)

    def layers_below(self) -> list[str]:
        """The layers (leaves, in graph order) that run before the target."""
        leaves = self.network.leaves()
        if self.target.is_class:
            return leaves
        paths = self.network.paths
        top = paths.index(self.target.layer)
        return [p for p in leaves if paths.index(p) <= top]

    def layer_gradient(self, spectrogram: np.ndarray, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """The maps ``A`` at ``layer`` and the plain gradient of the score with respect to them, each ``(h, w, c)``.

        Raises
        ------
        ModelError
            ``layer`` is not a layer of the model, or not on the way to the target.
        """
        s = self.check(spectrogram)
        path = self.network.resolve(layer)

        def build() -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
            def run(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                with tf.GradientTape() as tape:
                    score, recording = self.score(x)
                    a = recording.output(path)
                    score = tf.reduce_sum(score)
                grad = tape.gradient(score, a)
                if grad is None:
                    raise ModelError(
                        f"layer {path!r} is not below {self.target} in model {self.network.name!r}; choose one of "
                        f"{', '.join(self.layers_below())}"
                    )
                return a, grad

            return run

        run = self._function(("layer_gradient", path), build)
        a, grad = run(tf.constant(s[None, ..., None]))
        return a.numpy()[0], grad.numpy()[0]
