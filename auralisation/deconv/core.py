"""The public face of deconvolution: :class:`Deconvolver` and :func:`deconvolve`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from ..errors import ModelError, ParameterError
from ..lru import LRU
from .fast import Unsupported, fast_deconvolve
from .network import Network
from .rules import check_rule, check_seeding
from .tape import tape_deconvolve

__all__ = ["Deconvolver", "deconvolve"]

#: Memory the features of one batch may take, in bytes (sets the default batch size).
MEMORY_BUDGET = 2**30

#: Most features per batch (more gives nothing on a CPU).
MAX_BATCH = 64

#: Default number of features per batch when a model's sizes are free.
DEFAULT_BATCH = 8

Layer = int | str
Features = int | Sequence[int] | np.ndarray | None


def check_spectrograms(network: Network, spectrograms: np.ndarray) -> tuple[np.ndarray, bool]:
    """The model's inputs as a float32 batch with the channel axis, and whether a single one was given.

    Parameters
    ----------
    network : Network
        The model (:attr:`Deconvolver.network`).
    spectrograms : numpy.ndarray
        One input (``(bins, frames)`` or ``(bins, frames, 1)`` for a spectrogram model), or a batch of them.

    Raises
    ------
    ModelError
        A shape the model does not take, or NaN/infinite values.
    """
    return network.check_input(spectrograms)


class Deconvolver:
    """Deconvolve the feature maps of one Keras model under one rule.

    The model is run as it is, by Keras (:class:`~.network.Network`): any functional, Sequential, nested or
    subclassed graph, with the rule applied to its rectifiers. The compiled functions are kept per layer and
    seeding, so that deconvolving many clips or features never re-traces anything. The model is never modified.

    **How.** Feature ``k`` at layer ``L`` is the gradient, with respect to the spectrogram, of
    ``sum(stop_gradient(s_k) * A_k)`` where ``A_k`` is the map of feature ``k`` at ``L`` and ``s_k`` its starting
    signal (the seeding), with every rectifier's backward pass replaced by the rule's (:mod:`.rules`). Max-pooling's gradient is unpooling
    with the switches and a convolution's gradient is the transposed convolution, so under the ``"deconvnet"`` rule
    this is exactly Zeiler & Fergus's deconvnet as the authors ran it. The spectrogram is the model's input, or the
    output of the layer ``at`` (a ``STFTSpectrogram`` on a waveform input). A compression layer that declares
    ``identity_backward = True`` (``log(1 + S)``, decibels: :class:`auralisation.models.MagnitudeScaling`) is
    passed as the identity going back, as the authors did, so the result is in the units of the magnitude
    spectrogram and is meant to multiply it; ``compression="gradient"`` takes its true gradient instead.

    **Biases** do not enter the backward pass (a transposed convolution has no bias), as in the authors' code; they
    act only through the forward pass, which decides the switches, which rectifier inputs are positive, and the
    seeding.

    **Batching.** Under the default ``engine="auto"`` the forward pass runs once per clip and the backward pass of
    a batch of features shares it (:mod:`.fast`); ``engine="tape"`` is the plain definition (:mod:`.tape`), which
    repeats the forward pass for each feature. Both give the same values; ``"auto"`` falls back to the tape for a
    model whose layers the shared walk cannot follow.

    Parameters
    ----------
    model : keras.Model
        The network, with one input: linear magnitude spectrograms ``(bins, frames, 1)``, or anything (a waveform)
        when ``at`` names the layer that makes the spectrogram.
    rule : {"deconvnet", "guided", "gradient"}
        How each rectifier passes the backward signal.
    batch_size : int or None
        Features deconvolved together; ``None`` picks as many as fit in :data:`MEMORY_BUDGET`.
    at : str, optional
        The layer whose output is the spectrogram to project onto; default, the model's input.
    compression : {"identity", "gradient"}
        How layers with ``identity_backward`` pass the signal.

    Raises
    ------
    ModelError
        Not a built model with one input, an unknown rule, or ``at`` is not a layer of the model.

    Examples
    --------
    >>> import numpy as np
    >>> from auralisation.audio import AudioConfig
    >>> from auralisation.models import choi2016
    >>> deconvolver = Deconvolver(choi2016(AudioConfig(), n_classes=2, seed=0))
    >>> deconvolver.layer_names
    ['pool1', 'pool2', 'pool3', 'pool4', 'pool5']
    >>> S = np.random.default_rng(0).random((257, 173)).astype("float32")
    >>> deconvolver.deconvolve(S, 2, features=[0, 5]).shape
    (2, 257, 173)
    """

    def __init__(
        self, model: keras.Model, rule: Literal["deconvnet", "guided", "gradient"] = "deconvnet", *,
        batch_size: int | None = None, at: str | None = None, compression: str = "identity",
    ) -> None:
        self.rule = check_rule(rule)
        if batch_size is not None and batch_size < 1:
            raise ParameterError(f"batch_size must be at least 1, got {batch_size}")
        if compression not in ("identity", "gradient"):
            raise ParameterError(f"compression must be 'identity' or 'gradient', got {compression!r}")
        self.model = model
        self.network = Network(model, at=at)
        self.batch_size = batch_size
        self.compression = compression
        self._compiled: dict[tuple[str, ...], Callable[..., tf.Tensor]] = {}
        self._tape_only: set[str] = set()

    @property
    def layer_names(self) -> list[str]:
        """The block outputs, in order: block ``i`` (1-based) is ``layer_names[i - 1]``."""
        return self.network.blocks

    def layer_name(self, layer: Layer) -> str:
        """The path of ``layer``: a block number (1-based), a layer name, or a path ``"backbone/pool3"``.

        Raises
        ------
        ModelError
            No such block or layer (the message lists the blocks and the closest names), or a layer without a map
            to project back (a global pooling layer).
        """
        path = self.network.resolve(layer)
        self.network.spatial(path)
        return path

    def n_features(self, layer: Layer) -> int:
        """Number of features (channels) at ``layer``."""
        return self.network.n_features(self.layer_name(layer))

    def _features(self, layer: str, features: Features) -> np.ndarray:
        """``features`` as a checked int32 array (``None`` means all of them)."""
        count = self.network.n_features(layer)
        if features is None:
            return np.arange(count, dtype=np.int32)
        chosen = np.atleast_1d(np.asarray(features))
        if chosen.ndim != 1 or chosen.size == 0 or not np.issubdtype(chosen.dtype, np.integer):
            raise ParameterError(f"features must be None, an int or a non-empty list of ints, got {features!r}")
        bad = chosen[(chosen < 0) | (chosen >= count)]
        if bad.size:
            raise ModelError(
                f"layer {layer!r} of model {self.network.name!r} has features 0..{count - 1}; "
                f"feature {int(bad[0])} does not exist"
            )
        return chosen.astype(np.int32)

    def _function(self, key: tuple[str, ...], build: Callable[[], Callable[..., tf.Tensor]]) -> Callable[..., tf.Tensor]:
        """The compiled function for ``key``, built once."""
        if key not in self._compiled:
            self._compiled[key] = tf.function(build(), reduce_retracing=True, autograph=False)
        return self._compiled[key]

    def activations(self, spectrograms: np.ndarray, layer: Layer) -> np.ndarray:
        """The feature maps at ``layer``: ``(n_features, h, w)``, with a leading batch axis for a batch.

        A fully connected layer's features come out as ``(n_features, 1, 1)``.
        """
        name = self.layer_name(layer)
        batch, single = check_spectrograms(self.network, spectrograms)
        network = self.network
        run = self._function(("activations", name), lambda: lambda x: network.run(x).output(name))
        a = run(tf.constant(batch)).numpy()
        if a.ndim == 2:
            a = a[:, None, None, :]
        maps = np.moveaxis(a, -1, 1).astype(np.float32)
        return maps[0] if single else maps

    def _default_batch(self, layer: str, n_features: int, engine: str) -> int:
        """Features per batch: as many as fit in :data:`MEMORY_BUDGET`, split evenly.

        The tape holds every activation of the forward pass per feature; the shared-forward walk holds a few
        copies of the largest backward signal per feature, from the first max-pooling up (below it, the unpooling
        runs fused with the transposed convolution, or on a signal with few channels).
        """
        batch = self.batch_size
        if batch is None:
            paths = self.network.paths
            below = paths[: paths.index(layer) + 1]
            if engine == "fast":
                pools = [i for i, p in enumerate(below) if isinstance(self.network.layers[p], keras.layers.MaxPooling2D)]
                below = below[pools[0] :] if pools else below
            sizes = [self.network.output_shape(p) for p in below]
            sizes = [math.prod(s[1:]) for s in sizes if s is not None and None not in s[1:]]
            if not sizes:
                batch = DEFAULT_BATCH
            else:
                per_feature = 4 * 4 * (sum(sizes) if engine == "tape" else max(sizes))
                batch = int(max(1, min(MAX_BATCH, MEMORY_BUDGET // per_feature)))
        chunks = -(-n_features // batch)
        return -(-n_features // chunks)

    def _runner(self, name: str, seeding: str, engine: str) -> Callable[..., tf.Tensor]:
        """The compiled deconvolution of layer ``name`` under ``engine`` ("fast" or "tape")."""
        network, rule, compression = self.network, self.rule, self.compression
        run = fast_deconvolve if engine == "fast" else tape_deconvolve
        return self._function(
            (engine, name, seeding),
            lambda: lambda x, f: run(network, name, rule, x, f, seeding, compression),
        )

    def deconvolve(
        self,
        spectrograms: np.ndarray,
        layer: Layer,
        features: Features = None,
        *,
        seeding: Literal["map", "max"] = "map",
        engine: Literal["auto", "fast", "tape"] = "auto",
    ) -> np.ndarray:
        """Deconvolved spectrograms of ``features`` at ``layer``.

        Parameters
        ----------
        spectrograms : numpy.ndarray
            The model's input: linear magnitude ``(bins, frames)`` or ``(bins, frames, 1)``, or a batch of them
            ``(batch, bins, frames[, 1])`` (a waveform, or a batch of waveforms, for a model explained ``at`` a
            layer inside it).
        layer : int or str
            Block number ``1..len(layer_names)`` (block ``i`` is the output of the ``i``-th pooling layer), a
            layer name, or a path ``"backbone/pool3"`` into a nested model.
        features : int, sequence of int, or None
            Feature (channel) indices at ``layer``, from 0; ``None`` means all of them.
        seeding : {"map", "max"}
            Start from the feature's whole activation map (the authors' choice) or only its strongest activation
            (Zeiler & Fergus).
        engine : {"auto", "fast", "tape"}
            ``"tape"`` is the definition (one GradientTape pass per feature, the forward pass repeated);
            ``"fast"`` shares one forward pass across the features; ``"auto"`` takes ``"fast"`` where the model
            allows it.

        Returns
        -------
        numpy.ndarray
            float32 ``(n_features, bins, frames)``, or ``(batch, n_features, bins, frames)`` for a batch: signed,
            in the units of the spectrogram.

        Raises
        ------
        ModelError
            Unknown layer or feature (the message gives the valid range), an input that does not fit the model,
            or ``engine="fast"`` on a model the shared walk cannot follow.
        ParameterError
            An unknown ``seeding`` or ``engine``.
        """
        check_seeding(seeding)
        if engine not in ("auto", "fast", "tape"):
            raise ParameterError(f"engine must be 'auto', 'fast' or 'tape', got {engine!r}")
        name = self.layer_name(layer)
        chosen = self._features(name, features)
        batch, single = check_spectrograms(self.network, spectrograms)
        use = "tape" if engine == "tape" or name in self._tape_only else "fast"
        out: list[np.ndarray] = []
        for clip in batch:
            out.append(self._deconvolve_clip(clip, name, chosen, seeding, use, engine))
            use = "tape" if name in self._tape_only else use
        maps = np.stack(out)
        return maps[0] if single else maps

    def _deconvolve_clip(
        self, clip: np.ndarray, name: str, chosen: np.ndarray, seeding: str, use: str, engine: str
    ) -> np.ndarray:
        """All of ``chosen`` for one clip, in batches, by ``use``; falls back from fast to tape under "auto"."""
        x = tf.constant(clip[None])
        step = self._default_batch(name, len(chosen), use)
        parts = []
        for start in range(0, len(chosen), step):
            f = tf.constant(chosen[start : start + step])
            if use == "fast":
                try:
                    parts.append(self._runner(name, seeding, "fast")(x, f).numpy())
                    continue
                except Unsupported as why:
                    if engine == "fast":
                        raise ModelError(
                            f"model {self.network.name!r}: the shared-forward engine cannot follow it ({why}); use "
                            "engine='tape'"
                        ) from None
                    self._tape_only.add(name)
                    use = "tape"
                    self._compiled.pop(("fast", name, seeding), None)
            xs = tf.repeat(x, len(f), axis=0)
            parts.append(self._runner(name, seeding, "tape")(xs, f).numpy())
        maps = np.concatenate(parts).astype(np.float32)
        return maps.reshape(maps.shape[0], *_spectrogram_shape(maps.shape[1:]))


def _spectrogram_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The map's shape without a trailing channel axis of 1."""
    return shape[:-1] if len(shape) > 2 and shape[-1] == 1 else shape


#: Deconvolvers of recently used models, by (id(model), rule); kept small because each holds its model.
_CACHE: LRU[tuple[int, str, str | None, str], Deconvolver] = LRU(4)


def _cached(model: keras.Model, rule: str, at: str | None = None, compression: str = "identity") -> Deconvolver:
    """The cached :class:`Deconvolver` of ``model`` under ``rule``, built on first use."""
    return _CACHE.get(
        (id(model), rule, at, compression),
        lambda: Deconvolver(model, rule, at=at, compression=compression),
        valid=lambda d: d.model is model,
    )


def deconvolve(
    model: keras.Model,
    spectrograms: np.ndarray,
    layer: Layer,
    features: Features = None,
    *,
    seeding: Literal["map", "max"] = "map",
    rule: Literal["deconvnet", "guided", "gradient"] = "deconvnet",
    at: str | None = None,
    compression: Literal["identity", "gradient"] = "identity",
) -> np.ndarray:
    """Deconvolve ``features`` of ``layer`` of ``model`` for one spectrogram or a batch.

    A shortcut for :meth:`Deconvolver.deconvolve`; the :class:`Deconvolver` (and its compiled functions) is
    cached for the last few ``(model, rule, at, compression)``, so repeated calls are cheap. See
    :class:`Deconvolver` for the method, the treatment of compression layers and of biases.

    Parameters
    ----------
    model : keras.Model
        The trained network (not modified).
    spectrograms : numpy.ndarray
        Linear magnitude ``(bins, frames)`` (optionally ``(..., 1)``), or a batch ``(batch, bins, frames[, 1])``.
    layer : int or str
        Block number (1 = the first pooling layer's output), a layer name, or a path ``"backbone/pool3"``.
    features : int, sequence of int, or None
        Feature indices from 0; ``None`` for all.
    seeding : {"map", "max"}
        Whole activation map (the authors) or strongest activation only (Zeiler & Fergus).
    rule : {"deconvnet", "guided", "gradient"}
        How rectifiers pass the backward signal: for a ReLU ``relu(dy)``, ``relu(dy) * (x > 0)``, or
        ``dy * (x > 0)`` (:mod:`auralisation.deconv.rules` for the other activations).
    at : str, optional
        The layer whose output is the spectrogram (default: the model's input).
    compression : {"identity", "gradient"}
        How compression layers (``identity_backward``) pass the signal.

    Returns
    -------
    numpy.ndarray
        float32 ``(n_features, bins, frames)`` or ``(batch, n_features, bins, frames)``.

    Examples
    --------
    >>> import numpy as np
    >>> from auralisation.audio import AudioConfig
    >>> from auralisation.models import choi2016
    >>> model = choi2016(AudioConfig(), n_classes=2, seed=0)
    >>> S = np.random.default_rng(0).random((257, 173)).astype("float32")
    >>> deconvolve(model, S, layer=1, features=[3]).shape
    (1, 257, 173)
    """
    check_rule(rule)
    return _cached(model, rule, at, compression).deconvolve(spectrograms, layer, features, seeding=seeding)
