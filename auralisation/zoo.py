"""Small versions of the architectures people bring, written the way their users write them in Keras.

Each builder makes a functional model from stock Keras layers (and this package's
:class:`~auralisation.models.MagnitudeScaling` for a compression), with seeded weights, for an
:class:`~auralisation.audio.AudioConfig`: the engine's zoo tests and ``benchmarks/bench_deconv.py`` deconvolve
every block of each, with the shared forward and with the per-feature tape.

============  =====================================================================================================
``compact``   Choi et al. 2017's compact convnet: a mel filterbank (a frozen ``Dense`` over the frequency axis),
              ``log(1 + x)``, then blocks of 3x3 convolution, batch normalisation, ELU and max-pooling
``resnet``    a short-chunk ResNet (Won et al. 2020): residual blocks (strided 3x3 convolutions, batch
              normalisation, ReLU, a 1x1 projection on the skip, ``Add``), global max-pooling
``musicnn``   a musicnn-like front end (Pons et al. 2018): parallel tall (timbral) and wide (temporal)
              filters, max-pooled over frequency, joined by ``Concatenate``, a residual 1-D mid-end
``vggish``    a VGGish-like net: pairs of 3x3 convolutions (``Activation("relu")`` and ``ReLU()`` spellings) per
              block, a nested ``Sequential`` backbone, a dense head
``waveform``  a model whose input is the waveform: ``keras.layers.STFTSpectrogram`` (librosa's conventions,
              :func:`auralisation.frontends.stft_layers`) then ``"spectrogram"``, the magnitude maps are taken at
============  =====================================================================================================

Examples
--------
>>> from auralisation.audio import AudioConfig
>>> model = build("resnet", AudioConfig(n_fft=128, hop_length=64, duration=0.5), n_classes=3)
>>> from auralisation.deconv import Deconvolver
>>> Deconvolver(model).layer_names[:2]
['stem_relu', 'block1_relu1']
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import librosa
import numpy as np

from .audio import AudioConfig
from .errors import ParameterError
from .models import MagnitudeScaling

__all__ = ["ZOO", "build", "spectrogram_layer"]


#: The layers whose weights :func:`_initialised` draws (a filterbank or an STFT keeps its own).
LEARNED = (keras.layers.Conv2D, keras.layers.Dense, keras.layers.BatchNormalization)


def _initialised(model: keras.Model, seed: int) -> keras.Model:
    """Seeded weights for the learned layers: He-like kernels, small biases, batch statistics off the identity."""
    from .deconv import Network

    rng = np.random.default_rng(seed)
    network = Network(model)
    for path in network.leaves():
        layer = network.layers[path]
        if not isinstance(layer, LEARNED) or not layer.trainable:
            continue
        weights = []
        for w in layer.weights:
            shape = tuple(w.shape)
            if "moving_variance" in w.path:
                weights.append(rng.uniform(0.5, 2.0, shape))
            elif "moving_mean" in w.path or "beta" in w.path or "bias" in w.path:
                weights.append(0.05 * rng.standard_normal(shape))
            elif "gamma" in w.path:
                weights.append(rng.uniform(0.5, 1.5, shape))
            else:
                weights.append(rng.standard_normal(shape) * np.sqrt(2.0 / (float(np.prod(shape[:-1])) or 1.0)))
        layer.set_weights([np.asarray(v, dtype=np.float32) for v in weights])
    return model


def compact(config: AudioConfig, n_classes: int, *, n_mels: int = 32, width: int = 8) -> keras.Model:
    """Choi et al. 2017's compact convnet on a mel filterbank inside the model (three blocks at this size)."""
    bins, frames, _ = config.input_shape
    inputs = keras.Input(config.input_shape, name="magnitude")
    x = keras.layers.Reshape((bins, frames), name="squeeze")(inputs)
    x = keras.layers.Permute((2, 1), name="to_frames")(x)
    mel = keras.layers.Dense(n_mels, use_bias=False, trainable=False, name="mel")
    x = mel(x)
    mel.set_weights([librosa.filters.mel(sr=config.sr, n_fft=config.n_fft, n_mels=n_mels).T.astype(np.float32)])
    x = keras.layers.Permute((2, 1), name="to_bands")(x)
    x = keras.layers.Reshape((n_mels, frames, 1), name="bands")(x)
    x = MagnitudeScaling("log", name="log")(x)
    x = keras.layers.BatchNormalization(name="bn0")(x)
    for i, pool in enumerate(((2, 2), (2, 2), (2, 3)), start=1):
        x = keras.layers.Conv2D(width, 3, padding="same", name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ELU(name=f"elu{i}")(x)
        x = keras.layers.MaxPooling2D(pool, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(n_classes, activation="sigmoid", name="output")(x)
    return keras.Model(inputs, outputs, name="compact")


def _residual(x: keras.KerasTensor, width: int, name: str) -> keras.KerasTensor:
    y = keras.layers.Conv2D(width, 3, strides=2, padding="same", name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    skip = keras.layers.Conv2D(width, 1, strides=2, padding="same", name=f"{name}_project")(x)
    skip = keras.layers.BatchNormalization(name=f"{name}_bn_skip")(skip)
    x = keras.layers.Add(name=f"{name}_add")([y, skip])
    return keras.layers.ReLU(name=f"{name}_relu2")(x)


def resnet(config: AudioConfig, n_classes: int, *, width: int = 8) -> keras.Model:
    """A short-chunk ResNet: a stem and two residual blocks, global max-pooling, a dense head."""
    inputs = keras.Input(config.input_shape, name="magnitude")
    x = MagnitudeScaling("log", name="log")(inputs)
    x = keras.layers.BatchNormalization(name="bn_in")(x)
    x = keras.layers.Conv2D(width, 3, padding="same", name="stem")(x)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    x = _residual(x, width, "block1")
    x = _residual(x, 2 * width, "block2")
    x = keras.layers.GlobalMaxPooling2D(name="global_pool")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="resnet")


def musicnn(config: AudioConfig, n_classes: int, *, width: int = 4) -> keras.Model:
    """A musicnn-like front end: timbral (tall) and temporal (wide) filters in parallel, joined."""
    bins, frames, _ = config.input_shape
    inputs = keras.Input(config.input_shape, name="magnitude")
    x = MagnitudeScaling("log", name="log")(inputs)
    branches = []
    for name, kernel in (("timbral", (int(0.7 * bins), 7)), ("timbral_small", (int(0.4 * bins), 3)),
                         ("temporal", (1, 17))):
        y = keras.layers.Conv2D(width, kernel, padding="same", activation="relu", name=name)(x)
        branches.append(keras.layers.MaxPooling2D((bins, 1), name=f"{name}_pool")(y))
    x = keras.layers.Concatenate(name="front")(branches)
    y = keras.layers.Conv2D(3 * width, (1, 7), padding="same", activation="relu", name="mid1")(x)
    x = keras.layers.Add(name="mid_add")([x, y])
    x = keras.layers.Conv2D(3 * width, (1, 7), padding="same", activation="relu", name="mid2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="musicnn")


def vggish(config: AudioConfig, n_classes: int, *, width: int = 4) -> keras.Model:
    """A VGGish-like net whose convolutional part is a nested ``Sequential`` backbone."""
    backbone = keras.Sequential(name="backbone")
    backbone.add(keras.Input(config.input_shape))
    for i in (1, 2):
        backbone.add(keras.layers.Conv2D(width * i, 3, padding="same", name=f"conv{i}a"))
        backbone.add(keras.layers.Activation("relu", name=f"relu{i}a"))
        backbone.add(keras.layers.Conv2D(width * i, 3, padding="same", name=f"conv{i}b"))
        backbone.add(keras.layers.ReLU(name=f"relu{i}b"))
        backbone.add(keras.layers.MaxPooling2D(2, name=f"pool{i}"))
    inputs = keras.Input(config.input_shape, name="magnitude")
    x = keras.layers.Flatten(name="flatten")(backbone(inputs))
    x = keras.layers.Dense(16, activation="relu", name="embedding")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="vggish")


def waveform(config: AudioConfig, n_classes: int, *, width: int = 4) -> keras.Model:
    """A model on the waveform: Keras's ``STFTSpectrogram`` with librosa's conventions inside, two conv blocks.

    The front end is :func:`auralisation.frontends.stft_layers`, whose last layer, ``"spectrogram"``, gives the
    magnitude ``(bins, frames, 1)`` that the maps are taken at.
    """
    from .frontends import stft_layers

    inputs = keras.Input((config.n_samples, 1), name="waveform")
    x = inputs
    for layer in stft_layers(config):
        x = layer(x)
    for i in (1, 2):
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="waveform")


#: The builders, by name.
ZOO: dict[str, Callable[..., keras.Model]] = {
    "compact": compact, "resnet": resnet, "musicnn": musicnn, "vggish": vggish, "waveform": waveform,
}


def build(name: str, config: AudioConfig, n_classes: int, *, seed: int = 0) -> keras.Model:
    """The zoo model ``name`` for ``config``, with seeded weights.

    Raises
    ------
    ParameterError
        An unknown name.
    """
    if name not in ZOO:
        raise ParameterError(f"no zoo model {name!r}; choose one of {', '.join(ZOO)}")
    return _initialised(ZOO[name](config, n_classes), seed)


def spectrogram_layer(name: str) -> str | None:
    """The layer whose output is the magnitude spectrogram, for a zoo model that does not take it as input."""
    return "spectrogram" if name == "waveform" else None
