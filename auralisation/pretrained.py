"""Networks trained on real music: the four taggers of the ``musicnn`` package, as this project's Keras models.

The ``musicnn`` package (Pons and Serra, 2019; PyPI, ISC licence) ships four music taggers as TensorFlow 1
checkpoints: ``MSD_vgg`` and ``MTT_vgg`` (a VGG-like net of five 3x3 convolution blocks) and ``MSD_musicnn`` and
``MTT_musicnn`` (musically motivated timbral and temporal filters, a residual mid-end of 1-D convolutions, mean and
max pooling over time), trained on the Million Song Dataset (MSD) and MagnaTagATune (MTT), 50 tags each. Its own
model code (``tf.compat.v1.layers``) no longer runs under Keras 3, so :func:`load_pretrained` builds each
architecture here, with the Keras functional API and named layers, from ``musicnn/models.py``, and reads the
weights from the installed package's checkpoint (never copied into this repository, never downloaded).

The front end is part of the model, as for :func:`auralisation.models.choi2017`: the model takes the *linear* STFT
magnitude ``(257, 187, 1)`` of a 2.976 s clip at 16 kHz (n_fft 512, hop 256: musicnn's 187-frame patch), squares
it (``power``), applies librosa's 96-band mel filterbank (``filterbank``; librosa 0.7, which musicnn used, had the
same defaults as today's: Slaney scale, area normalisation) and ``log10(1 + 10000 x)`` (``scaling``), so that
deconvolution comes back to the linear STFT and is heard with the clip's phase. musicnn's layout is (time,
frequency); ours is frequency first, as everywhere in this package: kernels and poolings are transposed, which
changes no value.

Two details differ from musicnn's own extractor, both measured in ``docs/pretrained.md``: the STFT pads the clip
with zeros (librosa 0.10 and this package's :func:`auralisation.audio.stft`), where librosa 0.7 padded by
reflection, and the mel spectrogram is not rounded to float16 before the compression.

Examples
--------
>>> PRETRAINED
('MSD_vgg', 'MTT_vgg', 'MSD_musicnn', 'MTT_musicnn')
>>> MUSICNN_CONFIG.n_frames, MUSICNN_CONFIG.input_shape
(187, (257, 187, 1))
>>> model = architecture("MTT_vgg", seed=0)
>>> [tuple(model.get_layer(f"pool{i}").output.shape[1:3]) for i in range(1, 6)]
[(48, 92), (24, 46), (12, 23), (6, 11), (1, 2)]
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .audio import AudioConfig, FrontEnd
from .errors import ModelError
from .io import TrainedModel
from .models import front_end

__all__ = [
    "MUSICNN_CONFIG", "PREFIX", "PRETRAINED", "architecture", "checkpoint_files", "checkpoint_folder", "is_pretrained",
    "load_pretrained",
    "tags", "untrained",
]

#: How a pretrained model is named wherever a model is given (``--model musicnn:MSD_vgg``).
PREFIX = "musicnn:"

#: The four taggers of the ``musicnn`` package 0.1.0.
PRETRAINED: tuple[str, ...] = ("MSD_vgg", "MTT_vgg", "MSD_musicnn", "MTT_musicnn")

#: How to install the package that holds the checkpoints (its metadata pins numpy < 1.17: no dependencies).
INSTALL = "pip install --no-deps musicnn==0.1.0"

#: musicnn's input: 16 kHz, n_fft 512, hop 256, 96 mel bands of the power spectrogram, ``log10(1 + 10000 x)``,
#: 187-frame patches (2.976 s: ``1 + 47616 // 256`` centred frames).
MUSICNN_CONFIG = AudioConfig(
    sr=16000, n_fft=512, hop_length=256, duration=2.976, scaling="log10k",
    frontend=FrontEnd(filterbank="mel", n_mels=96, power=2.0),
)

#: Batch normalisation as ``tf.compat.v1.layers.batch_normalization`` left it (its epsilon; inference statistics).
BN_EPSILON = 1e-3


def is_pretrained(model: Any) -> bool:
    """Whether ``model`` (a path or a string given as ``--model``) names a pretrained model (``musicnn:NAME``).

    Examples
    --------
    >>> is_pretrained("musicnn:MSD_vgg"), is_pretrained("models/choi2016")
    (True, False)
    """
    return str(model).startswith(PREFIX)


def _name(name: str) -> str:
    """``name`` without the prefix, checked against :data:`PRETRAINED`."""
    bare = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if bare not in PRETRAINED:
        listed = ", ".join(PREFIX + known for known in PRETRAINED)
        raise ModelError(f"no pretrained model {name!r}; the musicnn taggers are {listed}")
    return bare


def checkpoint_folder(name: str) -> Path:
    """The folder of the installed ``musicnn`` package that holds ``name``'s checkpoint.

    Raises
    ------
    ModelError
        An unknown name, or the ``musicnn`` package is not installed (the message says how to install it).
    """
    bare = _name(name)
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the pretrained model {PREFIX}{bare} is read from the musicnn package, which is not installed; "
            f"install it with `{INSTALL}` (or run scripts/setup.sh)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / bare
    if not (folder / ".index").is_file():
        raise ModelError(
            f"the musicnn package at {folder.parent} has no checkpoint for {bare}; reinstall it with `{INSTALL}`"
        )
    return folder


def checkpoint_files(name: str) -> list[Path]:
    """The files of ``name``'s checkpoint (its index and its data), to fingerprint it.

    Raises
    ------
    ModelError
        As :func:`checkpoint_folder`.
    """
    folder = checkpoint_folder(name)
    return [folder / ".index", *sorted(folder.glob(".data-*"))]


def tags(name: str) -> list[str]:
    """The 50 tags of ``name``'s dataset, in the order of its outputs (musicnn's ``configuration``).

    Raises
    ------
    ModelError
        As :func:`checkpoint_folder`.
    """
    checkpoint_folder(name)
    from musicnn import configuration

    return list(configuration.MSD_LABELS if _name(name).startswith("MSD") else configuration.MTT_LABELS)


def _kernel(seed: int | None, offset: int) -> keras.initializers.Initializer:
    """Keras's default kernel initialiser, seeded per layer from ``seed`` (``None``: random)."""
    return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 100 + offset)


def _bn(name: str) -> keras.layers.BatchNormalization:
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def _head(x: keras.KerasTensor, n_classes: int, seed: int | None) -> keras.KerasTensor:
    """``logits`` (linear) then ``output`` (the tags' probabilities, a sigmoid each)."""
    logits = keras.layers.Dense(n_classes, kernel_initializer=_kernel(seed, 99), name="logits")(x)
    return keras.layers.Activation("sigmoid", name="output")(logits)


def vgg(config: AudioConfig, n_classes: int, *, filters: int = 128, seed: int | None = None) -> keras.Model:
    """musicnn's VGG-like tagger (``musicnn.models.vgg``), frequency first, with fresh weights.

    Layers, by name: :func:`auralisation.models.front_end` (``spectrogram`` -> ``power`` -> ``filterbank`` ->
    ``scaling``) -> ``bn0`` -> five blocks ``conv{i}`` (3x3 'same', ReLU) -> ``bn{i}`` -> ``pool{i}`` (the first
    pools 4 frames by 1 band with stride 2 x 2, the last 4 x 4, the others 2 x 2) -> ``flatten`` -> ``logits`` ->
    ``output`` (sigmoid). Dropout (training only) is left out.
    """
    inputs, x = front_end(config)
    x = _bn("bn0")(x)
    pools = [((1, 4), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))]
    for block, (size, strides) in enumerate(pools, start=1):
        x = keras.layers.Conv2D(
            filters, 3, padding="same", activation="relu", kernel_initializer=_kernel(seed, block), name=f"conv{block}"
        )(x)
        x = _bn(f"bn{block}")(x)
        x = keras.layers.MaxPooling2D(size, strides, name=f"pool{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _head(x, n_classes, seed), name="musicnn_vgg")


#: musicnn's front-end branches: name -> (kernel (bands, frames), filters).
_BRANCHES: dict[str, tuple[tuple[int, int], int]] = {
    "timbral1": ((38, 7), 204), "timbral2": ((67, 7), 204),
    "temporal1": ((1, 128), 51), "temporal2": ((1, 64), 51), "temporal3": ((1, 32), 51),
}


def musicnn(
    config: AudioConfig, n_classes: int, *, midend: int = 64, backend: int = 200, seed: int | None = None
) -> keras.Model:
    """musicnn's tagger (``musicnn.models.build_musicnn``), frequency first, with fresh weights.

    Layers, by name: the front end and ``bn0`` as in :func:`vgg`; ``timbral_pad`` (3 frames of zeros on each side,
    for the timbral branches only) -> ``timbral1`` (38 bands x 7 frames, 204 filters, ReLU) and ``timbral2`` (67 x 7);
    ``temporal1..3`` (1 band x 128, 64, 32 frames, 51 filters, 'same', ReLU); each -> ``<branch>_bn`` ->
    ``<branch>_pool`` (max over all its bands) -> ``frontend`` (concatenated, 561 channels of one row); the mid-end
    ``mid1`` (1 x 7 'same', 64, ReLU) -> ``mid1_bn``, ``mid2`` -> ``mid2_bn`` -> ``mid2_add`` (residual),
    ``mid3`` -> ``mid3_bn`` -> ``mid3_add``; ``midend`` (the front end and the three mid-end outputs concatenated,
    753 channels) -> ``max_pool`` and ``mean_pool`` over time -> ``pooled`` -> ``pooled_bn`` -> ``penultimate``
    (dense, ReLU) -> ``penultimate_bn`` -> ``logits`` -> ``output`` (sigmoid). Dropout is left out.
    """
    inputs, x = front_end(config)
    x = _bn("bn0")(x)
    padded = keras.layers.ZeroPadding2D(((0, 0), (3, 3)), name="timbral_pad")(x)
    branches = []
    for offset, (name, (kernel, filters)) in enumerate(_BRANCHES.items()):
        timbral = name.startswith("timbral")
        y = keras.layers.Conv2D(
            filters, kernel, padding="valid" if timbral else "same", activation="relu",
            kernel_initializer=_kernel(seed, offset), name=name,
        )(padded if timbral else x)
        y = _bn(f"{name}_bn")(y)
        branches.append(keras.layers.MaxPooling2D((int(y.shape[1]), 1), name=f"{name}_pool")(y))
    front = keras.layers.Concatenate(name="frontend")(branches)
    outs = [front]
    x = front
    for i in (1, 2, 3):
        y = keras.layers.Conv2D(
            midend, (1, 7), padding="same", activation="relu", kernel_initializer=_kernel(seed, 10 + i), name=f"mid{i}"
        )(x)
        y = _bn(f"mid{i}_bn")(y)
        x = y if i == 1 else keras.layers.Add(name=f"mid{i}_add")([y, x])
        outs.append(x)
    x = keras.layers.Concatenate(name="midend")(outs)
    pooled = keras.layers.Concatenate(name="pooled")(
        [keras.layers.GlobalMaxPooling2D(name="max_pool")(x), keras.layers.GlobalAveragePooling2D(name="mean_pool")(x)]
    )
    x = _bn("pooled_bn")(pooled)
    x = keras.layers.Dense(backend, activation="relu", kernel_initializer=_kernel(seed, 20), name="penultimate")(x)
    x = _bn("penultimate_bn")(x)
    return keras.Model(inputs, _head(x, n_classes, seed), name="musicnn")


def architecture(name: str, *, seed: int | None = None, n_classes: int = 50) -> keras.Model:
    """The Keras graph of pretrained model ``name`` with fresh (Keras-initialised) weights: its untrained copy.

    Needs no ``musicnn`` package. ``seed`` fixes the initial weights (``None``: random).

    Raises
    ------
    ModelError
        An unknown name.
    """
    build = vgg if _name(name).endswith("vgg") else musicnn
    return build(MUSICNN_CONFIG, n_classes, seed=seed)


def untrained(name: str, *, seed: int | None = 0) -> TrainedModel:
    """The untrained copy of ``name``: the same architecture, config and tags, with fresh weights (the control of
    the analyses).

    Raises
    ------
    ModelError
        As :func:`tags`.
    """
    return TrainedModel(architecture(name, seed=seed), MUSICNN_CONFIG, tags(name))


def _checkpoint(name: str) -> dict[str, np.ndarray]:
    """Every tensor of ``name``'s checkpoint but the optimiser's, by variable name."""
    import tensorflow as tf

    folder = checkpoint_folder(name)
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(str(folder) + "/")  # by prefix: the files are ".index"...
    except Exception as error:  # TensorFlow raises several types for an unreadable checkpoint.
        raise ModelError(f"{folder}: the checkpoint cannot be read ({error}); reinstall it with `{INSTALL}`") from error
    return {
        key: reader.get_tensor(key)
        for key in reader.get_variable_to_shape_map()
        if "Adam" not in key and not key.startswith("beta")
    }


def _bn_weights(tensors: dict[str, np.ndarray], scope: str, order: np.ndarray | None = None) -> list[np.ndarray]:
    """``gamma, beta, moving_mean, moving_variance`` of a musicnn batch normalisation (channels in ``order``)."""
    weights = [tensors[f"{scope}/{part}"] for part in ("gamma", "beta", "moving_mean", "moving_variance")]
    return weights if order is None else [w[order] for w in weights]


def _frequency_first(kernel: np.ndarray) -> np.ndarray:
    """A musicnn kernel ``(frames, bands, in, out)`` as ours ``(bands, frames, in, out)``."""
    return np.ascontiguousarray(np.transpose(kernel, (1, 0, 2, 3)))


def _vgg_weights(model: keras.Model, tensors: dict[str, np.ndarray]) -> None:
    model.get_layer("bn0").set_weights(_bn_weights(tensors, "batch_normalization"))
    for block in range(1, 6):
        kernel = _frequency_first(tensors[f"{block}CNN/kernel"])
        model.get_layer(f"conv{block}").set_weights([kernel, tensors[f"{block}CNN/bias"]])
        model.get_layer(f"bn{block}").set_weights(_bn_weights(tensors, f"batch_normalization_{block}"))
    model.get_layer("logits").set_weights([tensors["dense/kernel"], tensors["dense/bias"]])


def _musicnn_weights(model: keras.Model, tensors: dict[str, np.ndarray]) -> None:
    model.get_layer("bn0").set_weights(_bn_weights(tensors, "batch_normalization"))
    for i, name in enumerate(_BRANCHES):
        suffix = f"_{i}" if i else ""
        kernel = _frequency_first(tensors[f"conv2d{suffix}/kernel"])
        model.get_layer(name).set_weights([kernel, tensors[f"conv2d{suffix}/bias"]])
        model.get_layer(f"{name}_bn").set_weights(_bn_weights(tensors, f"batch_normalization_{i + 1}"))
    for i in (1, 2, 3):
        # musicnn convolves (frames, channels) with one input channel; ours: 1 x 7 over the channels
        kernel = tensors[f"conv2d_{4 + i}/kernel"][:, :, 0, :][np.newaxis]
        model.get_layer(f"mid{i}").set_weights([kernel, tensors[f"conv2d_{4 + i}/bias"]])
        model.get_layer(f"mid{i}_bn").set_weights(_bn_weights(tensors, f"batch_normalization_{5 + i}"))
    # musicnn flattens (channels, [max, mean]): channel c's max is unit 2c, its mean 2c + 1; ours puts all maxima
    # first, then all means
    channels = int(model.get_layer("midend").output.shape[-1])
    order = np.concatenate([2 * np.arange(channels), 2 * np.arange(channels) + 1])
    model.get_layer("pooled_bn").set_weights(_bn_weights(tensors, "batch_normalization_9", order))
    model.get_layer("penultimate").set_weights([tensors["dense/kernel"][order], tensors["dense/bias"]])
    model.get_layer("penultimate_bn").set_weights(_bn_weights(tensors, "batch_normalization_10"))
    model.get_layer("logits").set_weights([tensors["dense_1/kernel"], tensors["dense_1/bias"]])


def load_pretrained(name: str) -> TrainedModel:
    """The pretrained tagger ``name`` (``"MSD_vgg"`` or ``"musicnn:MSD_vgg"``...) as a :class:`TrainedModel`.

    Its Keras model is :func:`vgg` or :func:`musicnn`, with the weights of the installed ``musicnn`` package's
    checkpoint; its config is :data:`MUSICNN_CONFIG`; its classes are the dataset's 50 tags (:func:`tags`).
    :func:`auralisation.io.load_model` calls it for ``musicnn:NAME``.

    Raises
    ------
    ModelError
        An unknown name (the message lists the four), or the ``musicnn`` package is missing (the message says how
        to install it), or its checkpoint cannot be read.
    """
    bare = _name(name)
    classes = tags(bare)
    tensors = _checkpoint(bare)
    model = architecture(bare, n_classes=len(classes))
    (_vgg_weights if bare.endswith("vgg") else _musicnn_weights)(model, tensors)
    return TrainedModel(model, MUSICNN_CONFIG, classes)
