"""Datasets: labelled tracks in a folder, excerpts, splits by track, a spectrogram cache and ``tf.data`` pipelines.

A dataset is a folder with one sub-folder of audio files per label, as GTZAN ships it
(``genres/<genre>/<genre>.000NN.au``)::

    root/
        blues/blues.00000.au
        blues/blues.00001.au
        ...
        jazz/jazz.00000.au

:func:`scan_folder` turns it into a list of :class:`Excerpt` (a track, its label and the start of a
``config.duration``-second clip), reading only what it needs to know each track's length. :func:`split_by_track`
splits the excerpts into training, validation and test sets so that no track lends excerpts to two of them.
:class:`SpectrogramCache` decodes each excerpt once and keeps its magnitude spectrogram on disk, so that a second
epoch or a second run decodes no audio; :func:`make_dataset` and :func:`to_arrays` feed it to Keras.

Nothing is downloaded: point :func:`scan_folder` at your own copy of a dataset.

Examples
--------
>>> from auralisation.audio import AudioConfig
>>> from auralisation.data import SpectrogramCache, make_dataset, scan_folder, split_by_track
>>> config = AudioConfig()
>>> classes, excerpts = scan_folder("data/genres", config)                    # doctest: +SKIP
>>> splits = split_by_track(excerpts, seed=0)                                 # doctest: +SKIP
>>> cache = SpectrogramCache("data/cache", config)                            # doctest: +SKIP
>>> train = make_dataset(splits.train, classes, cache, shuffle=True)          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import threading
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from .audio import (
    AUDIO_EXTENSIONS,
    DECODE_ERRORS,
    SILENCE_PEAK,
    AudioConfig,
    compress,
    load_clip,
    magnitude,
    undecodable,
)
from .errors import AudioError, DatasetError, ParameterError
from .fileio import atomic_path, atomic_write_text

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "DatasetWarning",
    "Excerpt",
    "SpectrogramCache",
    "Splits",
    "label_indices",
    "make_dataset",
    "scan_folder",
    "split_by_track",
    "to_arrays",
]

#: Frames read at a time while checking that a track is not entirely silent.
_PROBE_FRAMES = 16384

#: Version of the cache's file layout; changing it invalidates every cache folder.
_CACHE_FORMAT = 1


class DatasetWarning(UserWarning):
    """A dataset was usable but not entirely (a file skipped, a cache entry rebuilt)."""


@dataclasses.dataclass(frozen=True)
class Excerpt:
    """One ``config.duration``-second clip of a labelled track.

    Attributes
    ----------
    path : pathlib.Path
        The track's audio file.
    label : str
        The track's class (its folder's name).
    offset : float
        Start of the clip in seconds from the start of the track.
    """

    path: Path
    label: str
    offset: float

    @property
    def track(self) -> str:
        """The track this excerpt comes from (its path as a string); splits never share a track."""
        return str(self.path)


@dataclasses.dataclass
class Splits:
    """Excerpts for training, validation and test; no track lends excerpts to two of them."""

    train: list[Excerpt]
    validation: list[Excerpt]
    test: list[Excerpt]


def scan_folder(
    root: str | os.PathLike[str], config: AudioConfig, *, hop: float | None = None
) -> tuple[list[str], list[Excerpt]]:
    """List the labels and the excerpts of a folder laid out as ``root/<label>/<track>.<ext>``.

    Each track gives excerpts of ``config.duration`` seconds starting every ``hop`` seconds for as long as a whole
    excerpt fits; a track shorter than one excerpt gives one excerpt, which :func:`auralisation.audio.load_clip`
    pads with silence (and an :class:`~auralisation.audio.AudioWarning`) when it is decoded.

    Track lengths come from the file headers; the audio itself is read only until its first non-silent block,
    to skip tracks that are entirely silent. Files that cannot be read (GTZAN's known corrupt
    ``jazz.00054.wav``, say), empty files and entirely silent tracks are skipped with a :class:`DatasetWarning`
    naming them. Hidden files and folders (names starting with ``.``), files with other extensions, files at the
    top level of ``root`` and folders nested inside label folders are ignored.

    Parameters
    ----------
    root : path-like
        The dataset folder, with one sub-folder of audio files (:data:`~auralisation.audio.AUDIO_EXTENSIONS`)
        per label; GTZAN's ``genres/`` folder, for instance.
    config : AudioConfig
        Gives the excerpt length ``config.duration``.
    hop : float, optional
        Seconds between the starts of consecutive excerpts of a track; ``config.duration`` (no overlap) by
        default.

    Returns
    -------
    classes : list of str
        The label folders' names, sorted; a label's index in this list is its class index.
    excerpts : list of Excerpt
        Every excerpt, ordered by label, track and offset.

    Raises
    ------
    DatasetError
        ``root`` is missing or holds no label folder, a label folder holds no usable audio, there are fewer than
        two labels, or ``hop`` is not positive.
    """
    root = Path(root)
    hop = config.duration if hop is None else float(hop)
    if not hop > 0:
        raise ParameterError(f"hop must be a positive number of seconds, got {hop}")
    if not root.is_dir():
        raise DatasetError(
            f"{root}: no such dataset folder; pass a folder with one sub-folder of audio files per label "
            "(GTZAN's genres/ folder, for instance)"
        )
    label_folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not label_folders:
        loose = [p.name for p in root.iterdir() if _is_audio_file(p)]
        hint = f"; it holds {len(loose)} audio files directly, move them" if loose else "; put the audio"
        raise DatasetError(f"{root}: the dataset folder holds no label folders{hint} into one sub-folder per label")
    if len(label_folders) < 2:
        raise DatasetError(
            f"{root}: only one label folder ({label_folders[0].name!r}); a classifier needs at least two, "
            "so add a folder of audio for another label"
        )
    excerpts: list[Excerpt] = []
    for folder in label_folders:
        excerpts.extend(_scan_label(folder, config.duration, hop))
    return [folder.name for folder in label_folders], excerpts


def _is_audio_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in AUDIO_EXTENSIONS


def _scan_label(folder: Path, duration: float, hop: float) -> list[Excerpt]:
    """Excerpts of every usable track in one label folder."""
    files = sorted(p for p in folder.iterdir() if _is_audio_file(p))
    if not files:
        others = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        found = f"it holds {len(others)} other entries, such as {others[0]!r}" if others else "it is empty"
        raise DatasetError(
            f"{folder}: the label folder holds no audio files ({', '.join(AUDIO_EXTENSIONS)}); {found}. "
            "Add audio to it (converting other formats), or remove the folder"
        )
    excerpts = []
    for path in files:
        try:
            seconds = _track_seconds(path)
        except AudioError as error:
            warnings.warn(f"skipping {error}", DatasetWarning, stacklevel=3)
            continue
        excerpts.extend(Excerpt(path, folder.name, offset) for offset in _offsets(seconds, duration, hop))
    if not excerpts:
        raise DatasetError(
            f"{folder}: none of its {len(files)} audio files is usable (see the warnings); replace them or "
            "remove the folder"
        )
    return excerpts


def _track_seconds(path: Path) -> float:
    """Length of a track from its header; :class:`AudioError` if it is unreadable, empty or entirely silent."""
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes); replace it or delete it from the dataset")
    try:
        with sf.SoundFile(path) as handle:
            if handle.frames <= 0 or handle.samplerate <= 0:
                raise AudioError(f"{path}: the file holds no samples; replace it or delete it from the dataset")
            seconds = handle.frames / handle.samplerate
            for block in handle.blocks(blocksize=_PROBE_FRAMES, dtype="float32", always_2d=True):
                if not np.all(np.isfinite(block)):
                    raise AudioError(
                        f"{path}: contains NaN or infinite samples; re-export it or delete it from the dataset"
                    )
                if np.max(np.abs(block)) >= SILENCE_PEAK:
                    return seconds
    except AudioError:
        raise
    except DECODE_ERRORS as error:
        raise undecodable(path, error) from error
    raise AudioError(f"{path}: the whole track is silent; replace it or delete it from the dataset")


def _offsets(track_seconds: float, duration: float, hop: float) -> list[float]:
    """Starts of the excerpts that fit in a track (one at 0 when none fits whole)."""
    if track_seconds < duration:
        return [0.0]
    count = math.floor((track_seconds - duration) / hop + 1e-9) + 1
    return [round(k * hop, 6) for k in range(count)]


def split_by_track(
    excerpts: Sequence[Excerpt], *, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 0
) -> Splits:
    """Split excerpts into training, validation and test sets by track, stratified per label.

    The tracks of each label are shuffled with ``seed`` and dealt out in proportion to ``fractions``; all
    excerpts of a track go to the same set. A label with at least as many tracks as there are sets with a
    positive fraction has at least one track in each of them (so, with the default fractions, every label with
    three or more tracks appears in all three sets); a label with fewer tracks fills the training set first, then
    the others in order.

    Parameters
    ----------
    excerpts : sequence of Excerpt
        Usually :func:`scan_folder`'s output.
    fractions : (float, float, float)
        Shares of each label's tracks for training, validation and test: non-negative, summing to 1, with a
        positive training share.
    seed : int
        Seed of the shuffle; the same seed and excerpts always give the same split.

    Returns
    -------
    Splits
        Each set keeps the excerpts in their input order.

    Raises
    ------
    DatasetError
        ``fractions`` are invalid, or one track appears under two labels.
    """
    shares = np.asarray(fractions, dtype=float)
    if shares.shape != (3,) or np.any(shares < 0) or shares[0] <= 0 or not math.isclose(shares.sum(), 1.0):
        raise DatasetError(
            f"fractions must be three non-negative shares (train, validation, test) summing to 1 with a positive "
            f"training share, got {fractions}"
        )
    tracks_by_label: dict[str, set[str]] = defaultdict(set)
    label_of: dict[str, str] = {}
    for excerpt in excerpts:
        if label_of.setdefault(excerpt.track, excerpt.label) != excerpt.label:
            raise DatasetError(
                f"{excerpt.track}: the track appears under two labels ({label_of[excerpt.track]!r} and "
                f"{excerpt.label!r}); give each track one label"
            )
        tracks_by_label[excerpt.label].add(excerpt.track)
    rng = np.random.default_rng(seed)
    split_of: dict[str, int] = {}
    for label in sorted(tracks_by_label):
        tracks = sorted(tracks_by_label[label])
        order = rng.permutation(len(tracks))
        counts = _allocate(len(tracks), shares)
        bounds = np.cumsum(counts)
        for position, track_index in enumerate(order):
            split_of[tracks[track_index]] = int(np.searchsorted(bounds, position, side="right"))
    sets: tuple[list[Excerpt], list[Excerpt], list[Excerpt]] = ([], [], [])
    for excerpt in excerpts:
        sets[split_of[excerpt.track]].append(excerpt)
    return Splits(*sets)


def _allocate(n: int, shares: np.ndarray) -> np.ndarray:
    """Split ``n`` items by ``shares`` (largest remainder), giving each positive share one item where possible."""
    raw = n * shares
    counts = np.floor(raw).astype(int)
    for index in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[index] += 1
    wanting = [i for i in np.flatnonzero(shares > 0) if counts[i] == 0]
    for index in wanting:
        donor = int(np.argmax(counts))
        if counts[donor] <= 1:
            break
        counts[donor] -= 1
        counts[index] += 1
    if counts[0] == 0 and n > 0:
        counts[int(np.argmax(counts))] -= 1
        counts[0] += 1
    return counts


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

    dataset = tf.data.Dataset.from_tensor_slices((np.arange(len(excerpts), dtype=np.int64), labels))
    if shuffle:
        dataset = dataset.shuffle(len(excerpts), seed=seed, reshuffle_each_iteration=True)
    return (
        dataset.batch(batch_size)
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
