"""Deconvolution's definition computed by TensorFlow alone, for the tests: no code of the package."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def feature_gradient(model: keras.Model, S: np.ndarray, k: int) -> np.ndarray:
    """``d/dS sum(stop_gradient(A_k) * A_k)`` for the model's output map ``A``: the gradient rule's definition."""
    s = tf.constant(S[None, ..., None])
    with tf.GradientTape() as tape:
        tape.watch(s)
        a = model(s)[..., k]
        target = tf.reduce_sum(tf.stop_gradient(a) * a)
    return tape.gradient(target, s).numpy()[0, ..., 0]
