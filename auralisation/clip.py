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
from pathlib import Path

import numpy as np

from .audio import AudioConfig, load_clip, stft
from .errors import AudioError

__all__ = ["Clip"]


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

