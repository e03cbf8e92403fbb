"""A clip as the package sees it: its waveform, its STFT ``X`` and the network's input ``|X|``, loaded once.

:class:`Clip` sits beside the audio front end (:mod:`auralisation.audio`, which loads, crops and transforms): the
explorer, the report and the layer maps (:mod:`auralisation.features`) all take one.

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig
>>> config = AudioConfig(duration=0.5)
>>> clip = Clip.from_waveform(np.zeros(config.n_samples), config, name="silence")
>>> clip.S.shape == (config.n_bins, config.n_frames)
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .audio import AudioConfig, load_clip, stft
from .errors import AudioError

__all__ = ["Clip", "Clips"]


@dataclasses.dataclass(frozen=True)
class Clip:
    """A loaded clip with its STFT.

    Attributes
    ----------
    name : str
        What the explorer and reports call it (the file's stem by default).
    key : str
        Identifies the audio for caching: the resolved path and its modification time.
    y : numpy.ndarray
        The waveform, float32 ``(config.n_samples,)``.
    X : numpy.ndarray
        Its complex STFT ``(n_bins, n_frames)``.
    S : numpy.ndarray
        ``|X|``, the network's input (linear magnitude), float32.
    config : AudioConfig
    source : pathlib.Path or None
        The file it was loaded from.
    """

    name: str
    key: str
    y: np.ndarray = dataclasses.field(repr=False)
    X: np.ndarray = dataclasses.field(repr=False)
    S: np.ndarray = dataclasses.field(repr=False)
    config: AudioConfig = dataclasses.field(repr=False)
    source: Path | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str], config: AudioConfig, *, name: str | None = None) -> "Clip":
        """Load the first ``config.duration`` seconds of ``path`` (see :func:`auralisation.audio.load_clip`).

        Raises
        ------
        AudioError
            The file is missing, unreadable, or of an unknown type.
        """
        path = Path(path).expanduser()
        y = load_clip(path, config)
        key = f"{path.resolve()}@{path.stat().st_mtime_ns}"
        return cls.from_waveform(y, config, name=name or path.stem, key=key, source=path)

    @classmethod
    def from_waveform(
        cls, y: np.ndarray, config: AudioConfig, *, name: str, key: str | None = None, source: Path | None = None
    ) -> "Clip":
        """A clip from a waveform of exactly ``config.n_samples`` samples at ``config.sr`` (keyed by its content)."""
        y = np.asarray(y, dtype=np.float32)
        if y.shape != (config.n_samples,):
            raise AudioError(
                f"clip {name!r}: expected {config.n_samples} samples ({config.duration} s at {config.sr} Hz), got "
                f"shape {y.shape}; load it with auralisation.audio.load_clip"
            )
        X = stft(y, config)
        key = key or f"{name}#{hashlib.sha1(y.tobytes()).hexdigest()[:12]}"
        return cls(name, key, y, X, np.abs(X).astype(np.float32), config, source)


class Clips:
    """Named clips, in the order added: waveforms held at once, files loaded on first use; names kept unique.

    Parameters
    ----------
    config : AudioConfig
        How every clip is loaded.

    Examples
    --------
    >>> import numpy as np
    >>> from auralisation.audio import AudioConfig
    >>> clips = Clips(AudioConfig(duration=0.5))
    >>> clips.add("tone", np.zeros(clips.config.n_samples)), clips.add("tone", np.zeros(clips.config.n_samples))
    ('tone', 'tone (2)')
    >>> list(clips), clips["tone (2)"].name
    (['tone', 'tone (2)'], 'tone (2)')
    """

    def __init__(self, config: AudioConfig) -> None:
        self.config = config
        self._paths: dict[str, Path | None] = {}
        self._loaded: dict[str, Clip] = {}

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def unique(self, name: str) -> str:
        """``name``, or ``name (2)``, ``name (3)``... if it is taken."""
        candidate, n = name, 1
        while candidate in self._paths:
            n += 1
            candidate = f"{name} ({n})"
        return candidate

    def add(self, name: str, source: str | os.PathLike[str] | np.ndarray, *, load: bool = False) -> str:
        """Add a waveform or an audio file under ``name`` (made unique); return the name it got.

        A file is read on first use, or at once with ``load`` (so that a bad file raises here and is not added).

        Raises
        ------
        AudioError
            A waveform of the wrong length; with ``load``, a missing or unreadable file.
        """
        key = self.unique(name)
        if isinstance(source, np.ndarray):
            self._loaded[key] = Clip.from_waveform(source, self.config, name=key)
            self._paths[key] = None
        else:
            if load:
                self._loaded[key] = Clip.load(source, self.config, name=key)
            self._paths[key] = Path(source)
        return key

    def __getitem__(self, name: str) -> Clip:
        """The clip ``name``, loaded on first use.

        Raises
        ------
        AudioError
            Its file is missing or unreadable.
        """
        if name not in self._loaded:
            self._loaded[name] = Clip.load(self._paths[name], self.config, name=name)
        return self._loaded[name]
