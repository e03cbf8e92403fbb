"""The definition of deconvolution: one GradientTape pass over the real model with the rule's rectifiers.

Feature ``k`` of layer ``L`` is deconvolved as the gradient, with respect to the spectrogram (the model's input, or
the output of the layer :attr:`Network.at <auralisation.deconv.network.Network.at>`), of
``sum(stop_gradient(s_k) * A_k)``, where ``A_k`` is the map of feature ``k`` at ``L`` and ``s_k`` is its
starting signal (:func:`~.rules.starting_signal`: the map itself, or only its strongest activation, by the
seeding). Every rectifier's backward pass follows the rule; every other layer keeps its ordinary gradient, which
for max-pooling is unpooling with the switches and for a convolution is the transposed convolution.

This path runs the model's forward pass once per feature (each row of the batch is one feature);
:mod:`auralisation.deconv.fast` shares it and is held equal to this one in the tests.
"""

from __future__ import annotations

import tensorflow as tf

from .network import Network
from .rules import Rule, starting_signal

__all__ = ["tape_deconvolve"]


def tape_deconvolve(
    network: Network, path: str, rule: Rule, x: tf.Tensor, features: tf.Tensor, seeding: str, compression: str
) -> tf.Tensor:
    """Deconvolve feature ``features[i]`` of the layer at ``path`` for the input ``x[i]``.

    Parameters
    ----------
    network : Network
        The model.
    path : str
        The layer whose features are deconvolved.
    rule : {"deconvnet", "guided", "gradient"}
        How rectifiers pass the backward signal.
    x : tf.Tensor
        The model's input, one row per feature to deconvolve.
    features : tf.Tensor
        ``(n,)`` int32 channel indices at the layer's output.
    seeding : {"map", "max"}
        The seeding.
    compression : {"identity", "gradient"}
        How ``identity_backward`` layers pass the signal.

    Returns
    -------
    tf.Tensor
        The gradient, shaped like the spectrogram tensor (with its batch axis).
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        recording = network.run(x, rule, compression=compression)
        source = network.source(recording, x)
        activations = recording.output(path)
        chosen = tf.gather(activations, features, axis=-1, batch_dims=1)
        target = tf.reduce_sum(tf.stop_gradient(starting_signal(chosen, seeding)) * chosen)
    return tape.gradient(target, source)
