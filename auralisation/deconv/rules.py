"""Attribution rules: how a rectifying activation passes the backward signal; and the seedings that start it.

A rule is how an activation ``y = f(x)`` passes the backward signal ``dy`` down to ``x``. For the ReLU:

============  ===========================  ==========================================================
rule          backward pass                method
============  ===========================  ==========================================================
deconvnet     ``relu(dy)``                 Zeiler & Fergus (2014); the authors' auralisation (2016)
guided        ``relu(dy) * (x > 0)``       guided backpropagation (Springenberg et al., 2015)
gradient      ``dy * (x > 0)``             the plain gradient (saliency, Simonyan et al., 2014)
============  ===========================  ==========================================================

**Other activations.** Zeiler & Fergus and Springenberg et al. define their rules for the ReLU only; iNNvestigate
refuses any other activation, Captum and Zennit override ``ReLU`` modules and leave every other activation its
ordinary gradient. We extend the rules to the *rectifier family*, the activations that approximate ``max(x, 0)``
(:data:`RECTIFIERS`: ReLU, ReLU6, leaky and parametric ReLU, ELU, SELU, CELU, GELU, SiLU/swish, softplus, mish),
by what each rule keeps of the forward pass:

* deconvnet keeps nothing of a rectifier's forward input, so it passes ``relu(dy)`` whatever the rectifier;
* guided backpropagation rectifies the backward signal and then applies the activation's own local gradient:
  ``f'(x) * relu(dy)`` (for the ReLU, ``f'(x) = (x > 0)``; for the ELU, ``exp(x)`` below 0);
* the gradient is the ordinary gradient ``f'(x) * dy``.

Every other activation (sigmoid and hard sigmoid gates, tanh, softmax, linear, exponential) is not a rectifier:
it keeps its ordinary gradient under every rule, as in Captum and Zennit. So a squeeze-and-excitation gate
(``x * sigmoid(g)``) passes the signal by its true gradient, and only the rectifiers are ruled. The local gradient
is always the activation's own (TensorFlow differentiates Keras's function), never a formula written here.

Everything else in the network keeps its ordinary gradient: max-pooling's gradient sends the signal to the
switches (unpooling), a convolution's gradient is the transposed convolution (flipped kernels, channels swapped).

Examples
--------
>>> import tensorflow as tf
>>> x = tf.constant([-1.0, 0.0, 2.0, 3.0])
>>> with tf.GradientTape() as tape:
...     tape.watch(x)
...     y = ruled_activation(tf.nn.relu, "deconvnet", "rectifier")(x)
>>> tape.gradient(y, x, output_gradients=tf.constant([1.0, 1.0, -1.0, 2.0])).numpy().tolist()
[1.0, 1.0, 0.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import tensorflow as tf

from ..choices import RULES, SEEDINGS
from ..errors import ParameterError

__all__ = ["RECTIFIERS", "RULES", "SEEDINGS", "Rule", "Seeding", "check_rule", "check_seeding", "ruled_activation"]

Rule = Literal["deconvnet", "guided", "gradient"]
Seeding = Literal["map", "max"]


#: Keras activation names of the rectifier family (the rules apply to them; every other activation keeps its
#: ordinary gradient).
RECTIFIERS: frozenset[str] = frozenset(
    {
        "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "swish", "hard_silu",
        "hard_swish", "softplus", "mish", "squareplus", "sparse_plus",
    }
)


def check_rule(rule: str) -> str:
    """Return ``rule`` if it is one of :data:`RULES`, else raise :class:`ParameterError`."""
    if rule not in RULES:
        raise ParameterError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    return rule


def check_seeding(seeding: str) -> str:
    """Return ``seeding`` if it is one of :data:`SEEDINGS`, else raise :class:`ParameterError`."""
    if seeding not in SEEDINGS:
        raise ParameterError(
            f"unknown seeding {seeding!r}; choose 'map' (the whole activation map) or 'max' (its maximum)"
        )
    return seeding


def activation_name(function: Any) -> str:
    """The name of an activation function (``"relu"``, ``"elu"``...): its Python name, as Keras's are named."""
    if function is None:
        return "linear"
    return str(getattr(function, "__name__", type(function).__name__))


def activation_kind(function: Any) -> Literal["rectifier", "other"]:
    """``"rectifier"`` for an activation of :data:`RECTIFIERS`, else ``"other"`` (ordinary gradient).

    Examples
    --------
    >>> import keras
    >>> activation_kind(keras.activations.elu), activation_kind(keras.activations.sigmoid)
    ('rectifier', 'other')
    """
    return "rectifier" if activation_name(function) in RECTIFIERS else "other"


def ruled_activation(
    function: Callable[[tf.Tensor], tf.Tensor], rule: Rule, kind: Literal["rectifier", "other"]
) -> Callable[[tf.Tensor], tf.Tensor]:
    """``function`` with its backward pass replaced by ``rule``'s (a rectifier), or ``function`` itself.

    The forward values are ``function``'s own. Under ``"gradient"``, and for an activation that is not a
    rectifier, nothing is replaced.
    """
    check_rule(rule)
    if kind != "rectifier" or rule == "gradient":
        return function

    @tf.custom_gradient
    def ruled(x: tf.Tensor) -> tuple[tf.Tensor, Callable[..., Any]]:
        def grad(dy: tf.Tensor, variables: Any = None) -> Any:
            signal = tf.nn.relu(dy)
            if rule == "guided":
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = function(x)
                signal = tape.gradient(y, x, output_gradients=signal)
            if variables:
                return signal, [tf.zeros_like(v) for v in variables]
            return signal

        return function(x), grad

    return ruled


def first_max_mask(a: tf.Tensor) -> tf.Tensor:
    """0/1 mask of the first (row-major) largest value of each map in ``a``, shape ``(n, ...)``."""
    flat = tf.reshape(a, (tf.shape(a)[0], -1))
    size = tf.shape(flat)[1]
    is_max = flat >= tf.reduce_max(flat, axis=1, keepdims=True)
    positions = tf.where(is_max, tf.range(size)[None, :], size)
    first = tf.reduce_min(positions, axis=1)
    return tf.reshape(tf.one_hot(first, size, dtype=a.dtype), tf.shape(a))


def starting_signal(a: tf.Tensor, seeding: str) -> tf.Tensor:
    """The backward signal that starts deconvolution of the maps ``a`` (one feature's map per row).

    ``"map"`` returns ``a`` itself: the gradient of ``sum(stop_gradient(a) * a)``. ``"max"`` keeps only the first
    largest value of each map and zeroes the rest: the gradient of ``stop_gradient(m) * m`` where ``m`` is the
    strongest activation. Both are in the units of the activations.
    """
    if seeding == "map":
        return a
    return a * first_max_mask(a)
