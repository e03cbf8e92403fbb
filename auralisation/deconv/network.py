"""The user's own Keras model, as deconvolution sees it: its layers by path, its blocks, and a *ruled* forward pass.

Nothing here re-implements a layer. :class:`Network` runs the real model (``model(x, training=False)``, Keras's own
forward pass, functional, Sequential, nested or subclassed) inside :meth:`Network.ruled`, a context in which

* every rectifying activation passes the backward signal by the rule (:func:`.rules.ruled_activation`): the
  ``activation`` of a ``Conv*``/``Dense``/``Activation`` layer, and the whole call of a ``ReLU``, ``LeakyReLU``,
  ``PReLU`` or ``ELU`` layer, in the model and in every model nested in it;
* every layer whose class says ``identity_backward = True`` (a monotone element-wise compression such as
  :class:`auralisation.models.MagnitudeScaling`) passes the backward signal unchanged, unless the true gradient
  is asked for (``compression="gradient"``);
* every layer's call is recorded (:class:`Call`: its inputs, its output, the input of its activation), so that any
  layer's output can be explained and the shared-forward engine (:mod:`.fast`) can walk the graph backwards.

**A swap that is always undone, not a clone.** The context replaces, on the model's own layer objects, the bound
``call`` (and the ``activation`` attribute) by a wrapper and restores them on exit, even on error. A clone that
shares the weights (``keras.models.clone_model``) would have to rebuild subclassed and custom layers from their
configs, which not every user layer supports, and would double the work of keeping nested models in step. The
swap is only ever active while a function is being *traced* (every entry point is a ``tf.function`` whose body
enters the context), never while the compiled function runs, and the forward values under it are unchanged (the
rules change only gradients), so the model's own output never differs, whoever calls it.

Examples
--------
>>> import keras
>>> inputs = keras.Input((8, 6, 1))
>>> x = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv")(inputs)
>>> x = keras.layers.MaxPooling2D(2, name="pool")(x)
>>> net = Network(keras.Model(inputs, keras.layers.Flatten()(x)))
>>> net.blocks
['pool']
>>> net.paths[:2]
['conv', 'pool']
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from ..errors import ModelError, ParameterError
from .rules import Rule, activation_kind, ruled_activation

__all__ = ["Call", "Network", "Recording"]

#: Layers whose whole call is an element-wise rectifier (the rule applies to the call itself).
RECTIFIER_LAYERS: tuple[type, ...] = (
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.PReLU,
    keras.layers.ELU,
)

#: Layers whose ``activation`` attribute is swapped for the rule's.
ACTIVATED_LAYERS: tuple[type, ...] = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Activation,
)

#: Layers deconvolution passes with their ordinary gradient and a warning (they have no rule of their own).
WARNED_LAYERS: tuple[type, ...] = (keras.layers.RNN, keras.layers.MultiHeadAttention, keras.layers.Attention)

#: Pooling layers that end a block.
POOLING_LAYERS: tuple[type, ...] = (
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D,
)

#: One swap at a time: two threads tracing at once must not see each other's wrappers.
_LOCK = threading.RLock()


@dataclasses.dataclass
class Call:
    """One call of one layer during a ruled forward pass.

    Attributes
    ----------
    path : str
        The layer's path (``"backbone/conv1"`` for a layer of a nested model).
    layer : keras.layers.Layer
        The layer itself.
    args, kwargs
        The arguments its ``call`` received (tensors as they were).
    output : Any
        What its ``call`` returned.
    pre_activation : tf.Tensor or None
        The input of its swapped activation (a ``Conv2D(activation="relu")``'s linear output), if it has one.
    function : callable or None
        That activation, unruled (for an activation layer, its own call).
    kind : str
        ``"activation"`` (the call is an element-wise activation), ``"identity"`` (a compression passed as the
        identity), or ``"layer"``.
    children : int
        How many recorded calls ran inside this one (0 for a leaf).
    """

    path: str
    layer: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    output: Any = None
    pre_activation: tf.Tensor | None = None
    function: Callable[[tf.Tensor], tf.Tensor] | None = None
    kind: str = "layer"
    children: int = 0

    @property
    def inputs(self) -> list[tf.Tensor]:
        """The tensors among the call's arguments, in order."""
        return [t for t in tf.nest.flatten((self.args, self.kwargs)) if tf.is_tensor(t)]


class Recording:
    """The calls of one ruled forward pass, in the order they finished (a topological order)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._stack: list[Call] = []

    def by_path(self, path: str) -> Call:
        """The one call of the layer at ``path``.

        Raises
        ------
        ModelError
            The layer did not run, or ran more than once (a shared layer: which use is meant is ambiguous).
        """
        found = [call for call in self.calls if call.path == path]
        if not found:
            raise ModelError(f"layer {path!r} did not run in the forward pass; is it on the way to the output?")
        if len(found) > 1:
            raise ModelError(
                f"layer {path!r} is called {len(found)} times in the model (a shared layer), so which of its "
                "outputs to explain is ambiguous; wrap each use in a layer of its own"
            )
        return found[0]

    def output(self, path: str) -> tf.Tensor:
        """The output tensor of the layer at ``path``."""
        out = self.by_path(path).output
        if isinstance(out, (list, tuple)):
            out = out[0]
        return out


def _sublayers(layer: Any) -> list[Any]:
    """The direct sublayers of ``layer`` (the operations of a functional model, in graph order)."""
    if isinstance(layer, keras.Model) and hasattr(layer, "operations") and not isinstance(layer, keras.Sequential):
        try:
            return [op for op in layer.operations if not isinstance(op, keras.layers.InputLayer)]
        except (AttributeError, ValueError):
            pass
    if isinstance(layer, keras.Sequential):
        return list(layer.layers)
    if isinstance(layer, keras.layers.Layer):
        return list(layer._flatten_layers(include_self=False, recursive=False))
    return []


def _identity_backward(layer: Any) -> bool:
    """Whether ``layer`` declares itself a monotone element-wise map to pass as the identity going back."""
    return bool(getattr(type(layer), "identity_backward", False))


def _output_shape(layer: Any) -> tuple[int | None, ...] | None:
    """The layer's symbolic output shape, where Keras knows it."""
    try:
        out = layer.output
    except (AttributeError, ValueError):
        return None
    if isinstance(out, (list, tuple)):
        out = out[0] if out else None
    return None if out is None else tuple(out.shape)


class Network:
    """A Keras model's layers by path, its blocks, and its forward pass under a rule.

    Parameters
    ----------
    model : keras.Model
        Any built Keras model: functional, Sequential, nested, or subclassed (whose layers are then found through
        its attributes and recorded through their calls). Never modified.
    at : str, optional
        The path of the layer whose *output* is the spectrogram the maps are taken at (a ``STFTSpectrogram``
        layer on a waveform input, say); by default the model's input.

    Raises
    ------
    ModelError
        Not a Keras model, not built, more than one input, or ``at`` is not a layer of it.
    """

    def __init__(self, model: keras.Model, *, at: str | None = None) -> None:
        if not isinstance(model, keras.Model):
            raise ModelError(f"expected a keras.Model, got {type(model).__name__}")
        if not model.built:
            raise ModelError(f"model {model.name!r} is not built; call it once on a batch, or give it an Input, first")
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            inputs = None
        if inputs is not None and len(inputs) != 1:
            raise ModelError(f"model {model.name!r} has {len(inputs)} inputs; deconvolution needs exactly one")
        self.model = model
        self._probed: dict[str, tuple[int | None, ...]] | None = None
        self.layers: dict[str, Any] = {}
        self._walk(model, "")
        self.at = None if at is None else self.resolve(at)

    def _walk(self, layer: Any, prefix: str) -> None:
        for sub in _sublayers(layer):
            path = f"{prefix}{sub.name}"
            if path in self.layers:
                continue
            self.layers[path] = sub
            self._walk(sub, f"{path}/")

    @property
    def name(self) -> str:
        """The model's name."""
        return self.model.name

    @property
    def paths(self) -> list[str]:
        """Every layer's path, outer layers before the layers nested in them, in graph order."""
        return list(self.layers)

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """The model's input shape without the batch axis."""
        try:
            return tuple(self.model.inputs[0].shape[1:])
        except (AttributeError, ValueError, TypeError):
            shape = getattr(self.model, "_build_shapes_dict", None) or {}
            first = next(iter(shape.values()), None)
            if first is None:
                raise ModelError(
                    f"model {self.name!r} has no known input shape; build it with keras.Input or call it once"
                ) from None
            return tuple(first[1:])

    def leaves(self) -> list[str]:
        """The paths of layers with no sublayers (a nested model's layers, not the nested model)."""
        return [path for path, layer in self.layers.items() if not _sublayers(layer)]

    @property
    def blocks(self) -> list[str]:
        """The block outputs, in order: the pooling layers; with none, the rectified outputs of convolutions."""
        leaves = self.leaves()
        pools = [path for path in leaves if isinstance(self.layers[path], POOLING_LAYERS)]
        if pools:
            return pools
        rectified = []
        for path in leaves:
            layer = self.layers[path]
            if isinstance(layer, RECTIFIER_LAYERS) or (
                isinstance(layer, ACTIVATED_LAYERS)
                and activation_kind(getattr(layer, "activation", None)) == "rectifier"
                and not isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense))
            ):
                rectified.append(path)
        return rectified

    def resolve(self, layer: int | str) -> str:
        """The path of ``layer``: a block number (1-based), a layer name, or a path such as ``"backbone/pool3"``.

        A plain name is looked up among the nested models too when it is unique there.

        Raises
        ------
        ModelError
            No such block or layer; the message lists the blocks and the closest names.
        """
        blocks = self.blocks
        if isinstance(layer, bool) or not isinstance(layer, (int, str)) and not hasattr(layer, "__index__"):
            raise ModelError(f"a layer is a block number or a layer name, got {layer!r}")
        if not isinstance(layer, str):
            index = int(layer)
            if not 1 <= index <= len(blocks):
                valid = f"blocks 1..{len(blocks)} ({', '.join(blocks)})" if blocks else "no blocks (no pooling layers)"
                raise ModelError(
                    f"model {self.name!r} has {valid}; block {index} does not exist; name a layer instead "
                    f"(one of {', '.join(self.paths[:12])}{', ...' if len(self.paths) > 12 else ''})"
                )
            return blocks[index - 1]
        if layer in self.layers:
            return layer
        nested = [path for path in self.layers if path.rsplit("/", 1)[-1] == layer]
        if len(nested) == 1:
            return nested[0]
        close = difflib.get_close_matches(layer, self.paths, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        if len(nested) > 1:
            hint = f"; it is in several nested models: {', '.join(nested)}; give the path"
        raise ModelError(
            f"model {self.name!r} has no layer {layer!r}{hint} (blocks: {', '.join(blocks) or 'none'}; every "
            "layer: Network(model).paths)"
        )

    def spatial(self, path: str) -> None:
        """Check that ``path``'s output is a map with spatial axes (or a vector of units), else say why not.

        Raises
        ------
        ModelError
            The layer is a global pooling layer, whose output has no map left to project back.
        """
        layer = self.layers[path]
        if isinstance(
            layer,
            (
                keras.layers.GlobalAveragePooling1D,
                keras.layers.GlobalAveragePooling2D,
                keras.layers.GlobalMaxPooling1D,
                keras.layers.GlobalMaxPooling2D,
            ),
        ):
            below = [p for p in self.leaves() if p in self.blocks or isinstance(self.layers[p], ACTIVATED_LAYERS)]
            before = below[: below.index(path)] if path in below else below
            suggestion = f" such as {before[-1]!r}" if before else ""
            raise ModelError(
                f"layer {path!r} of model {self.name!r} is a global pooling layer: its output has no time or "
                f"frequency axis left, so there is no map to deconvolve; choose a layer below it{suggestion}, or "
                "explain a class output with auralisation.methods.attribute(..., class_index=c)"
            )

    def output_shape(self, path: str) -> tuple[int | None, ...] | None:
        """The output shape (with the batch axis) of the layer at ``path``.

        Keras knows it for a layer of a functional graph; for the layers of a subclassed model it is measured once,
        by running the model on zeros of its input shape.
        """
        shape = _output_shape(self.layers[path])
        if shape is None:
            if self._probed is None:
                x = tf.zeros((1, *(1 if n is None else n for n in self.input_shape)))
                with self.ruled() as recording:
                    self.model(x, training=False)
                self._probed = {}
                for call in recording.calls:
                    out = tf.nest.flatten(call.output)
                    if out and tf.is_tensor(out[0]):
                        self._probed.setdefault(call.path, tuple(out[0].shape))
            shape = self._probed.get(path)
        return shape

    def n_features(self, path: str) -> int:
        """The number of channels (the last axis) of ``path``'s output."""
        shape = self.output_shape(path)
        if shape is None or shape[-1] is None:
            raise ModelError(f"layer {path!r} of model {self.name!r} has no known number of channels")
        return int(shape[-1])

    @contextlib.contextmanager
    def ruled(self, rule: Rule = "gradient", *, compression: str = "identity") -> Iterator[Recording]:
        """Within this context, calling the model applies ``rule`` to its rectifiers and records every call.

        Parameters
        ----------
        rule : {"deconvnet", "guided", "gradient"}
            How rectifying activations pass the backward signal (:func:`.rules.ruled_activation`).
        compression : {"identity", "gradient"}
            How layers with ``identity_backward = True`` pass it: unchanged (as the authors treated their
            scaling), or by their true gradient.

        Yields
        ------
        Recording
            Filled with the calls as the model runs.
        """
        if compression not in ("identity", "gradient"):
            raise ParameterError(f"compression must be 'identity' or 'gradient', got {compression!r}")
        recording = Recording()
        undo: list[Callable[[], None]] = []
        with _LOCK:
            try:
                for path, layer in self.layers.items():
                    undo.append(self._swap(layer, path, rule, compression, recording))
                yield recording
            finally:
                for restore in reversed(undo):
                    restore()

    def _swap(self, layer: Any, path: str, rule: Rule, compression: str, recording: Recording) -> Callable[[], None]:
        """Wrap ``layer``'s call (and activation) for one ruled pass; return the function that undoes it."""
        had_call = "call" in layer.__dict__
        own_call = layer.__dict__.get("call")
        original = layer.call
        activation = getattr(layer, "activation", None) if isinstance(layer, ACTIVATED_LAYERS) else None

        def call(*args: Any, **kwargs: Any) -> Any:
            if isinstance(layer, WARNED_LAYERS):
                warnings.warn(
                    f"layer {path!r} ({type(layer).__name__}) has no deconvolution rule: the backward signal passes "
                    "it by its ordinary gradient",
                    stacklevel=2,
                )
            record = Call(path, layer, args, kwargs)
            if recording._stack:
                recording._stack[-1].children += 1
            recording._stack.append(record)
            try:
                if _identity_backward(layer) and compression == "identity":
                    x = args[0]
                    y = original(*args, **kwargs)
                    record.kind = "identity"
                    out = x + tf.stop_gradient(y - x)
                elif isinstance(layer, RECTIFIER_LAYERS):
                    record.kind = "activation"
                    record.pre_activation = args[0]
                    record.function = lambda t: original(t, *args[1:], **kwargs)
                    out = ruled_activation(record.function, rule, "rectifier")(args[0])
                elif activation is not None:
                    kind = activation_kind(activation)

                    def act(t: tf.Tensor) -> tf.Tensor:
                        record.pre_activation = t
                        record.function = activation
                        return ruled_activation(activation, rule, kind)(t)

                    object.__setattr__(layer, "activation", act)
                    try:
                        out = original(*args, **kwargs)
                    finally:
                        object.__setattr__(layer, "activation", activation)
                    if isinstance(layer, keras.layers.Activation):
                        record.kind = "activation"
                else:
                    out = original(*args, **kwargs)
            finally:
                recording._stack.pop()
            record.output = out
            recording.calls.append(record)
            return out

        object.__setattr__(layer, "call", call)

        def restore() -> None:
            if had_call:
                object.__setattr__(layer, "call", own_call)
            else:
                layer.__dict__.pop("call", None)

        return restore

    @contextlib.contextmanager
    def linear(self, layer: Any) -> Iterator[Callable[..., Any]]:
        """Within this context, the yielded function calls ``layer``'s own ``call`` without its activation."""
        activation = getattr(layer, "activation", None) if isinstance(layer, ACTIVATED_LAYERS) else None
        with _LOCK:
            if activation is not None:
                object.__setattr__(layer, "activation", keras.activations.linear)
            try:
                yield layer.call
            finally:
                if activation is not None:
                    object.__setattr__(layer, "activation", activation)

    def run(self, x: tf.Tensor, rule: Rule = "gradient", *, compression: str = "identity") -> Recording:
        """Run the model on ``x`` under ``rule`` and return the recording (call it inside a ``tf.function``)."""
        with self.ruled(rule, compression=compression) as recording:
            self.model(x, training=False)
        return recording

    def source(self, recording: Recording, x: tf.Tensor) -> tf.Tensor:
        """The tensor the maps are taken at: ``x`` itself, or the output of the layer ``at``."""
        return x if self.at is None else recording.output(self.at)

    def check_input(self, batch: Any) -> tuple[np.ndarray, bool]:
        """``batch`` as float32 with a batch axis and the model's channel axis, and whether one input was given.

        Accepts one input with or without its trailing channel axis of 1, or a batch of them.

        Raises
        ------
        ModelError
            A shape the model does not take, or NaN/infinite values.
        """
        s = np.asarray(batch, dtype=np.float32)
        expected = tuple(self.input_shape)
        core = expected[:-1] if len(expected) > 1 and expected[-1] == 1 else expected

        def fits(got: tuple[int, ...], want: tuple[int | None, ...]) -> bool:
            return len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got))

        if fits(s.shape, expected):
            out, single = s[None], True
        elif fits(s.shape, core):
            out, single = s.reshape(s.shape + (1,) * (len(expected) - len(core)))[None], True
        elif s.ndim >= 1 and fits(s.shape[1:], expected):
            out, single = s, False
        elif s.ndim >= 1 and fits(s.shape[1:], core):
            out, single = s.reshape(s.shape + (1,) * (len(expected) - len(core))), False
        else:
            wanted = " x ".join("any" if n is None else str(n) for n in core)
            raise ModelError(
                f"an input of shape {s.shape} does not fit model {self.name!r}, which takes {wanted} "
                f"({'bins x frames magnitude spectrograms' if len(core) == 2 else 'samples'}), optionally batched "
                "and with a channel axis; compute it with auralisation.audio using the model's config"
            )
        if not np.all(np.isfinite(out)):
            raise ModelError("the input contains NaN or infinite values; check the audio it came from")
        return out, single
