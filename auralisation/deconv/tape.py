"""The definition of deconvolution: one GradientTape pass over the chain with the rule's ReLUs.

Feature ``k`` of layer ``L`` is deconvolved as the gradient, with respect to the input of the first step (the
output of the input scaling layer, shaped like the magnitude spectrogram), of ``sum(stop_gradient(s_k) * A_k)``,
where ``A_k`` is the activation map of feature ``k`` at ``L`` and ``s_k`` is its seed (:func:`seed_maps`: the map
itself, or only its strongest activation). Every ReLU's backward pass follows the rule; max-pooling and
convolution keep their ordinary gradients, which are unpooling with the switches and the transposed convolution.

This path recomputes the forward pass for every feature; :mod:`auralisation.deconv.fast` shares it and is held
equal to this one in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from .chain import Rectifier, Step
from .rules import seed_maps

__all__ = ["forward", "tape_deconvolve"]


def forward(steps: Sequence[Step], x: tf.Tensor, rectify: Rectifier) -> tf.Tensor:
    """Run ``steps`` on the batch ``x`` with ``rectify`` as every ReLU."""
    for step in steps:
        x = step.forward(x, rectify)
    return x


def tape_deconvolve(
    steps: Sequence[Step], rectify: Rectifier, x: tf.Tensor, features: tf.Tensor, seed: str
) -> tf.Tensor:
    """Deconvolve feature ``features[i]`` of the last step's output for the input ``x[i]``.

    Parameters
    ----------
    steps : sequence of Step
        The chain from the gradient input up to the layer being deconvolved.
    rectify : callable
        The rule's ReLU (:func:`auralisation.deconv.rules.rectifier`).
    x : tf.Tensor
        ``(n, bins, frames, 1)``: the scaled input, one row per feature to deconvolve.
    features : tf.Tensor
        ``(n,)`` int32 channel indices at the last step's output.
    seed : {"map", "max"}
        The seeding.

    Returns
    -------
    tf.Tensor
        ``(n, bins, frames, 1)``, the deconvolved spectrograms.
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        activations = forward(steps, x, rectify)
        chosen = tf.gather(activations, features, axis=-1, batch_dims=1)
        target = tf.reduce_sum(tf.stop_gradient(seed_maps(chosen, seed)) * chosen)
    return tape.gradient(target, x)
