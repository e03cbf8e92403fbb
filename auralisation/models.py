"""The paper's convolutional network, and Choi et al.'s compact convnet of 2017, built with the Keras functional API.

:func:`choi2016` is the 5-layer CNN of Choi, Fazekas and Sandler (2016): five blocks of a 3x3 convolution, a ReLU
and a 2x2 max-pooling over the STFT magnitude, then a fully connected head. :func:`choi2017` is the compact convnet
of Choi, Fazekas, Sandler and Cho (2017): a log-mel input, five blocks of a 3x3 convolution, batch normalisation,
ELU and max-pooling. Both start with :func:`front_end`, the layers ``config.frontend`` and ``config.scaling``
describe: the model takes the *linear* magnitude spectrogram (or the waveform) and applies any filterbank
(:class:`auralisation.frontends.Filterbank`) and the compression (:class:`MagnitudeScaling`) itself, so that
deconvolution reaches all the way down to the linear STFT.

Examples
--------
>>> from auralisation.audio import AudioConfig
>>> model = choi2016(AudioConfig(), n_classes=10, seed=0)
>>> [tuple(model.get_layer(f"pool{i}").output.shape[1:3]) for i in range(1, 6)]
[(128, 86), (64, 43), (32, 21), (16, 10), (8, 5)]

Choices where the paper and its code are silent (documented in docs/choices.md):

* weights start from Keras's Glorot-uniform initialiser (the default of Keras 0.3, which the authors used) and
  biases from zero; with ``seed`` set, every layer's initialiser and every dropout layer gets its own seed derived
  from it, so the same seed builds the same network;
* the head's dropout (0.5 after each dense layer) comes from the authors' template; there is no dropout between the
  convolutional blocks;
* batch normalisation (off by default, as in the paper) sits between each convolution and its ReLU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import keras
import numpy as np

from .audio import DB_FLOOR, SCALINGS, AudioConfig
from .choices import ARCHITECTURE_NAMES
from .errors import ModelError, ParameterError
from .frontends import Filterbank, mel_filterbank, mel_parameters, stft_layers

__all__ = ["ARCHITECTURES", "MagnitudeScaling", "Power", "choi2016", "choi2017"]

#: Number of convolutional blocks in :func:`choi2016`.
BLOCKS = 5

#: Hidden units of the two dense layers of the head (the authors' template).
DENSE_UNITS = (512, 256)

#: Momentum of :func:`choi2017`'s batch normalisation statistics. Keras's default, 0.99, lets the inference statistics
#: lag too far behind on a small dataset: on the bundled one (21 steps an epoch) training accuracy reached 97% while
#: validation stayed at chance (the dB input's mean, about -40, was still a third short after six epochs).
BN_MOMENTUM = 0.9

#: Max-pooling (frequency, time) of the five blocks of Choi et al. (2017), for their 96 x 1,366 log-mel input;
#: :func:`choi2017` clips each to the map it pools (:func:`choi2017_pools`).
CHOI2017_POOLS: tuple[tuple[int, int], ...] = ((2, 4), (4, 4), (4, 5), (2, 4), (4, 4))


@keras.saving.register_keras_serializable(package="auralisation")
class MagnitudeScaling(keras.layers.Layer):
    """Compress a magnitude spectrogram inside the model: ``log(1 + S)``, decibels, ``log10(1 + 10000 S)``, or ``S``.

    Keeping the compression in the model (rather than in the data pipeline) means the model's input is the linear
    magnitude ``|X|``, which is what deconvolution projects back onto and what auralisation multiplies with the
    clip's STFT. Every scaling is a monotone element-wise map, so the layer declares ``identity_backward = True``:
    deconvolution passes the backward signal through it unchanged (as the authors did with their scaling) unless
    asked for its true gradient.

    Parameters
    ----------
    scaling : {"log", "linear", "db", "log10k"}
        The :attr:`AudioConfig.scaling <auralisation.audio.AudioConfig.scaling>` of the model's config.
    **kwargs
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``...).

    Examples
    --------
    >>> import numpy as np
    >>> layer = MagnitudeScaling("log")
    >>> float(layer(np.array([[np.e - 1.0]], dtype="float32"))[0, 0])
    1.0
    >>> round(float(MagnitudeScaling("db")(np.array([[10.0]], dtype="float32"))[0, 0]), 4)
    20.0
    >>> round(float(MagnitudeScaling("log10k")(np.array([[0.0999]], dtype="float32"))[0, 0]), 4)
    3.0
    """

    #: A monotone element-wise map: deconvolution passes the backward signal through it unchanged (as the authors
    #: did), so maps come out in the units of the linear magnitude (see :class:`auralisation.deconv.Deconvolver`).
    identity_backward = True

    def __init__(self, scaling: Literal["log", "linear", "db", "log10k"] = "log", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if scaling not in SCALINGS:
            raise ModelError(f"MagnitudeScaling: scaling must be one of {SCALINGS}, got {scaling!r}")
        self.scaling = scaling

    def call(self, inputs: Any) -> Any:
        """Return ``log1p(inputs)`` for ``"log"``, ``20 log10(max(inputs, 1e-5))`` for ``"db"``,
        ``log10(1 + 10000 inputs)`` for ``"log10k"``, ``inputs`` unchanged for ``"linear"``."""
        if self.scaling == "log":
            return keras.ops.log1p(inputs)
        if self.scaling == "log10k":
            return keras.ops.log1p(10000.0 * inputs) / np.log(10.0)
        if self.scaling == "db":
            return (20.0 / np.log(10.0)) * keras.ops.log(keras.ops.maximum(inputs, DB_FLOOR))
        return inputs

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """The output has the input's shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The layer's configuration, for saving."""
        return {**super().get_config(), "scaling": self.scaling}


@keras.saving.register_keras_serializable(package="auralisation")
class Power(keras.layers.Layer):
    """Raise the magnitude to a power inside the model (``S ** 2``: the power spectrogram a mel filterbank takes in
    librosa's ``melspectrogram`` and the musicnn taggers).

    A monotone element-wise map on the non-negative magnitude: like :class:`MagnitudeScaling` it declares
    ``identity_backward = True``, so deconvolution passes the backward signal through it unchanged unless asked for
    its true gradient.

    Parameters
    ----------
    power : float
        The exponent (the config's ``frontend.power``).
    **kwargs
        Passed to :class:`keras.layers.Layer`.

    Examples
    --------
    >>> import numpy as np
    >>> Power(2.0)(np.array([[3.0]], dtype="float32")).numpy().tolist()
    [[9.0]]
    """

    identity_backward = True

    def __init__(self, power: float = 2.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not power > 0:
            raise ModelError(f"Power: the exponent must be positive, got {power}")
        self.power = float(power)

    def call(self, inputs: Any) -> Any:
        """``inputs ** power``."""
        return keras.ops.square(inputs) if self.power == 2.0 else keras.ops.power(inputs, self.power)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """The output has the input's shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The layer's configuration, for saving."""
        return {**super().get_config(), "power": self.power}


def map_sizes(config: AudioConfig, pools: Sequence[tuple[int, int]] = ((2, 2),) * BLOCKS) -> list[tuple[int, int]]:
    """Height and width of the feature maps after each pooling ('valid'; 2x2 by default, as in :func:`choi2016`).

    The first map is the spectrogram the first convolution sees: ``n_bins`` rows, or the filterbank's bands.

    Examples
    --------
    >>> map_sizes(AudioConfig())
    [(128, 86), (64, 43), (32, 21), (16, 10), (8, 5)]
    """
    height, width = config.frontend.bands(config.n_bins), config.n_frames
    sizes = []
    for pool_height, pool_width in pools:
        height, width = height // pool_height, width // pool_width
        sizes.append((height, width))
    return sizes


def front_end(config: AudioConfig) -> tuple[Any, Any]:
    """The model's input and the layers ``config``'s front end puts before the first convolution.

    Layers, by name: the input (``spectrogram``: the linear magnitude or, for ``frontend.input="filterbank"``, the
    bands; or ``waveform``, followed by :func:`auralisation.frontends.stft_layers`, whose last layer is named
    ``spectrogram``) -> ``power`` (:class:`Power`, when ``frontend.power`` is not 1) -> ``filterbank`` (:class:`auralisation.frontends.Filterbank` holding librosa's mel
    filterbank, when the config has one and computes it inside the model) -> ``scaling`` (:class:`MagnitudeScaling`).

    Returns
    -------
    tuple
        ``(inputs, x)``: the ``keras.Input`` and the compressed spectrogram ``(bands, frames, 1)``.
    """
    front = config.frontend
    if front.input == "waveform":
        inputs = keras.Input(shape=config.input_shape, name="waveform")
        x = inputs
        for layer in stft_layers(config):
            x = layer(x)
    else:
        inputs = keras.Input(shape=config.input_shape, name="spectrogram")
        x = inputs
    if front.power != 1.0 and front.input != "filterbank":
        x = Power(front.power, name="power")(x)
    if front.filterbank != "none" and front.input != "filterbank":
        mel_filterbank(config)  # refuses a filterbank that does not cover the STFT
        x = Filterbank(mel=mel_parameters(config), name="filterbank")(x)
    return inputs, MagnitudeScaling(config.scaling, name="scaling")(x)


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

    Layers, by name: :func:`front_end` (for the paper's config: ``spectrogram``, the linear magnitude, ->
    ``scaling``) -> five blocks ``conv{i}`` (``width`` filters 3x3 'same', ReLU) -> ``pool{i}``
    (max-pooling 2x2) -> ``flatten`` -> ``dense1`` (512, ReLU) -> ``dropout1`` -> ``dense2`` (256, ReLU) ->
    ``dropout2`` -> ``output`` (softmax). With ``batch_norm`` each ``conv{i}`` is linear and is followed by
    ``bn{i}`` and a ``relu{i}`` :class:`keras.layers.ReLU` layer. On the paper's config the maps are 128x86,
    64x43, 32x21, 16x10 and 8x5.

    The model is returned uncompiled; :func:`auralisation.training.compile_model` compiles it for training.

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
    ParameterError
        ``n_classes < 2``, ``width < 1`` or ``dropout`` outside [0, 1).
    ModelError
        A spectrogram too small for five poolings (fewer than 32 bins or frames).
    """
    _check_options("choi2016", n_classes, width, dropout)
    smallest = 2**BLOCKS
    bands = config.frontend.bands(config.n_bins)
    if bands < smallest or config.n_frames < smallest:
        raise ModelError(
            f"choi2016: a {bands} x {config.n_frames} spectrogram is too small for {BLOCKS} 2x2 poolings; "
            f"it needs at least {smallest} bins and {smallest} frames: raise n_fft, duration, or lower hop_length"
        )

    inputs, x = front_end(config)
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
    outputs = _softmax_output(x, n_classes, seed)
    return keras.Model(inputs, outputs, name="choi2016")


def _softmax_output(x: keras.KerasTensor, n_classes: int, seed: int | None) -> keras.KerasTensor:
    """The class layer of both architectures: a seeded dense softmax named ``output``."""
    return keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=_seeded(seed, 30)),
        name="output",
    )(x)


def choi2017_pools(config: AudioConfig) -> list[tuple[int, int]]:
    """The poolings of :func:`choi2017` for ``config``: the paper's, each clipped to the map it pools.

    Choi et al. (2017) pool their 96 x 1,366 input by (2,4)-(4,4)-(4,5)-(2,4)-(4,4) down to 1 x 1. Our clips are
    4 s (173 frames), so the time pooling runs out first: each pooling is ``min(paper's, map size)`` per axis. On
    the paper's config with 96 mel bands that keeps the first three poolings exactly, halves the fourth in time
    ((2,2): the map is then 1 x 1) and leaves the fifth as (1,1), a block without pooling.

    Examples
    --------
    >>> from auralisation.audio import FrontEnd
    >>> choi2017_pools(AudioConfig(frontend=FrontEnd(filterbank="mel", n_mels=96)))
    [(2, 4), (4, 4), (4, 5), (2, 2), (1, 1)]
    """
    height, width = config.frontend.bands(config.n_bins), config.n_frames
    pools = []
    for pool_height, pool_width in CHOI2017_POOLS:
        pool = (max(1, min(pool_height, height)), max(1, min(pool_width, width)))
        height, width = height // pool[0], width // pool[1]
        pools.append(pool)
    return pools


def choi2017(
    config: AudioConfig,
    n_classes: int,
    *,
    width: int = 32,
    dropout: float = 0.5,
    seed: int | None = None,
) -> keras.Model:
    """Build the compact convnet of Choi, Fazekas, Sandler and Cho (2017) for ``config``'s spectrograms.

    K. Choi, G. Fazekas, M. Sandler, K. Cho, "Transfer learning for music classification and regression tasks",
    ISMIR 2017: a log-mel input, batch normalisation per mel band, then five blocks of a 3x3 convolution of 32
    filters, batch normalisation, ELU and max-pooling, then the classifier. The config should describe a mel front
    end (:data:`auralisation.training.ARCH_CONFIGS` gives 96 bands and decibels, as the paper's kapre front end).

    Layers, by name: :func:`front_end` (``spectrogram`` -> ``filterbank`` -> ``scaling``) -> ``bn0``
    (batch normalisation over the frequency axis, one mean and scale per band, as the authors' code did) -> five
    blocks ``conv{i}`` (``width`` filters 3x3 'same', linear) -> ``bn{i}`` -> ``elu{i}`` (:class:`keras.layers.ELU`)
    -> ``pool{i}`` (max-pooling by :func:`choi2017_pools`) -> ``flatten`` -> ``dropout`` -> ``output`` (softmax).
    The authors' head was one sigmoid layer over 50 tags; ours is a softmax over the classes, with dropout 0.5
    before it because the bundled dataset is small.

    Parameters
    ----------
    config : AudioConfig
        Gives the input, the front end and the compression.
    n_classes : int
        Number of output classes (at least 2).
    width : int
        Filters per convolution (32 in the paper).
    dropout : float
        Dropout rate before the output layer, in [0, 1).
    seed : int or None
        Seed of the weight initialisers and the dropout; ``None`` draws fresh random weights.

    Returns
    -------
    keras.Model
        The functional model, named ``"choi2017"``, uncompiled.

    Raises
    ------
    ParameterError
        ``n_classes < 2``, ``width < 1`` or ``dropout`` outside [0, 1).

    Examples
    --------
    >>> from auralisation.audio import FrontEnd
    >>> config = AudioConfig(scaling="db", frontend=FrontEnd(filterbank="mel", n_mels=96))
    >>> model = choi2017(config, n_classes=8, seed=0)
    >>> [tuple(model.get_layer(f"pool{i}").output.shape[1:]) for i in range(1, 6)]
    [(48, 43, 32), (12, 10, 32), (3, 2, 32), (1, 1, 32), (1, 1, 32)]
    """
    _check_options("choi2017", n_classes, width, dropout)
    inputs, x = front_end(config)
    x = keras.layers.BatchNormalization(axis=1, momentum=BN_MOMENTUM, name="bn0")(x)
    for block, pool in enumerate(choi2017_pools(config), start=1):
        x = keras.layers.Conv2D(
            width,
            (3, 3),
            padding="same",
            kernel_initializer=keras.initializers.GlorotUniform(seed=_seeded(seed, block)),
            name=f"conv{block}",
        )(x)
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn{block}")(x)
        x = keras.layers.ELU(name=f"elu{block}")(x)
        x = keras.layers.MaxPooling2D(pool, name=f"pool{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(dropout, seed=_seeded(seed, 20), name="dropout")(x)
    outputs = _softmax_output(x, n_classes, seed)
    return keras.Model(inputs, outputs, name="choi2017")


def _check_options(name: str, n_classes: int, width: int, dropout: float) -> None:
    """:class:`ParameterError` for options no architecture takes."""
    if n_classes < 2:
        raise ParameterError(f"{name}: a classifier needs at least 2 classes, got n_classes={n_classes}")
    if width < 1:
        raise ParameterError(f"{name}: width (filters per convolution) must be at least 1, got {width}")
    if not 0.0 <= dropout < 1.0:
        raise ParameterError(f"{name}: dropout must lie in [0, 1), got {dropout}")


#: The architectures by name: ``auralisation train --arch NAME``.
ARCHITECTURES: dict[str, Callable[..., keras.Model]] = dict(zip(ARCHITECTURE_NAMES, (choi2016, choi2017)))
