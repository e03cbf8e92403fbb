"""What a ruled forward pass records: one :class:`Call` per layer call, in a :class:`Recording`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from ..errors import ModelError

__all__ = ["Call", "Recording"]


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
