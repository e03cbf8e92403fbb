"""Shared test fixtures: small synthetic audio files and dataset folders written into ``tmp_path``.

Nothing here downloads anything; every sound is generated with numpy and written with soundfile.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from auralisation.audio import AudioConfig  # noqa: E402

#: soundfile format for each extension the tests write.
_FORMATS = {".wav": "WAV", ".au": "AU", ".flac": "FLAC", ".ogg": "OGG"}


def tone(frequency: float, seconds: float, sr: int, amplitude: float = 0.5, phase: float = 0.0) -> np.ndarray:
    """A sine wave, float32."""
    t = np.arange(int(round(seconds * sr))) / sr
    return (amplitude * np.sin(2 * np.pi * frequency * t + phase)).astype(np.float32)


def write_audio(path: str | os.PathLike[str], y: np.ndarray, sr: int, subtype: str | None = None) -> Path:
    """Write ``y`` (samples, or samples x channels) to ``path`` in the format its extension names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, format=_FORMATS[path.suffix.lower()], subtype=subtype)
    return path


def make_audio_folder(
    root: str | os.PathLike[str],
    labels: Sequence[str] = ("blues", "jazz", "rock"),
    tracks_per_label: int = 3,
    seconds: float = 9.0,
    sr: int = 11025,
    ext: str = ".wav",
    seed: int = 0,
) -> Path:
    """A dataset folder in GTZAN's naming, ``root/<label>/<label>.000NN<ext>``.

    Label ``i`` is a tone at ``220 * (i + 1)`` Hz plus a little noise, different in every track, so that the
    labels are easy to tell apart.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for i, label in enumerate(labels):
        for n in range(tracks_per_label):
            y = tone(220.0 * (i + 1), seconds, sr, amplitude=0.4, phase=rng.uniform(0, np.pi))
            y += 0.05 * rng.standard_normal(len(y)).astype(np.float32)
            write_audio(root / label / f"{label}.{n:05d}{ext}", y, sr)
    return root


@pytest.fixture
def config() -> AudioConfig:
    """The paper's configuration (11,025 Hz, n_fft 512, hop 256, 4 s)."""
    return AudioConfig()


@pytest.fixture(name="tone")
def tone_fixture() -> Callable[..., np.ndarray]:
    """:func:`tone` as a fixture: ``tone(frequency, seconds, sr, amplitude=0.5, phase=0.0)``."""
    return tone


@pytest.fixture(name="write_audio")
def write_audio_fixture() -> Callable[..., Path]:
    """:func:`write_audio` as a fixture: ``write_audio(path, y, sr, subtype=None)``."""
    return write_audio


@pytest.fixture(name="make_audio_folder")
def make_audio_folder_fixture() -> Callable[..., Path]:
    """:func:`make_audio_folder` as a fixture."""
    return make_audio_folder


@pytest.fixture
def audio_folder(tmp_path: Path) -> Path:
    """Three labels of three 9 s tracks (two 4 s excerpts each) at 11,025 Hz, WAV, in ``tmp_path/dataset``."""
    return make_audio_folder(tmp_path / "dataset")
