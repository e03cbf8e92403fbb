"""Attribution rules as ReLUs with a replaced backward pass, and the seeds that start the backward pass.

A rule is how a ReLU ``y = max(x, 0)`` passes the backward signal ``dy`` down to ``x``:

============  ===========================  ==========================================================
rule          backward pass                method
============  ===========================  ==========================================================
deconvnet     ``relu(dy)``                 Zeiler & Fergus (2014); the authors' auralisation (2016)
guided        ``relu(dy) * (x > 0)``       guided backpropagation (Springenberg et al., 2015)
gradient      ``dy * (x > 0)``             the plain gradient (saliency, Simonyan et al., 2014)
============  ===========================  ==========================================================

Everything else in the network keeps its ordinary gradient: max-pooling's gradient sends the signal to the
switches (unpooling), a convolution's gradient is the transposed convolution (flipped kernels, channels swapped).

Examples
--------
>>> import tensorflow as tf
>>> x = tf.constant([-1.0, 0.0, 2.0, 3.0])
>>> with tf.GradientTape() as tape:
...     tape.watch(x)
...     y = rectifier("deconvnet")(x)
>>> tape.gradient(y, x, output_gradients=tf.constant([1.0, 1.0, -1.0, 2.0])).numpy().tolist()
[1.0, 1.0, 0.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import tensorflow as tf

from ..errors import ModelError

__all__ = [
    "RULES",
    "SEEDS",
    "Rule",
    "Seed",
    "backward_relu",
    "check_rule",
    "check_seed",
    "first_max_mask",
    "rectifier",
    "seed_maps",
]

Rule = Literal["deconvnet", "guided", "gradient"]
Seed = Literal["map", "max"]

#: The rules, in the order of the table above.
RULES: tuple[str, ...] = ("deconvnet", "guided", "gradient")

#: Seedings: the whole activation map of the feature (the authors), or its single strongest activation (Zeiler &
#: Fergus).
SEEDS: tuple[str, ...] = ("map", "max")


def check_rule(rule: str) -> str:
    """Return ``rule`` if it is one of :data:`RULES`, else raise :class:`ModelError`."""
    if rule not in RULES:
        raise ModelError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    return rule


def check_seed(seed: str) -> str:
    """Return ``seed`` if it is one of :data:`SEEDS`, else raise :class:`ModelError`."""
    if seed not in SEEDS:
        raise ModelError(f"unknown seed {seed!r}; choose 'map' (the whole activation map) or 'max' (its maximum)")
    return seed


def backward_relu(rule: str, dy: tf.Tensor, positive: tf.Tensor | None) -> tf.Tensor:
    """The backward pass of a ReLU under ``rule``; ``positive`` is ``x > 0`` as 0/1 (unused by deconvnet)."""
    if rule == "deconvnet":
        return tf.nn.relu(dy)
    if rule == "guided":
        return tf.nn.relu(dy) * positive
    return dy * positive


def rectifier(rule: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """A ReLU whose gradient follows ``rule`` (a :func:`tf.custom_gradient` function)."""
    check_rule(rule)

    @tf.custom_gradient
    def relu(x: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
        def grad(dy: tf.Tensor) -> tf.Tensor:
            positive = None if rule == "deconvnet" else tf.cast(x > 0, dy.dtype)
            return backward_relu(rule, dy, positive)

        return tf.nn.relu(x), grad

    return relu


def first_max_mask(a: tf.Tensor) -> tf.Tensor:
    """0/1 mask of the first (row-major) largest value of each map in ``a``, shape ``(n, ...)``."""
    flat = tf.reshape(a, (tf.shape(a)[0], -1))
    size = tf.shape(flat)[1]
    is_max = flat >= tf.reduce_max(flat, axis=1, keepdims=True)
    positions = tf.where(is_max, tf.range(size)[None, :], size)
    first = tf.reduce_min(positions, axis=1)
    return tf.reshape(tf.one_hot(first, size, dtype=a.dtype), tf.shape(a))


def seed_maps(a: tf.Tensor, seed: str) -> tf.Tensor:
    """The backward signal that starts deconvolution of the maps ``a`` (one feature's map per row).

    ``"map"`` returns ``a`` itself: the gradient of ``sum(stop_gradient(a) * a)``. ``"max"`` keeps only the first
    largest value of each map and zeroes the rest: the gradient of ``stop_gradient(m) * m`` where ``m`` is the
    strongest activation. Both are in the units of the activations.
    """
    if seed == "map":
        return a
    return a * first_max_mask(a)
