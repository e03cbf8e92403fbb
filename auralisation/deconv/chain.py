"""A Keras model read as a chain of simple steps that deconvolution can run forwards and backwards.

:func:`read_chain` walks a functional or Sequential model layer by layer and turns each layer into zero or more
:class:`Step` objects: a ``Conv2D`` with ``activation="relu"`` becomes a :class:`Conv` step followed by a
:class:`Rectify` step, a ``ReLU()`` layer or an ``Activation("relu")`` layer becomes a :class:`Rectify` step, a
``Dropout`` becomes nothing (deconvolution runs the model in inference mode). The steps read the model's own
weight variables, never copies, so the model is neither modified nor allowed to drift out of date; together they
are the "clone" of the model that deconvolution differentiates, with every ReLU replaced by the rule's.

Supported layers: ``InputLayer``; one input scaling layer (:class:`auralisation.models.MagnitudeScaling`) before
the first convolution; ``Conv2D`` (channels last, ``groups=1``); ``MaxPooling2D``; ``BatchNormalization``
(inference mode, channels last); ``Dense``; ``Flatten``; ``Dropout`` (and its subclasses); ``ReLU``;
``Activation``. Layers above the one being deconvolved are never run and may be anything; a layer of another type
on the way down raises :class:`~auralisation.errors.ModelError` naming it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from ..errors import ModelError

__all__ = [
    "Chain",
    "Conv",
    "Dense",
    "Flatten",
    "Nonlinear",
    "Normalise",
    "Pool",
    "Rectify",
    "SQUASHING",
    "Step",
    "Unsupported",
    "read_chain",
]

#: A function applying a ReLU whose backward pass follows a rule (see :mod:`auralisation.deconv.rules`).
Rectifier = Callable[[tf.Tensor], tf.Tensor]


@dataclasses.dataclass(frozen=True)
class Step:
    """One operation of the chain, made from the Keras layer named :attr:`layer`."""

    layer: str

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        """Apply the step to ``x`` (a batch), with ``rectify`` as the ReLU."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Conv(Step):
    """A 2-D convolution plus bias (its activation is a separate step)."""

    source: Any = dataclasses.field(repr=False, default=None)

    @property
    def kernel(self) -> tf.Tensor:
        """The kernel, ``(kh, kw, in_channels, out_channels)``, read from the model's variable."""
        return tf.convert_to_tensor(self.source.kernel)

    @property
    def strides(self) -> tuple[int, int]:
        """Strides along (rows, columns)."""
        return tuple(self.source.strides)

    @property
    def dilations(self) -> tuple[int, int]:
        """Dilation rates along (rows, columns)."""
        return tuple(self.source.dilation_rate)

    @property
    def padding(self) -> str:
        """``"SAME"`` or ``"VALID"``."""
        return self.source.padding.upper()

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        y = tf.nn.conv2d(x, self.kernel, self.strides, self.padding, dilations=self.dilations)
        if self.source.use_bias:
            y = y + tf.convert_to_tensor(self.source.bias)
        return y


@dataclasses.dataclass(frozen=True)
class Dense(Step):
    """A fully connected layer plus bias (its activation is a separate step)."""

    source: Any = dataclasses.field(repr=False, default=None)

    @property
    def kernel(self) -> tf.Tensor:
        """The kernel, ``(in_units, out_units)``."""
        return tf.convert_to_tensor(self.source.kernel)

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        y = tf.matmul(x, self.kernel)
        if self.source.use_bias:
            y = y + tf.convert_to_tensor(self.source.bias)
        return y


@dataclasses.dataclass(frozen=True)
class Pool(Step):
    """A 2-D max-pooling; its gradient routes the signal to the switches (unpooling)."""

    size: tuple[int, int] = (2, 2)
    strides: tuple[int, int] = (2, 2)
    padding: str = "VALID"

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        return tf.nn.max_pool2d(x, self.size, self.strides, self.padding)


@dataclasses.dataclass(frozen=True)
class Rectify(Step):
    """A ReLU, in any of Keras's spellings; the rule decides its backward pass."""

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        return rectify(x)


@dataclasses.dataclass(frozen=True)
class Nonlinear(Step):
    """Another activation (tanh, sigmoid, elu, softmax, a leaky or capped ReLU...): its ordinary gradient."""

    name: str = ""
    function: Callable[[tf.Tensor], tf.Tensor] | None = dataclasses.field(repr=False, default=None)

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        return self.function(x)


@dataclasses.dataclass(frozen=True)
class Normalise(Step):
    """Batch normalisation in inference mode: a per-channel affine map."""

    source: Any = dataclasses.field(repr=False, default=None)

    def scale(self) -> tf.Tensor:
        """The per-channel factor ``gamma / sqrt(moving_variance + epsilon)``, the step's backward pass."""
        source = self.source
        factor = tf.math.rsqrt(tf.convert_to_tensor(source.moving_variance) + source.epsilon)
        if source.scale:
            factor = factor * tf.convert_to_tensor(source.gamma)
        return factor

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        return self.source(x, training=False)


@dataclasses.dataclass(frozen=True)
class Flatten(Step):
    """``Flatten``: a reshape to ``(batch, -1)``."""

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        return tf.reshape(x, (tf.shape(x)[0], -1))


@dataclasses.dataclass(frozen=True)
class Unsupported(Step):
    """A layer deconvolution cannot pass through; :meth:`Chain.path` refuses any path that crosses it."""

    why: str = ""

    def forward(self, x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
        raise ModelError(self.why)


def _activation_name(function: Any) -> str:
    """The name of a Keras activation function (``"relu"``, ``"linear"``, ``"tanh"``...)."""
    return getattr(function, "__name__", type(function).__name__)


def _activation_steps(layer: keras.layers.Layer, function: Any) -> list[Step]:
    """The step for a layer's activation function: none for linear, :class:`Rectify` for relu."""
    name = _activation_name(function)
    if name == "linear":
        return []
    if name == "relu":
        return [Rectify(layer.name)]
    return [Nonlinear(layer.name, name=name, function=function)]


def _is_scaling(layer: keras.layers.Layer) -> bool:
    """True for the model's input scaling layer (``MagnitudeScaling``)."""
    from ..models import MagnitudeScaling

    return isinstance(layer, MagnitudeScaling)


def _steps_of(layer: keras.layers.Layer) -> list[Step]:
    """The steps of one Keras layer (an :class:`Unsupported` step when it cannot be deconvolved)."""
    name = layer.name
    kind = type(layer).__name__
    if isinstance(layer, keras.Model):
        return [Unsupported(name, why=f"layer {name!r} is a nested model; build the model as one flat chain")]
    if isinstance(layer, keras.layers.InputLayer) or isinstance(layer, keras.layers.Dropout):
        return []
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        return [Unsupported(name, why=f"layer {name!r} ({kind}) is channels_first; only channels_last is supported")]
    if isinstance(layer, keras.layers.Conv2D):
        if layer.groups != 1:
            return [Unsupported(name, why=f"Conv2D {name!r} has groups={layer.groups}; only groups=1 is supported")]
        return [Conv(name, source=layer), *_activation_steps(layer, layer.activation)]
    if isinstance(layer, keras.layers.Dense):
        if len(layer.input.shape) != 2:
            return [Unsupported(name, why=f"Dense {name!r} is applied to feature maps; put a Flatten layer before it")]
        return [Dense(name, source=layer), *_activation_steps(layer, layer.activation)]
    if isinstance(layer, keras.layers.MaxPooling2D):
        return [Pool(name, size=tuple(layer.pool_size), strides=tuple(layer.strides), padding=layer.padding.upper())]
    if isinstance(layer, keras.layers.ReLU):
        plain = layer.max_value is None and not layer.negative_slope and not layer.threshold
        if plain:
            return [Rectify(name)]
        return [Nonlinear(name, name="relu with max_value/negative_slope/threshold", function=layer)]
    if isinstance(layer, keras.layers.Activation):
        return _activation_steps(layer, layer.activation)
    if isinstance(layer, keras.layers.BatchNormalization):
        if layer.axis not in (-1, 3):
            return [Unsupported(name, why=f"BatchNormalization {name!r} normalises axis {layer.axis}, not channels")]
        return [Normalise(name, source=layer)]
    if isinstance(layer, keras.layers.Flatten):
        return [Flatten(name)]
    return [
        Unsupported(
            name,
            why=(
                f"layer {name!r} is a {kind}, which deconvolution cannot pass through; supported layers are Conv2D, "
                "MaxPooling2D, ReLU/Activation, BatchNormalization, Dense, Flatten, Dropout and an input "
                "MagnitudeScaling layer"
            ),
        )
    ]


#: Output activations whose input is the logits (:meth:`Chain.logit_end`).
SQUASHING: tuple[str, ...] = ("softmax", "sigmoid")


@dataclasses.dataclass(frozen=True)
class Chain:
    """A model read as a chain of steps.

    Attributes
    ----------
    model_name : str
        The Keras model's name, for messages.
    input_shape : tuple
        The model's input shape without the batch axis, ``(bins, frames, channels)`` (``None`` for free sizes).
    scaling : keras.layers.Layer or None
        The input scaling layer, applied before the point where the gradient is taken.
    steps : tuple of Step
        The operations after the scaling layer, in order.
    ends : dict
        Layer name -> number of steps up to and including that layer (its output is the output of
        ``steps[:ends[name]]``), for every layer whose output can be deconvolved.
    blocks : tuple of str
        The block outputs: the ``MaxPooling2D`` layers in order; in a model without pooling, the layer where each
        convolution's ReLU is applied.
    sizes : dict
        Layer name -> number of values in its output for one example (``None`` where the size is free).
    """

    model_name: str
    input_shape: tuple[int | None, ...]
    scaling: keras.layers.Layer | None
    steps: tuple[Step, ...]
    ends: dict[str, int]
    blocks: tuple[str, ...]
    sizes: dict[str, int | None]

    def logit_end(self, layer: str) -> int:
        """The number of steps up to ``layer``'s output before a final squashing activation.

        ``ends[layer] - 1`` when ``layer``'s last step is a :data:`SQUASHING` activation (a softmax or sigmoid
        output, whose input is the logits), else ``ends[layer]``.
        """
        end = self.ends[layer]
        last = self.steps[end - 1]
        return end - 1 if isinstance(last, Nonlinear) and last.name in SQUASHING else end

    def path(self, layer: str, *, rectified_only: bool, rule: str, logits: bool = False) -> tuple[Step, ...]:
        """The steps from the gradient input up to the output of ``layer``.

        Parameters
        ----------
        layer : str
            A layer of :attr:`ends`.
        rectified_only : bool
            Refuse activations other than ReLU on the way (the deconvnet and guided rules).
        rule : str
            The rule, for the message when ``rectified_only`` refuses a step.
        logits : bool
            Stop before ``layer``'s final softmax or sigmoid, if it has one (:meth:`logit_end`): up to the logits.

        Raises
        ------
        ModelError
            A step on the way is unsupported, or is a non-ReLU activation while ``rectified_only`` is set.
        """
        steps = self.steps[: self.logit_end(layer) if logits else self.ends[layer]]
        for step in steps:
            if isinstance(step, Unsupported):
                raise ModelError(f"model {self.model_name!r}: cannot deconvolve {layer!r}: {step.why}")
            if rectified_only and isinstance(step, Nonlinear):
                raise ModelError(
                    f"model {self.model_name!r}: layer {step.layer!r} applies {step.name!r}, but the {rule!r} rule "
                    f"is defined for ReLU networks only; deconvolve a layer below {step.layer!r}, use "
                    "rule='gradient', or use a model with ReLU activations"
                )
        return steps


def _check_is_chain(model: keras.Model, layers: Sequence[keras.layers.Layer]) -> None:
    """Refuse a functional model whose layers do not form a single chain in the order listed."""
    if isinstance(model, keras.Sequential):
        return
    if len(model.inputs) != 1:
        raise ModelError(f"model {model.name!r} has {len(model.inputs)} inputs; deconvolution needs exactly one")
    previous = model.inputs[0]
    for layer in layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            source = layer.input
        except (AttributeError, ValueError) as error:
            raise ModelError(
                f"model {model.name!r}: layer {layer.name!r} is used more than once or has no single input ({error}); "
                "deconvolution needs a simple chain of layers"
            ) from error
        if source is not previous:
            raise ModelError(
                f"model {model.name!r}: layer {layer.name!r} does not take the previous layer's output; "
                "deconvolution needs a simple chain of layers (no branches, skips or merges)"
            )
        previous = layer.output


def _block_outputs(steps: Sequence[Step]) -> tuple[str, ...]:
    """MaxPooling2D layers in order; without pooling, the layer that rectifies each convolution's output."""
    pools = tuple(step.layer for step in steps if isinstance(step, Pool))
    if pools:
        return pools
    blocks: list[str] = []
    waiting = False
    for step in steps:
        if isinstance(step, Conv):
            waiting = True
        elif isinstance(step, Rectify) and waiting:
            blocks.append(step.layer)
            waiting = False
        elif isinstance(step, (Dense, Flatten)):
            break
    return tuple(blocks)


def _size(layer: keras.layers.Layer) -> int | None:
    """Number of values in one example of the layer's output, or ``None`` when a size is free."""
    shape = tuple(layer.output.shape[1:])
    return None if None in shape else math.prod(shape)


def read_chain(model: keras.Model) -> Chain:
    """Read ``model`` as a :class:`Chain`.

    Raises
    ------
    ModelError
        The model is not a chain, has no ``Conv2D`` layer, has more than one input channel, or has a scaling
        layer after its first convolution.
    """
    if not isinstance(model, keras.Model):
        raise ModelError(f"expected a keras.Model, got {type(model).__name__}")
    if not model.built or not model.inputs:
        raise ModelError(f"model {model.name!r} is not built; build it (call it once or give it an Input) first")
    layers = list(model.layers)
    _check_is_chain(model, layers)
    input_shape = tuple(model.inputs[0].shape[1:])
    if len(input_shape) != 3 or input_shape[-1] != 1:
        raise ModelError(
            f"model {model.name!r} takes inputs of shape {input_shape}; deconvolution needs a single-channel "
            "spectrogram input (bins, frames, 1)"
        )
    scaling = None
    steps: list[Step] = []
    ends: dict[str, int] = {}
    seen_conv = False
    for layer in layers:
        if _is_scaling(layer):
            if steps or scaling is not None:
                raise ModelError(
                    f"model {model.name!r}: the scaling layer {layer.name!r} must come first, before any convolution"
                )
            scaling = layer
            continue
        steps.extend(_steps_of(layer))
        seen_conv = seen_conv or isinstance(layer, keras.layers.Conv2D)
        if seen_conv and not isinstance(layer, keras.layers.InputLayer):
            ends[layer.name] = len(steps)
    if not any(isinstance(step, Conv) for step in steps):
        raise ModelError(
            f"model {model.name!r} has no Conv2D layer; deconvolution projects feature maps back through "
            "convolutions, so it needs a convolutional model"
        )
    return Chain(
        model_name=model.name,
        input_shape=input_shape,
        scaling=scaling,
        steps=tuple(steps),
        ends=ends,
        blocks=_block_outputs(steps),
        sizes={name: _size(model.get_layer(name)) for name in ends},
    )
