"""The paper's convolutional network, built with the Keras functional API.

:func:`choi2016` is the 5-layer CNN of Choi, Fazekas and Sandler (2016): five blocks of a 3x3 convolution, a ReLU
and a 2x2 max-pooling over the STFT magnitude, then a fully connected head. The magnitude compression
(``config.scaling``) is the model's first layer, :class:`MagnitudeScaling`, so that the model takes the *linear*
magnitude spectrogram and deconvolution reaches all the way down to it.

Examples
--------
>>> from auralisation.audio import AudioConfig
>>> model = choi2016(AudioConfig(), n_classes=10, seed=0)
>>> [tuple(model.get_layer(f"pool{i}").output.shape[1:3]) for i in range(1, 6)]
[(128, 86), (64, 43), (32, 21), (16, 10), (8, 5)]

Choices where the paper and its code are silent (documented in the README):

* weights start from Keras's Glorot-uniform initialiser (the default of Keras 0.3, which the authors used) and
  biases from zero; with ``seed`` set, every layer's initialiser and every dropout layer gets its own seed derived
  from it, so the same seed builds the same network;
* the head's dropout (0.5 after each dense layer) comes from the authors' template; there is no dropout between the
  convolutional blocks;
* batch normalisation (off by default, as in the paper) sits between each convolution and its ReLU.
"""

from __future__ import annotations

from typing import Any, Literal

import keras

from .audio import AudioConfig
from .errors import ModelError

__all__ = ["BLOCKS", "MagnitudeScaling", "choi2016", "map_sizes"]

#: Number of convolutional blocks in :func:`choi2016`.
BLOCKS = 5

#: Hidden units of the two dense layers of the head (the authors' template).
DENSE_UNITS = (512, 256)


@keras.saving.register_keras_serializable(package="auralisation")
class MagnitudeScaling(keras.layers.Layer):
    """Compress a linear magnitude spectrogram inside the model: ``log(1 + S)`` or ``S`` itself.

    Keeping the compression in the model (rather than in the data pipeline) means the model's input is the linear
    magnitude ``|X|``, which is what deconvolution projects back onto and what auralisation multiplies with the
    clip's STFT.

    Parameters
    ----------
    scaling : {"log", "linear"}
        The :attr:`AudioConfig.scaling <auralisation.audio.AudioConfig.scaling>` of the model's config.
    **kwargs
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``...).

    Examples
    --------
    >>> import numpy as np
    >>> layer = MagnitudeScaling("log")
    >>> float(layer(np.array([[np.e - 1.0]], dtype="float32"))[0, 0])
    1.0
    """

    #: A monotone element-wise map: deconvolution passes the backward signal through it unchanged (as the authors
    #: did), so maps come out in the units of the linear magnitude (see :class:`auralisation.deconv.Deconvolver`).
    identity_backward = True

    def __init__(self, scaling: Literal["log", "linear"] = "log", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if scaling not in ("log", "linear"):
            raise ModelError(f"MagnitudeScaling: scaling must be 'log' or 'linear', got {scaling!r}")
        self.scaling = scaling

    def call(self, inputs: Any) -> Any:
        """Return ``log1p(inputs)`` for ``"log"``, ``inputs`` unchanged for ``"linear"``."""
        if self.scaling == "log":
            return keras.ops.log1p(inputs)
        return inputs

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """The output has the input's shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The layer's configuration, for saving."""
        return {**super().get_config(), "scaling": self.scaling}


def map_sizes(config: AudioConfig) -> list[tuple[int, int]]:
    """Height and width of the feature maps after each of the five poolings (2x2, stride 2, 'valid').

    Examples
    --------
    >>> map_sizes(AudioConfig())
    [(128, 86), (64, 43), (32, 21), (16, 10), (8, 5)]
    """
    height, width = config.n_bins, config.n_frames
    sizes = []
    for _ in range(BLOCKS):
        height, width = height // 2, width // 2
        sizes.append((height, width))
    return sizes


def _seeded(seed: int | None, offset: int) -> int | None:
    """A distinct seed per layer derived from the model's seed (``None`` stays ``None``: random)."""
    return None if seed is None else seed * 1000 + offset


def choi2016(
    config: AudioConfig,
    n_classes: int,
    *,
    width: int = 64,
    batch_norm: bool = False,
    dropout: float = 0.5,
    seed: int | None = None,
) -> keras.Model:
    """Build the 5-layer CNN of Choi et al. (2016) for ``config``'s spectrograms.

    Layers, by name: ``spectrogram`` (input, linear magnitude, ``config.input_shape``) -> ``scaling``
    (:class:`MagnitudeScaling`) -> five blocks ``conv{i}`` (``width`` filters 3x3 'same', ReLU) -> ``pool{i}``
    (max-pooling 2x2) -> ``flatten`` -> ``dense1`` (512, ReLU) -> ``dropout1`` -> ``dense2`` (256, ReLU) ->
    ``dropout2`` -> ``output`` (softmax). With ``batch_norm`` each ``conv{i}`` is linear and is followed by
    ``bn{i}`` and a ``relu{i}`` :class:`keras.layers.ReLU` layer. On the paper's config the maps are 128x86,
    64x43, 32x21, 16x10 and 8x5.

    The model is returned uncompiled; :func:`auralisation.train.compile_model` compiles it for training.

    Parameters
    ----------
    config : AudioConfig
        Gives the input shape and the magnitude scaling.
    n_classes : int
        Number of output classes (at least 2).
    width : int
        Filters per convolution (64 in the paper).
    batch_norm : bool
        Insert batch normalisation between each convolution and its ReLU (not in the paper).
    dropout : float
        Dropout rate after each dense layer of the head, in [0, 1).
    seed : int or None
        Seed of the weight initialisers and dropout layers; the same seed gives the same initial weights.
        ``None`` draws fresh random weights.

    Returns
    -------
    keras.Model
        The functional model, named ``"choi2016"``.

    Raises
    ------
    ModelError
        ``n_classes < 2``, ``width < 1``, ``dropout`` outside [0, 1), or a spectrogram too small for five
        poolings (fewer than 32 bins or frames).
    """
    if n_classes < 2:
        raise ModelError(f"choi2016: a classifier needs at least 2 classes, got n_classes={n_classes}")
    if width < 1:
        raise ModelError(f"choi2016: width (filters per convolution) must be at least 1, got {width}")
    if not 0.0 <= dropout < 1.0:
        raise ModelError(f"choi2016: dropout must lie in [0, 1), got {dropout}")
    smallest = 2**BLOCKS
    if config.n_bins < smallest or config.n_frames < smallest:
        raise ModelError(
            f"choi2016: a {config.n_bins} x {config.n_frames} spectrogram is too small for {BLOCKS} 2x2 poolings; "
            f"it needs at least {smallest} bins and {smallest} frames: raise n_fft, duration, or lower hop_length"
        )

    inputs = keras.Input(shape=config.input_shape, name="spectrogram")
    x = MagnitudeScaling(config.scaling, name="scaling")(inputs)
    for block in range(1, BLOCKS + 1):
        x = keras.layers.Conv2D(
            width,
            (3, 3),
            padding="same",
            activation=None if batch_norm else "relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=_seeded(seed, block)),
            name=f"conv{block}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn{block}")(x)
            x = keras.layers.ReLU(name=f"relu{block}")(x)
        x = keras.layers.MaxPooling2D((2, 2), name=f"pool{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for index, units in enumerate(DENSE_UNITS, start=1):
        x = keras.layers.Dense(
            units,
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=_seeded(seed, 10 + index)),
            name=f"dense{index}",
        )(x)
        x = keras.layers.Dropout(dropout, seed=_seeded(seed, 20 + index), name=f"dropout{index}")(x)
    outputs = keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=_seeded(seed, 30)),
        name="output",
    )(x)
    return keras.Model(inputs, outputs, name="choi2016")
