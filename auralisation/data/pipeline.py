"""Spectrograms of excerpts: the on-disk cache (:class:`SpectrogramCache`) and the ``tf.data`` pipelines."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from ..audio import AudioConfig, compress, load_clip, magnitude
from ..errors import AudioError, DatasetError, ParameterError
from ..fileio import atomic_path, atomic_write_text
from .folders import DatasetWarning, Excerpt

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["SpectrogramCache", "label_indices", "make_dataset", "to_arrays"]

#: Version of the cache's file layout; changing it invalidates every cache folder.
_CACHE_FORMAT = 1


class SpectrogramCache:
    """Linear magnitude spectrograms of excerpts, decoded once and then read from disk.

    Entries live in ``folder/<config-hash>/`` as one ``.npy`` file per excerpt, keyed by the file (its resolved
    path, size and modification time), the excerpt's offset and every field of the config that changes the
    spectrogram (all but ``scaling`` and ``frontend``, which models apply themselves). Editing or replacing a track
    therefore invalidates its entries, and two configs never share one. Entries are written atomically; an
    unreadable entry (a crash elsewhere, a full disk) is decoded again with a :class:`DatasetWarning`. Safe to call
    from several threads.

    Parameters
    ----------
    folder : path-like
        The cache's root folder (``project_paths().cache``, say); created when the first entry is written.
    config : AudioConfig
        How excerpts become spectrograms.

    Attributes
    ----------
    config : AudioConfig
    directory : pathlib.Path
        ``folder/<config-hash>``, where this config's entries live.
    decodes : int
        How many excerpts this object has decoded from audio (cache misses).
    """

    def __init__(self, folder: str | os.PathLike[str], config: AudioConfig) -> None:
        self.config = config
        self.directory = Path(folder) / _config_digest(config)
        self.decodes = 0
        self._lock = threading.Lock()

    def path_for(self, excerpt: Excerpt) -> Path:
        """The cache file of ``excerpt`` (which may not exist yet)."""
        path = Path(excerpt.path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise AudioError(
                f"{path}: no such file; the dataset changed since it was scanned, so scan it again"
            ) from None
        key = json.dumps([str(path.resolve()), stat.st_size, stat.st_mtime_ns, round(excerpt.offset, 6)])
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        return self.directory / f"{path.stem[:60]}@{excerpt.offset:g}s-{digest}.npy"

    def get(self, excerpt: Excerpt) -> np.ndarray:
        """The linear magnitude spectrogram of ``excerpt``, float32 ``(n_bins, n_frames)``.

        Raises
        ------
        AudioError
            The excerpt's file is missing or cannot be decoded (see :func:`auralisation.audio.load_clip`).
        """
        entry = self.path_for(excerpt)
        cached = self._read(entry)
        if cached is not None:
            return cached
        spectrogram = magnitude(load_clip(excerpt.path, self.config, excerpt.offset, silence="allow"), self.config)
        with self._lock:
            self.decodes += 1
        self._write(entry, spectrogram)
        return spectrogram

    def _read(self, entry: Path) -> np.ndarray | None:
        """A cached spectrogram, or None when the entry is missing or unusable."""
        if not entry.is_file():
            return None
        try:
            value = np.load(entry, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            problem = f"unreadable ({error})"
        else:
            expected = (self.config.n_bins, self.config.n_frames)
            if value.shape == expected and value.dtype == np.float32:
                return value
            problem = f"of shape {value.shape} and dtype {value.dtype}, not {expected} float32"
        warnings.warn(f"cache entry {entry} is {problem}; decoding it again", DatasetWarning, stacklevel=3)
        return None

    def _write(self, entry: Path, spectrogram: np.ndarray) -> None:
        config_file = self.directory / "config.json"
        if not config_file.is_file():
            atomic_write_text(config_file, self.config.to_json() + "\n")
        with atomic_path(entry) as tmp:
            np.save(tmp, spectrogram)


def _config_digest(config: AudioConfig) -> str:
    """Hash of the config fields that change a linear magnitude spectrogram (not the scaling nor the front end,
    which models apply themselves)."""
    fields = config.to_dict()
    del fields["scaling"], fields["frontend"]
    payload = json.dumps({"cache_format": _CACHE_FORMAT, **fields}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def label_indices(excerpts: Sequence[Excerpt], classes: Sequence[str]) -> np.ndarray:
    """Class index of each excerpt, int32; :class:`DatasetError` for an empty list or an unknown label."""
    if not excerpts:
        raise DatasetError("no excerpts given; scan a dataset folder with scan_folder first")
    index = {label: i for i, label in enumerate(classes)}
    unknown = sorted({excerpt.label for excerpt in excerpts} - index.keys())
    if unknown:
        raise DatasetError(
            f"labels {unknown} are not among the classes {list(classes)}; pass the classes that scan_folder "
            "returned with these excerpts"
        )
    return np.array([index[excerpt.label] for excerpt in excerpts], dtype=np.int32)


def _spectrograms(
    excerpts: Sequence[Excerpt], cache: SpectrogramCache, scaled: bool, progress: bool = False
) -> np.ndarray:
    """Stacked spectrograms ``(n, n_bins, n_frames, 1)`` float32, compressed by the config when ``scaled``."""
    stack = np.stack([cache.get(excerpt) for excerpt in tqdm(excerpts, disable=not progress, unit="excerpt")])
    if scaled:
        stack = compress(stack, cache.config.scaling)
    return stack[..., np.newaxis].astype(np.float32, copy=False)


def make_dataset(
    excerpts: Sequence[Excerpt],
    classes: Sequence[str],
    cache: SpectrogramCache,
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    scaled: bool = False,
    epochs: range | None = None,
) -> "tf.data.Dataset":
    """A batched, prefetching ``tf.data`` pipeline of ``(spectrogram, class index)`` read through ``cache``.

    Excerpts are fetched from the cache a batch at a time inside the pipeline (decoded on a miss), several
    batches in parallel, so that the first epoch fills the cache and later ones decode nothing.

    Parameters
    ----------
    excerpts : sequence of Excerpt
        One split, say ``splits.train``.
    classes : sequence of str
        Class names; an excerpt's label index in it is its target.
    cache : SpectrogramCache
        Where spectrograms come from; its config sets the shapes.
    batch_size : int
        Examples per batch (the last batch may be smaller).
    shuffle : bool
        Shuffle the excerpts, differently in each epoch, in an order fixed by ``seed``.
    seed : int
        Seed of the shuffle.
    scaled : bool
        Yield ``compress(S, config.scaling)`` instead of the linear magnitude ``S``; leave it False for models
        that apply the scaling themselves (:func:`auralisation.models.choi2016` does).
    epochs : range, optional
        With ``shuffle``: the dataset holds these epochs one after another (``ceil(len(excerpts) / batch_size)``
        batches each, Keras's ``steps_per_epoch``), epoch ``e`` in an order that depends on ``(seed, e)`` only,
        so a training run resumed at epoch ``k`` (``range(k, n)``) sees the batches the uninterrupted run saw.
        Without it, each pass over the dataset is a new shuffle, in an order fixed by ``seed`` and the number of
        passes before it.

    Returns
    -------
    tf.data.Dataset
        Elements ``(x, y)``: x float32 ``(batch, n_bins, n_frames, 1)``, y int32 ``(batch,)``.

    Raises
    ------
    DatasetError
        ``excerpts`` is empty, or a label is not in ``classes``.
    ParameterError
        ``batch_size`` is not positive.

    Notes
    -----
    A file that cannot be decoded during iteration (changed since the scan, or damaged after its first block)
    stops the iteration with a ``tf.errors.InvalidArgumentError`` whose message is the :class:`AudioError`'s,
    naming the file.
    """
    import tensorflow as tf

    labels = label_indices(excerpts, classes)
    if batch_size < 1:
        raise ParameterError(f"batch_size must be at least 1, got {batch_size}")
    excerpts = list(excerpts)
    shape = (None, cache.config.n_bins, cache.config.n_frames, 1)

    def fetch(indices: np.ndarray) -> np.ndarray:
        return _spectrograms([excerpts[i] for i in indices], cache, scaled)

    def load(indices: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x = tf.numpy_function(fetch, [indices], tf.float32, stateful=False)
        x.set_shape(shape)
        return x, targets

    indices, targets = np.arange(len(excerpts), dtype=np.int64), np.asarray(labels)
    if shuffle and epochs is not None:
        if not len(epochs):
            raise ParameterError("epochs is an empty range; give at least one epoch")

        def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
            keys = tf.random.stateless_uniform([len(excerpts)], seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
            order = tf.argsort(keys, stable=True)
            return tf.data.Dataset.from_tensor_slices((tf.gather(indices, order), tf.gather(targets, order))).batch(
                batch_size)

        batches = tf.data.Dataset.from_tensor_slices(np.asarray(epochs, dtype=np.int64)).flat_map(one_epoch)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((indices, targets))
        if shuffle:
            dataset = dataset.shuffle(len(excerpts), seed=seed, reshuffle_each_iteration=True)
        batches = dataset.batch(batch_size)
    return (
        batches
        .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def to_arrays(
    excerpts: Sequence[Excerpt],
    classes: Sequence[str],
    cache: SpectrogramCache,
    scaled: bool = False,
    *,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """A whole split in memory: the arrays :func:`make_dataset` would yield, concatenated.

    Parameters
    ----------
    excerpts, classes, cache, scaled
        As for :func:`make_dataset`.
    progress : bool
        Show a progress bar.

    Returns
    -------
    x : numpy.ndarray
        float32 ``(n, n_bins, n_frames, 1)``.
    y : numpy.ndarray
        int32 ``(n,)`` class indices.
    """
    labels = label_indices(excerpts, classes)
    return _spectrograms(excerpts, cache, scaled, progress), labels
