"""The corpus an atlas is built over: every excerpt of a GTZAN-style folder or of a list of files.

:func:`scan_corpus` reads only file headers (and each track's first non-silent block, as
:func:`auralisation.data.scan_folder` does), so scanning 25,000 clips costs seconds and holds no audio. Unlike
``scan_folder`` it does not need two labels (an atlas needs no classes) and it never stops on a bad file: every
unreadable, empty or silent file is kept in :attr:`Corpus.skipped` with the reason, for the site to list.

Examples
--------
>>> from auralisation.audio import AudioConfig
>>> corpus = scan_corpus("data/genres", AudioConfig())          # doctest: +SKIP
>>> len(corpus.excerpts), corpus.skipped[:1]                   # doctest: +SKIP
(7992, [Skipped(path='data/genres/jazz/jazz.00054.wav', reason='... cannot be decoded as audio ...')])
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import soundfile as sf

from ..audio import AUDIO_EXTENSIONS, AudioConfig
from ..data import Excerpt, _is_audio_file, _offsets, _track_seconds
from ..errors import AudioError, DatasetError, ParameterError

__all__ = ["Corpus", "Skipped", "scan_corpus"]


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A file (or one excerpt of it) left out of the atlas, and why."""

    path: str
    reason: str


@dataclasses.dataclass
class Corpus:
    """The excerpts of a corpus, in a fixed order, and what was left out.

    Attributes
    ----------
    excerpts : list of Excerpt
        Every excerpt, sorted by path, then offset: an excerpt's index in this list is its id in the atlas, and
        ties between equal activations go to the smaller index.
    skipped : list of Skipped
        Files that could not be used (unreadable, empty, entirely silent, missing).
    rates : dict of int to int
        Native sample rate (Hz) -> number of tracks at that rate; tracks at another rate than the model's are
        resampled, as in training.
    seconds : tuple of float
        The shortest and the longest track, in seconds.
    config : AudioConfig
        The model's front end: excerpts are ``config.duration`` seconds long.
    hop : float
        Seconds between the starts of consecutive excerpts of a track.
    """

    excerpts: list[Excerpt]
    skipped: list[Skipped]
    rates: dict[int, int]
    seconds: tuple[float, float]
    config: AudioConfig
    hop: float

    @property
    def labels(self) -> list[str]:
        """The labels of the excerpts, sorted."""
        return sorted({excerpt.label for excerpt in self.excerpts})

    @property
    def n_tracks(self) -> int:
        """Tracks that gave at least one excerpt."""
        return len({excerpt.track for excerpt in self.excerpts})

    def fingerprint(self) -> str:
        """A hash of every excerpt and of each track's size and modification time: a changed corpus changes it."""
        stats = {}
        for excerpt in self.excerpts:
            if excerpt.track not in stats:
                info = os.stat(excerpt.path)
                stats[excerpt.track] = [info.st_size, info.st_mtime_ns]
        payload = json.dumps(
            [[e.track, e.label, e.offset, *stats[e.track]] for e in self.excerpts] + [self.hop], sort_keys=True
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def notes(self) -> list[str]:
        """What the site should say about how the corpus was read (resampling, excerpting)."""
        config = self.config
        other = {rate: n for rate, n in self.rates.items() if rate != config.sr}
        lines = []
        if other:
            found = ", ".join(f"{n} at {rate} Hz" for rate, n in sorted(other.items()))
            lines.append(f"{found}: resampled to the model's {config.sr} Hz with librosa, as in training.")
        shortest, longest = self.seconds
        short = " Tracks shorter than one excerpt are padded with silence." if shortest < config.duration else ""
        lines.append(
            f"Tracks of {shortest:.1f} to {longest:.1f} s, cut into excerpts of the model's {config.duration:g} s "
            f"every {self.hop:g} s (as in training).{short}"
        )
        return lines


def _label_files(folder: Path) -> list[tuple[Path, str]]:
    """``(file, label)`` of a GTZAN-style folder: its label sub-folders' audio, and its own audio under its name."""
    entries = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            entries.extend((path, entry.name) for path in sorted(entry.iterdir()) if _is_audio_file(path))
        elif _is_audio_file(entry):
            entries.append((entry, folder.name))
    return entries


def scan_corpus(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], config: AudioConfig, *,
    hop: float | None = None,
) -> Corpus:
    """The excerpts of a corpus: a folder laid out as ``root/<label>/<track>`` (GTZAN), or a list of files.

    Parameters
    ----------
    sources : path-like or sequence of path-like
        A corpus folder, or several folders and audio files. An audio file's label is the name of the folder it is
        in: a label folder of a GTZAN-style corpus, a listed file's folder, or a listed folder that holds audio
        itself (``genres/blues``, say).
    config : AudioConfig
        The model's front end: its ``duration`` is the excerpt length.
    hop : float, optional
        Seconds between excerpt starts; ``config.duration`` (no overlap, as training cut them) by default.

    Returns
    -------
    Corpus

    Raises
    ------
    DatasetError
        A listed folder or file does not exist, ``hop`` is not positive, or no usable excerpt was found.
    """
    hop = config.duration if hop is None else float(hop)
    if not hop > 0:
        raise ParameterError(f"hop must be a positive number of seconds, got {hop}")
    items = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    if not items:
        raise DatasetError("no corpus given; pass a folder of audio (GTZAN's genres/, say) or audio files")
    files: list[tuple[Path, str]] = []
    for item in map(Path, items):
        if item.is_dir():
            files.extend(_label_files(item))
        elif item.is_file():
            files.append((item, item.parent.name))
        else:
            raise DatasetError(f"{item}: no such folder or file; pass a corpus folder or audio files")
    excerpts: list[Excerpt] = []
    skipped: list[Skipped] = []
    rates: Counter[int] = Counter()
    lengths: list[float] = []
    for path, label in dict.fromkeys(files):
        if path.suffix.lower() not in AUDIO_EXTENSIONS:
            skipped.append(Skipped(str(path), f"not an audio file ({', '.join(AUDIO_EXTENSIONS)})"))
            continue
        try:
            seconds = _track_seconds(path)
            rates[sf.info(path).samplerate] += 1
        except (AudioError, OSError) as error:
            skipped.append(Skipped(str(path), str(error)))
            continue
        lengths.append(seconds)
        excerpts.extend(Excerpt(path, label, offset) for offset in _offsets(seconds, config.duration, hop))
    if not excerpts:
        where = ", ".join(map(str, items))
        found = f"; {len(skipped)} files were unusable, the first: {skipped[0].reason}" if skipped else ""
        raise DatasetError(
            f"{where}: no usable audio ({', '.join(AUDIO_EXTENSIONS)}) found{found}; an atlas needs at least one "
            "excerpt"
        )
    excerpts.sort(key=lambda excerpt: (excerpt.track, excerpt.offset))
    return Corpus(excerpts, skipped, dict(sorted(rates.items())), (min(lengths), max(lengths)), config, hop)
