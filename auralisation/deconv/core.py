"""The public face of deconvolution: :class:`Deconvolver` and :func:`deconvolve`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import keras
import numpy as np
import tensorflow as tf

from ..errors import ModelError
from ..lru import LRU
from .chain import Chain, Pool, Rectifier, Step, read_chain
from .fast import fast_deconvolve, supports
from .rules import check_rule, check_seed, rectifier
from .tape import forward, tape_deconvolve

__all__ = ["Deconvolver", "check_spectrograms", "deconvolve"]

#: Memory the features of one batch may take, in bytes (sets the default batch size).
MEMORY_BUDGET = 2**30

#: Most features per batch (more gives nothing on a CPU).
MAX_BATCH = 64

#: Default number of features per batch when a model's sizes are free.
DEFAULT_BATCH = 8

Layer = int | str
Features = int | Sequence[int] | np.ndarray | None


def check_spectrograms(chain: Chain, spectrograms: np.ndarray) -> tuple[np.ndarray, bool]:
    """Linear magnitude spectrograms for the model read as ``chain``, as a float32 batch ``(batch, bins, frames, 1)``.

    Parameters
    ----------
    chain : Chain
        The model (:func:`~.chain.read_chain`, or :attr:`Deconvolver.chain`).
    spectrograms : numpy.ndarray
        One ``(bins, frames)`` or ``(bins, frames, 1)``, or a batch ``(batch, bins, frames[, 1])``.

    Returns
    -------
    tuple
        The batch, and whether a single spectrogram was given.

    Raises
    ------
    ModelError
        A shape the model does not take, or NaN/infinite values.
    """
    s = np.asarray(spectrograms, dtype=np.float32)
    expected = chain.input_shape[:2]

    def fits(shape: tuple[int, ...]) -> bool:
        return all(want is None or want == got for want, got in zip(expected, shape))

    if s.ndim == 3 and s.shape[-1] == 1 and fits(s.shape[:2]):
        s = s[..., 0]
    if s.ndim == 2 and fits(s.shape):
        batch, single = s[None, ..., None], True
    elif s.ndim in (3, 4) and fits(s.shape[1:3]) and (s.ndim == 3 or s.shape[-1] == 1):
        batch, single = s.reshape(s.shape[:3] + (1,)), False
    else:
        wanted = " x ".join("any" if n is None else str(n) for n in expected)
        raise ModelError(
            f"a spectrogram of shape {np.shape(spectrograms)} does not fit model {chain.model_name!r}, which "
            f"takes {wanted} (bins x frames) magnitude spectrograms, optionally batched and with a channel "
            "axis; compute it with auralisation.audio.magnitude(y, config) using the model's config"
        )
    if not np.all(np.isfinite(batch)):
        raise ModelError("the spectrogram contains NaN or infinite values; check the audio it came from")
    return batch, single


class Deconvolver:
    """Deconvolve the feature maps of one Keras model under one rule.

    The model is read once as a chain of steps that use its own weight variables (:mod:`.chain`); the compiled
    functions are kept per layer and seeding, so that deconvolving many clips or features never rebuilds or
    re-traces anything. The model itself is never modified.

    **How.** Feature ``k`` at layer ``L`` is the gradient, with respect to the output of the model's input scaling
    layer, of ``sum(stop_gradient(s_k) * A_k)`` where ``A_k`` is the map of feature ``k`` at ``L`` and ``s_k`` its
    seed, with every ReLU's backward pass replaced by the rule's (:mod:`.rules`). Max-pooling's gradient is
    unpooling with the switches and a convolution's gradient is the transposed convolution, so under the
    ``"deconvnet"`` rule this is exactly Zeiler & Fergus's deconvnet as the authors ran it. The scaling layer
    (``log(1 + S)``) is treated as the identity going back: the result has the shape of the magnitude spectrogram
    and is meant to multiply it, in its units.

    **Biases** do not enter the backward pass (a transposed convolution has no bias), as in the authors' code; they
    act only through the forward pass, which decides the switches, which ReLU inputs are positive, and the seed.

    **Batching.** Under the default ``method="auto"`` the forward pass runs once per clip and the backward pass of
    a batch of features shares it (:mod:`.fast`); ``method="tape"`` is the plain definition (:mod:`.tape`), which
    repeats the forward pass for each feature. Both give the same values.

    Parameters
    ----------
    model : keras.Model
        A functional or Sequential model made of the layers :mod:`.chain` supports, taking linear magnitude
        spectrograms ``(bins, frames, 1)``.
    rule : {"deconvnet", "guided", "gradient"}
        How each ReLU passes the backward signal.
    batch_size : int or None
        Features deconvolved together; ``None`` picks as many as fit in :data:`MEMORY_BUDGET`.

    Raises
    ------
    ModelError
        The model is not a chain of supported layers, has no convolution, or the rule is unknown.

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
        batch_size: int | None = None,
    ) -> None:
        self.rule = check_rule(rule)
        if batch_size is not None and batch_size < 1:
            raise ModelError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.chain: Chain = read_chain(model)
        self.batch_size = batch_size
        self._rectify = rectifier(rule)
        self._compiled: dict[tuple[str, ...], Callable[..., tf.Tensor]] = {}

    @property
    def layer_names(self) -> list[str]:
        """The block outputs, in order: block ``i`` (1-based) is ``layer_names[i - 1]``."""
        return list(self.chain.blocks)

    def layer_name(self, layer: Layer) -> str:
        """The name of ``layer``, given as a block number (1-based) or a layer name.

        Raises
        ------
        ModelError
            No such block or layer, or a layer below the first convolution.
        """
        blocks = self.chain.blocks
        names = ", ".join(self.chain.ends)
        if blocks:
            valid = f"blocks 1..{len(blocks)} ({', '.join(blocks)})"
        else:
            valid = "no blocks (no max-pooling and no ReLU after a convolution)"
        if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            if not 1 <= layer <= len(blocks):
                raise ModelError(
                    f"model {self.chain.model_name!r} has {valid}; block {layer} does not exist; layers that can be "
                    f"deconvolved by name: {names}"
                )
            return blocks[int(layer) - 1]
        if isinstance(layer, str) and layer in self.chain.ends:
            return layer
        raise ModelError(
            f"model {self.chain.model_name!r} has no layer {layer!r} to deconvolve; it has {valid}, and layers that "
            f"can be deconvolved by name (from the first convolution up): {names}"
        )

    def n_features(self, layer: Layer) -> int:
        """Number of features (channels) at ``layer``."""
        name = self.layer_name(layer)
        return int(self.model.get_layer(name).output.shape[-1])

    def _features(self, layer: str, features: Features) -> np.ndarray:
        """``features`` as a checked int32 array (``None`` means all of them)."""
        count = self.n_features(layer)
        if features is None:
            return np.arange(count, dtype=np.int32)
        chosen = np.atleast_1d(np.asarray(features))
        if chosen.ndim != 1 or chosen.size == 0 or not np.issubdtype(chosen.dtype, np.integer):
            raise ModelError(f"features must be None, an int or a non-empty list of ints, got {features!r}")
        bad = chosen[(chosen < 0) | (chosen >= count)]
        if bad.size:
            raise ModelError(
                f"layer {layer!r} of model {self.chain.model_name!r} has features 0..{count - 1}; "
                f"feature {int(bad[0])} does not exist"
            )
        return chosen.astype(np.int32)

    def _function(self, key: tuple[str, ...], *args: Any) -> Callable[..., tf.Tensor]:
        """The compiled ``_RUNNERS[key[0]]`` with ``args`` bound, built once per key."""
        if key not in self._compiled:
            self._compiled[key] = tf.function(
                functools.partial(_RUNNERS[key[0]], self.chain.scaling, *args), reduce_retracing=True
            )
        return self._compiled[key]

    def activations(self, spectrograms: np.ndarray, layer: Layer) -> np.ndarray:
        """The feature maps at ``layer``: ``(n_features, h, w)``, with a leading batch axis for a batch.

        A fully connected layer's features come out as ``(n_features, 1, 1)``.
        """
        name = self.layer_name(layer)
        batch, single = check_spectrograms(self.chain, spectrograms)
        steps = self.chain.path(name, rectified_only=False, rule=self.rule)
        run = self._function(("activations", name), steps)
        a = run(tf.constant(batch)).numpy()
        if a.ndim == 2:
            a = a[:, None, None, :]
        maps = np.moveaxis(a, -1, 1).astype(np.float32)
        return maps[0] if single else maps

    def _default_batch(self, layer: str, n_features: int, method: str) -> int:
        """Features per batch: as many as fit in :data:`MEMORY_BUDGET`, split evenly.

        The tape holds every activation of the forward pass per feature; the shared-forward path holds about four
        copies of the largest backward signal per feature, and never holds the first block's full-resolution
        signal with all its channels (it is single-channel at the top, or fused with the unpooling below).
        """
        batch = self.batch_size
        if batch is None:
            names = list(self.chain.ends)[: list(self.chain.ends).index(layer) + 1]
            if method == "fast":
                pooling = {step.layer for step in self.chain.steps if isinstance(step, Pool)}
                pools = [i for i, name in enumerate(names) if name in pooling]
                names = names[pools[0] :] if pools else names
            sizes = [self.chain.sizes[name] for name in names]
            if None in sizes:
                batch = DEFAULT_BATCH
            else:
                per_feature = 4 * 4 * (sum(sizes) if method == "tape" else max(sizes))
                batch = int(max(1, min(MAX_BATCH, MEMORY_BUDGET // per_feature)))
        chunks = -(-n_features // batch)
        return -(-n_features // chunks)

    def deconvolve(
        self,
        spectrograms: np.ndarray,
        layer: Layer,
        features: Features = None,
        *,
        seed: Literal["map", "max"] = "map",
        method: Literal["auto", "fast", "tape"] = "auto",
    ) -> np.ndarray:
        """Deconvolved spectrograms of ``features`` at ``layer``.

        Parameters
        ----------
        spectrograms : numpy.ndarray
            Linear magnitude ``(bins, frames)`` or ``(bins, frames, 1)``, or a batch of them
            ``(batch, bins, frames[, 1])``.
        layer : int or str
            Block number ``1..len(layer_names)`` (block ``i`` is the output of the ``i``-th max-pooling), or the
            name of any layer from the first convolution up.
        features : int, sequence of int, or None
            Feature (channel) indices at ``layer``, from 0; ``None`` means all of them.
        seed : {"map", "max"}
            Start from the feature's whole activation map (the authors' choice) or only its strongest activation
            (Zeiler & Fergus).
        method : {"auto", "fast", "tape"}
            ``"tape"`` is the definition (one GradientTape pass per feature, the forward pass repeated);
            ``"fast"`` shares one forward pass across the features (non-overlapping poolings and ReLUs only);
            ``"auto"`` takes ``"fast"`` where the model allows it.

        Returns
        -------
        numpy.ndarray
            float32 ``(n_features, bins, frames)``, or ``(batch, n_features, bins, frames)`` for a batch: signed,
            in the units of the magnitude spectrogram.

        Raises
        ------
        ModelError
            Unknown layer or feature (the message gives the valid range), a spectrogram that does not fit the
            model, or a non-ReLU activation on the way down under the deconvnet or guided rule.
        """
        check_seed(seed)
        if method not in ("auto", "fast", "tape"):
            raise ModelError(f"method must be 'auto', 'fast' or 'tape', got {method!r}")
        name = self.layer_name(layer)
        chosen = self._features(name, features)
        batch, single = check_spectrograms(self.chain, spectrograms)
        steps = self.chain.path(name, rectified_only=self.rule != "gradient", rule=self.rule)
        fast = supports(steps)
        if method == "fast" and not fast:
            raise ModelError(
                f"model {self.chain.model_name!r}: the shared-forward path needs non-overlapping max-poolings and "
                "ReLU activations below the layer; use method='tape'"
            )
        use_fast = fast and method != "tape"
        step = self._default_batch(name, len(chosen), "fast" if use_fast else "tape")
        if use_fast:
            run = self._function(("fast", name, seed), steps, self.rule, seed)
        else:
            run = self._function(("tape", name, seed), steps, self._rectify, seed)
        out = np.empty((len(batch), len(chosen), *batch.shape[1:3]), dtype=np.float32)
        for i, clip in enumerate(batch):
            x = tf.constant(clip[None])
            for start in range(0, len(chosen), step):
                f = tf.constant(chosen[start : start + step])
                xs = x if use_fast else tf.repeat(x, len(f), axis=0)
                out[i, start : start + step] = run(xs, f).numpy()[..., 0]
        return out[0] if single else out


def _scaled(scaling: keras.layers.Layer | None, x: tf.Tensor) -> tf.Tensor:
    """The input of the chain: the output of the model's scaling layer, if it has one."""
    return tf.convert_to_tensor(scaling(x)) if scaling is not None else x


def _run_activations(scaling: keras.layers.Layer | None, steps: Sequence[Step], x: tf.Tensor) -> tf.Tensor:
    """The output of ``steps`` for the spectrograms ``x``."""
    return forward(steps, _scaled(scaling, x), tf.nn.relu)


def _run_fast(
    scaling: keras.layers.Layer | None, steps: Sequence[Step], rule: str, seed: str, x: tf.Tensor, f: tf.Tensor
) -> tf.Tensor:
    """:func:`fast_deconvolve` from the spectrogram ``x``."""
    return fast_deconvolve(steps, rule, _scaled(scaling, x), f, seed)


def _run_tape(
    scaling: keras.layers.Layer | None, steps: Sequence[Step], rectify: Rectifier, seed: str, x: tf.Tensor,
    f: tf.Tensor,
) -> tf.Tensor:
    """:func:`tape_deconvolve` from the spectrograms ``x``."""
    return tape_deconvolve(steps, rectify, _scaled(scaling, x), f, seed)


#: What each kind of compiled function runs.
_RUNNERS: dict[str, Callable[..., tf.Tensor]] = {"activations": _run_activations, "fast": _run_fast, "tape": _run_tape}


#: Deconvolvers of recently used models, by (id(model), rule); kept small because each holds its model.
_CACHE: LRU[tuple[int, str], Deconvolver] = LRU(4)


def _cached(model: keras.Model, rule: str) -> Deconvolver:
    """The cached :class:`Deconvolver` of ``model`` under ``rule``, built on first use."""
    return _CACHE.get((id(model), rule), lambda: Deconvolver(model, rule), valid=lambda d: d.model is model)


def deconvolve(
    model: keras.Model,
    spectrograms: np.ndarray,
    layer: Layer,
    features: Features = None,
    *,
    seed: Literal["map", "max"] = "map",
    rule: Literal["deconvnet", "guided", "gradient"] = "deconvnet",
) -> np.ndarray:
    """Deconvolve ``features`` of ``layer`` of ``model`` for one spectrogram or a batch.

    A shortcut for :meth:`Deconvolver.deconvolve`; the :class:`Deconvolver` (the model read as a chain, and its
    compiled functions) is cached for the last few ``(model, rule)`` pairs, so repeated calls are cheap. See
    :class:`Deconvolver` for the method, the treatment of the scaling layer and of biases.

    Parameters
    ----------
    model : keras.Model
        The trained network (not modified).
    spectrograms : numpy.ndarray
        Linear magnitude ``(bins, frames)`` (optionally ``(..., 1)``), or a batch ``(batch, bins, frames[, 1])``.
    layer : int or str
        Block number (1 = the first max-pooling's output) or a layer name.
    features : int, sequence of int, or None
        Feature indices from 0; ``None`` for all.
    seed : {"map", "max"}
        Whole activation map (the authors) or strongest activation only (Zeiler & Fergus).
    rule : {"deconvnet", "guided", "gradient"}
        How ReLUs pass the backward signal: ``relu(dy)``, ``relu(dy) * (x > 0)``, or ``dy * (x > 0)``.

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
    return _cached(model, rule).deconvolve(spectrograms, layer, features, seed=seed)
