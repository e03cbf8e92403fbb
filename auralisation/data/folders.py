"""A dataset folder: its excerpts (:func:`scan_folder`) and their split by track (:func:`split_by_track`)."""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
import numpy as np
import soundfile as sf

from ..audio import AUDIO_EXTENSIONS, DECODE_ERRORS, SILENCE_PEAK, AudioConfig, undecodable
from ..errors import AudioError, DatasetError, ParameterError

__all__ = ["DatasetWarning", "Excerpt", "Splits", "scan_folder", "split_by_track"]

_PROBE_FRAMES = 16384

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
