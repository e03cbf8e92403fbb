"""The audio front end: one configuration, one way to load, transform and write audio.

Everything that turns a waveform into the network's input, or a deconvolved spectrogram back into sound, goes
through the functions here with one :class:`AudioConfig`, so that a spectrogram, a model and an auralisation can
never disagree about the sample rate or the hop length. librosa and soundfile do the work.

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig, stft, istft
>>> config = AudioConfig()
>>> config.input_shape
(257, 173, 1)
>>> y = np.random.default_rng(0).standard_normal(config.n_samples).astype(np.float32)
>>> X = stft(y, config)
>>> X.shape
(257, 173)
>>> bool(np.allclose(istft(X, config), y, atol=1e-4))
True
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import librosa
import numpy as np
import soundfile as sf

from .errors import AudioError, ConfigError, ParameterError
from .fileio import atomic_path, atomic_write_text

__all__ = [
    "AUDIO_EXTENSIONS", "SCALINGS", "AudioConfig", "AudioWarning", "FrontEnd", "compress", "istft", "load_clip",
    "magnitude", "stft", "write_wav",
]

#: File extensions the loader reads (through libsndfile; mp3 needs libsndfile 1.1 or newer).
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".au", ".flac", ".ogg", ".mp3")

#: Peak amplitude below which a clip counts as silent.
SILENCE_PEAK = 1e-6

#: The magnitude compressions a model may apply (:attr:`AudioConfig.scaling`).
SCALINGS: tuple[str, ...] = ("linear", "log", "db", "log10k")

#: Smallest magnitude the ``"db"`` scaling distinguishes (-100 dB), librosa's ``amplitude_to_db`` ``amin``.
DB_FLOOR = 1e-5

#: What a model may take as its input (:attr:`FrontEnd.input`).
FRONT_END_INPUTS: tuple[str, ...] = ("magnitude", "filterbank", "waveform")

#: The filterbanks a front end may apply (:attr:`FrontEnd.filterbank`).
FILTERBANKS: tuple[str, ...] = ("none", "mel")


class AudioWarning(UserWarning):
    """A clip was usable but not as expected (padded, silent, resampled from an odd rate)."""


@dataclasses.dataclass(frozen=True)
class FrontEnd:
    """What the model takes and which filterbank lies between the linear STFT and its first convolution.

    Saved inside :class:`AudioConfig` (its ``frontend`` field), so that everything that explains a saved model (the
    CLI, the explorer, the report, the analyses) knows how to bring a deconvolved map back to the clip's linear
    STFT without asking the user; :mod:`auralisation.frontends` does the work. A config saved before front ends
    existed has none of these fields and reads as the default: the linear magnitude, no filterbank.

    Parameters
    ----------
    input : {"magnitude", "filterbank", "waveform"}
        What the model's input is: the linear magnitude ``|X|`` ``(n_bins, n_frames, 1)`` (the filterbank, if any,
        is a layer inside the model); the filterbank's output computed outside the model ``(n_mels, n_frames, 1)``;
        or the waveform ``(n_samples, 1)``, turned into a spectrogram by a Keras ``STFTSpectrogram`` or
        ``MelSpectrogram`` layer inside the model.
    filterbank : {"none", "mel"}
        ``"mel"``: librosa's mel filterbank (Slaney scale and area normalisation) applied to the magnitude, a
        linear map from ``n_bins`` to ``n_mels`` bands.
    n_mels : int
        Mel bands (96 in Choi et al. 2017).
    fmin, fmax : float
        Lowest and highest frequency of the mel filterbank in Hz; ``fmax`` ``None`` means ``sr / 2``.
    power : float
        Exponent of the magnitude the filterbank takes: 1 (the magnitude, the default) or 2 (the power, as
        librosa's ``melspectrogram`` and the musicnn taggers); a :class:`auralisation.models.Power` layer inside the
        model applies it.

    Examples
    --------
    >>> FrontEnd(filterbank="mel", n_mels=96).bands(n_bins=257)
    96
    >>> FrontEnd().bands(n_bins=257)
    257
    """

    input: Literal["magnitude", "filterbank", "waveform"] = "magnitude"
    filterbank: Literal["none", "mel"] = "none"
    n_mels: int = 96
    fmin: float = 0.0
    fmax: float | None = None
    power: float = 1.0

    def problems(self, sr: int) -> list[str]:
        """What is wrong with this front end at sample rate ``sr`` (empty when nothing is)."""
        problems = []
        if self.input not in FRONT_END_INPUTS:
            problems.append(f"frontend.input must be one of {FRONT_END_INPUTS}, got {self.input!r}")
        if self.filterbank not in FILTERBANKS:
            problems.append(f"frontend.filterbank must be one of {FILTERBANKS}, got {self.filterbank!r}")
        if self.input == "filterbank" and self.filterbank == "none":
            problems.append("frontend.input 'filterbank' needs a filterbank (frontend.filterbank='mel')")
        if not self.power > 0:
            problems.append(f"frontend.power must be positive, got {self.power}")
        if self.n_mels < 1:
            problems.append(f"frontend.n_mels must be at least 1, got {self.n_mels}")
        top = sr / 2 if self.fmax is None else self.fmax
        if not 0 <= self.fmin < top:
            problems.append(f"frontend.fmin must lie in [0, fmax={top:g}) Hz, got {self.fmin:g}")
        if top > sr / 2:
            problems.append(
                f"frontend.fmax {top:g} Hz lies above the Nyquist frequency {sr / 2:g} Hz, where the STFT has no "
                "bins; lower fmax or raise sr"
            )
        return problems

    def bands(self, n_bins: int) -> int:
        """Rows of the spectrogram the first convolution sees: ``n_mels`` with a filterbank, else ``n_bins``."""
        return n_bins if self.filterbank == "none" else self.n_mels

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "FrontEnd":
        """Build a front end from ``dataclasses.asdict``'s output, refusing unknown keys."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"unknown FrontEnd fields {unknown}; known fields are {sorted(known)}")
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class AudioConfig:
    """How audio becomes the network's input; saved beside every model.

    Parameters
    ----------
    sr : int
        Sample rate in Hz that every clip is resampled to.
    n_fft : int
        FFT size of the STFT; the spectrogram has ``n_fft // 2 + 1`` frequency bins.
    hop_length : int
        Hop between STFT frames, in samples.
    win_length : int or None
        Window length in samples; ``None`` means ``n_fft``.
    window : str
        Window name understood by :func:`scipy.signal.get_window` (the paper used Hann).
    center : bool
        Whether frames are centred (the signal is padded by ``n_fft // 2`` on both sides).
    duration : float
        Length of one clip (an excerpt) in seconds.
    scaling : {"log", "linear", "db", "log10k"}
        Compression of the magnitude (or of the filterbank's output) before the first convolution: ``"log"`` is
        ``log(1 + |X|)``, ``"db"`` is ``20 log10(max(|X|, 1e-5))`` (librosa's ``amplitude_to_db`` without
        ``top_db``), ``"log10k"`` is ``log10(1 + 10000 x)`` (the musicnn taggers'), ``"linear"`` is ``|X|`` itself. Models apply it as a layer so that deconvolution reaches the
        magnitude. The paper is silent on which one training used; linear is the default because it trained
        better on the bundled default dataset (100% of test excerpts against 94.4% for log, same seed and 14
        epochs), and it is what the authors' code fed to the deconvolution.
    frontend : FrontEnd
        The model's input and filterbank (default: the linear magnitude, no filterbank, as in the paper).

    Examples
    --------
    >>> AudioConfig().n_frames
    173
    >>> AudioConfig.from_json(AudioConfig(scaling="log").to_json()).scaling
    'log'
    >>> AudioConfig(frontend=FrontEnd(filterbank="mel", n_mels=96)).input_shape
    (257, 173, 1)
    """

    sr: int = 11025
    n_fft: int = 512
    hop_length: int = 256
    win_length: int | None = None
    window: str = "hann"
    center: bool = True
    duration: float = 4.0
    scaling: Literal["log", "linear", "db", "log10k"] = "linear"
    frontend: FrontEnd = FrontEnd()

    def __post_init__(self) -> None:
        problems = []
        if self.sr <= 0:
            problems.append(f"sr must be positive, got {self.sr}")
        if self.n_fft <= 0:
            problems.append(f"n_fft must be positive, got {self.n_fft}")
        if self.hop_length <= 0:
            problems.append(f"hop_length must be positive, got {self.hop_length}")
        if self.win_length is not None and not 0 < self.win_length <= self.n_fft:
            problems.append(f"win_length must lie in 1..n_fft={self.n_fft}, got {self.win_length}")
        if self.duration <= 0:
            problems.append(f"duration must be positive, got {self.duration}")
        if self.scaling not in SCALINGS:
            problems.append(f"scaling must be one of {SCALINGS}, got {self.scaling!r}")
        if not isinstance(self.frontend, FrontEnd):
            problems.append(f"frontend must be a FrontEnd, got {type(self.frontend).__name__}")
        else:
            problems.extend(self.frontend.problems(self.sr))
        if problems:
            raise ParameterError("invalid AudioConfig: " + "; ".join(problems))

    @property
    def n_samples(self) -> int:
        """Samples in one clip: ``round(duration * sr)``."""
        return int(round(self.duration * self.sr))

    @property
    def n_bins(self) -> int:
        """Frequency bins of the spectrogram: ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @property
    def n_frames(self) -> int:
        """STFT frames of one clip."""
        if self.center:
            return 1 + self.n_samples // self.hop_length
        return 1 + (self.n_samples - self.n_fft) // self.hop_length

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one network input: ``(n_bins, n_frames, 1)`` for the magnitude (the default),
        ``(n_mels, n_frames, 1)`` for a filterbank computed outside the model, ``(n_samples, 1)`` for a waveform."""
        if self.frontend.input == "waveform":
            return (self.n_samples, 1)
        if self.frontend.input == "filterbank":
            return (self.frontend.n_mels, self.n_frames, 1)
        return (self.n_bins, self.n_frames, 1)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dictionary."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "AudioConfig":
        """Build a config from :meth:`to_dict`'s output, refusing unknown keys (a missing ``frontend``, as in a
        config saved before front ends existed, is the default one)."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"unknown AudioConfig fields {unknown}; known fields are {sorted(known)}")
        values = dict(values)
        if isinstance(values.get("frontend"), dict):
            values["frontend"] = FrontEnd.from_dict(values["frontend"])
        return cls(**values)

    def to_json(self) -> str:
        """The config as a JSON string."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "AudioConfig":
        """Parse :meth:`to_json`'s output."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the config as JSON to ``path`` atomically; return the path."""
        path = Path(path)
        atomic_write_text(path, self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "AudioConfig":
        """Read a config written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"no audio config at {path}: it is written beside a saved model as JSON")
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, TypeError, ValueError) as error:
            raise ConfigError(
                f"{path} is not a valid AudioConfig JSON file ({error}); restore it or save the model again"
            ) from error


#: What soundfile raises on a file it cannot decode.
DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, TypeError, ValueError)


def undecodable(path: str | os.PathLike[str], error: Exception) -> AudioError:
    """The :class:`AudioError` for a file that soundfile failed to decode with ``error``."""
    return AudioError(
        f"{path}: cannot be decoded as audio ({error}); the file is corrupt or not audio: replace it, or "
        "delete it from the dataset"
    )


def load_clip(
    path: str | os.PathLike[str],
    config: AudioConfig,
    offset: float = 0.0,
    *,
    silence: Literal["warn", "error", "allow"] = "warn",
) -> np.ndarray:
    """Load ``config.duration`` seconds of a file as mono float32 at ``config.sr``.

    The audio is downmixed (channel mean), resampled with librosa, and zero-padded at the end (with an
    :class:`AudioWarning`) or cropped to exactly ``config.n_samples`` samples.

    Parameters
    ----------
    path : path-like
        An audio file in one of :data:`AUDIO_EXTENSIONS`.
    config : AudioConfig
        Sample rate and duration of the clip.
    offset : float
        Start of the clip in seconds from the start of the file.
    silence : {"warn", "error", "allow"}
        What to do when the clip is silent (peak below 1e-6): warn, raise :class:`AudioError`, or accept it.

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(config.n_samples,)``.

    Raises
    ------
    AudioError
        The file is missing, empty, unreadable, has an unknown extension, holds NaN or infinite samples, starts
        after ``offset`` ends, or is silent with ``silence="error"``.
    """
    path = Path(path)
    if offset < 0:
        raise AudioError(f"{path}: offset must be >= 0 seconds, got {offset}")
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(
            f"{path}: unknown audio extension {path.suffix!r}; convert it to one of {', '.join(AUDIO_EXTENSIONS)}"
        )
    if not path.is_file():
        raise AudioError(f"{path}: no such file; check the path")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes); re-export or re-download it")
    try:
        with sf.SoundFile(path) as handle:
            native_sr = handle.samplerate
            start = int(round(offset * native_sr))
            if start >= handle.frames > 0 or (handle.frames == 0):
                raise AudioError(
                    f"{path}: the file lasts {handle.frames / native_sr:.2f} s, so nothing starts at offset "
                    f"{offset:.2f} s; use a smaller offset"
                )
            handle.seek(start)
            wanted = int(np.ceil(config.duration * native_sr)) + 1
            data = handle.read(frames=wanted, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except DECODE_ERRORS as error:
        raise undecodable(path, error) from error
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{path}: contains NaN or infinite samples; re-export the file from its source")
    y = data.mean(axis=1)
    if native_sr != config.sr:
        y = librosa.resample(y, orig_sr=native_sr, target_sr=config.sr)
    y = np.asarray(y, dtype=np.float32)
    if len(y) < config.n_samples:
        warnings.warn(
            f"{path}: only {len(y) / config.sr:.2f} s from offset {offset:.2f} s, shorter than the "
            f"{config.duration:.2f} s clip; padded with silence",
            AudioWarning,
            stacklevel=2,
        )
        y = np.pad(y, (0, config.n_samples - len(y)))
    y = y[: config.n_samples]
    if np.max(np.abs(y)) < SILENCE_PEAK:
        message = f"{path}: the clip at offset {offset:.2f} s is silent"
        if silence == "error":
            raise AudioError(message + "; choose another file or offset")
        if silence == "warn":
            warnings.warn(message, AudioWarning, stacklevel=2)
    return y


def stft(y: np.ndarray, config: AudioConfig) -> np.ndarray:
    """Complex STFT of ``y`` (any leading batch axes) as complex64, shape ``(..., n_bins, n_frames)``."""
    return librosa.stft(
        np.asarray(y, dtype=np.float32),
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=config.window,
        center=config.center,
    ).astype(np.complex64)


def istft(X: np.ndarray, config: AudioConfig, length: int | None = None) -> np.ndarray:
    """Inverse STFT of ``X`` as float32; ``length`` defaults to ``config.n_samples``."""
    return librosa.istft(
        np.asarray(X),
        hop_length=config.hop_length,
        win_length=config.win_length,
        n_fft=config.n_fft,
        window=config.window,
        center=config.center,
        length=config.n_samples if length is None else length,
    ).astype(np.float32)


def magnitude(y: np.ndarray, config: AudioConfig) -> np.ndarray:
    """Linear magnitude spectrogram ``|stft(y)|`` as float32, shape ``(..., n_bins, n_frames)``."""
    return np.abs(stft(y, config)).astype(np.float32)


def compress(S: np.ndarray, scaling: Literal["log", "linear", "db", "log10k"]) -> np.ndarray:
    """Apply a config's magnitude ``scaling`` to a magnitude spectrogram: ``log(1 + S)``, ``S``,
    ``20 log10(max(S, DB_FLOOR))``, or ``log10(1 + 10000 S)``."""
    if scaling == "log":
        return np.log1p(S)
    if scaling == "log10k":
        return np.log10(1.0 + 10000.0 * np.asarray(S, dtype=np.float32))
    if scaling == "linear":
        return S
    if scaling == "db":
        return (20.0 * np.log10(np.maximum(S, DB_FLOOR))).astype(np.result_type(S, np.float32), copy=False)
    raise ParameterError(f"scaling must be one of {SCALINGS}, got {scaling!r}")


def write_wav(
    path: str | os.PathLike[str],
    y: np.ndarray,
    sr: int,
    *,
    normalize: Literal["peak", "none"],
    subtype: str = "PCM_16",
) -> Path:
    """Write a mono waveform to a WAV file atomically (temporary file, then rename).

    Parameters
    ----------
    path : path-like
        Destination; parent folders are created.
    y : numpy.ndarray
        Mono waveform.
    sr : int
        Sample rate in Hz.
    normalize : {"peak", "none"}
        ``"peak"`` scales the waveform to a peak of 0.99 (a silent one is written as it is); ``"none"`` writes it as
        it is and refuses samples outside [-1, 1], which would clip.
    subtype : str
        libsndfile subtype, ``"PCM_16"`` by default.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise AudioError(f"{path}: write_wav takes a mono 1-D waveform, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{path}: refusing to write NaN or infinite samples")
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if normalize == "peak":
        if peak > 0:
            y = y * (0.99 / peak)
    elif normalize == "none":
        if peak > 1.0:
            raise AudioError(
                f"{path}: peak {peak:.3f} exceeds 1.0 and would clip; scale the waveform or pass normalize='peak'"
            )
    else:
        raise ParameterError(f"normalize must be 'peak' or 'none', got {normalize!r}")
    with atomic_path(path) as tmp:
        sf.write(tmp, y, sr, subtype=subtype, format="WAV")
    return path
