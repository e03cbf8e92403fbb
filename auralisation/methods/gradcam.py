"""Grad-CAM (Selvaraju et al., 2017) on a spectrogram.

For a target score ``y`` and the maps ``A`` (``h x w x c``) of a convolutional or pooling layer, each channel gets
the weight ``alpha_k = mean_{i,j} dy / dA_ijk``; the map is ``ReLU(sum_k alpha_k A_k)``, bilinearly upsampled
(half-pixel centres, as :func:`tf.image.resize` does) to the spectrogram's ``bins x frames``. The map is coarse (the
layer's resolution) and non-negative: it says *where* in time and frequency the evidence lies, not its sign.

The default layer is the last layer with 2-D maps at or below the target that is not a max-pooling (``conv5`` for a
class of :func:`~auralisation.models.choi2016`, 16 x 10; ``conv2`` for a feature of ``pool2``; ``relu5`` with batch
normalisation), the analogue of the paper's "last convolutional layer".
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..errors import ModelError
from .target import Scorer

__all__ = ["gradcam"]


def default_layer(scorer: Scorer) -> str:
    """The last layer at or below the target with 2-D maps that is not a max-pooling."""
    network = scorer.network
    names = [
        path
        for path in scorer.layers_below()
        if len(network.output_shape(path) or ()) == 4
        and not isinstance(network.layers[path], (keras.layers.MaxPooling2D, keras.layers.Dropout))
    ]
    if not names:
        raise ModelError(f"model {network.name!r} has no layer with 2-D maps below {scorer.target}")
    return names[-1]


def upsample(maps: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``maps`` ``(h, w)`` to ``shape`` (half-pixel centres, edges clamped): float32."""
    resized = tf.image.resize(np.asarray(maps, dtype=np.float32)[..., None], shape, method="bilinear")
    return resized.numpy()[..., 0].astype(np.float32)


def gradcam(scorer: Scorer, spectrogram: np.ndarray, layer: str | None = None) -> np.ndarray:
    """The Grad-CAM map of ``scorer``'s target for one spectrogram.

    Parameters
    ----------
    scorer : Scorer
        The model and target (class logit or feature mean activation).
    spectrogram : numpy.ndarray
        Linear magnitude ``(bins, frames)`` (or ``(..., 1)``).
    layer : str, optional
        The layer whose maps are weighted (a layer name or path at or below the target); default
        :func:`default_layer`.

    Returns
    -------
    numpy.ndarray
        float32 ``(bins, frames)``, non-negative.
    """
    s = scorer.check(spectrogram)
    layer = layer or default_layer(scorer)
    a, grad = scorer.layer_gradient(s, layer)
    if a.ndim != 3:
        raise ModelError(f"Grad-CAM needs a layer with 2-D maps; {layer!r} gives maps of shape {a.shape}")
    weights = grad.mean(axis=(0, 1))
    cam = np.maximum(np.tensordot(a, weights, axes=([2], [0])), 0.0)
    return upsample(cam, s.shape)
