"""Tests of the audio front end: config, loading, STFT/ISTFT against independent references, WAV writing."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from auralisation.audio import (
    AudioConfig,
    AudioWarning,
    compress,
    istft,
    load_clip,
    magnitude,
    stft,
    write_wav,
)
from auralisation.errors import AudioError, AuralisationError, ConfigError, ParameterError

SR = 11025


def numpy_stft(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Centred STFT written from the definition: zero padding, periodic Hann window, real FFT per frame."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(y.astype(np.float64), n_fft // 2)
    n_frames = 1 + len(y) // hop
    frames = np.stack([padded[t * hop : t * hop + n_fft] for t in range(n_frames)], axis=1)
    return np.fft.rfft(frames * window[:, None], axis=0)


@pytest.fixture
def music(config: AudioConfig) -> np.ndarray:
    """Four seconds of chords and noise."""
    rng = np.random.default_rng(1)
    t = np.arange(config.n_samples) / config.sr
    y = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (110.0, 277.2, 329.6, 1500.0))
    return (y + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def spectral_peak_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(spectrum)])


# --- AudioConfig ---------------------------------------------------------------------------------------------


def test_default_config_matches_the_paper(config: AudioConfig) -> None:
    assert (config.n_samples, config.n_bins, config.n_frames) == (44100, 257, 173)
    assert config.input_shape == (257, 173, 1)


@pytest.mark.parametrize(
    "changes",
    [{}, {"hop_length": 128}, {"center": False}, {"n_fft": 1024, "win_length": 800}, {"duration": 2.5}],
)
def test_shape_properties_match_the_real_stft(changes: dict) -> None:
    config = dataclasses.replace(AudioConfig(), **changes)
    X = stft(np.zeros(config.n_samples, dtype=np.float32), config)
    assert X.shape == (config.n_bins, config.n_frames)
    assert X.dtype == np.complex64


def test_config_json_round_trip(tmp_path: Path) -> None:
    config = AudioConfig(sr=22050, n_fft=1024, hop_length=512, win_length=1000, center=False, scaling="linear")
    assert AudioConfig.from_json(config.to_json()) == config
    saved = config.save(tmp_path / "model" / "config.json")
    assert AudioConfig.load(saved) == config
    assert [p.name for p in saved.parent.iterdir()] == ["config.json"]


def test_config_refuses_bad_values_and_unknown_fields(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="hop_length"):
        AudioConfig(hop_length=0)
    with pytest.raises(ParameterError, match="scaling"):
        AudioConfig(scaling="cubic")
    with pytest.raises(ParameterError, match="unknown AudioConfig fields"):
        AudioConfig.from_dict({**AudioConfig().to_dict(), "n_mels": 96})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        AudioConfig.load(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="missing.json"):
        AudioConfig.load(tmp_path / "missing.json")


# --- STFT ----------------------------------------------------------------------------------------------------


def test_stft_equals_librosa_and_the_definition(music: np.ndarray, config: AudioConfig) -> None:
    X = stft(music, config)
    direct = librosa.stft(music, n_fft=512, hop_length=256, window="hann", center=True)
    scale = np.abs(direct).max()
    np.testing.assert_allclose(X, direct, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(X, numpy_stft(music, 512, 256), rtol=0, atol=1e-5 * scale)


def test_stft_of_a_batch_equals_stft_of_each_clip(music: np.ndarray, config: AudioConfig) -> None:
    batch = np.stack([music, music[::-1].copy()])
    X = stft(batch, config)
    assert X.shape == (2, 257, 173)
    np.testing.assert_allclose(X[1], stft(batch[1], config), rtol=0, atol=1e-6 * np.abs(X).max())


def test_stft_then_istft_reconstructs(music: np.ndarray, config: AudioConfig) -> None:
    y = istft(stft(music, config), config)
    assert y.shape == music.shape and y.dtype == np.float32
    assert np.linalg.norm(y - music) / np.linalg.norm(music) < 1e-5


def test_magnitude_and_compress(music: np.ndarray, config: AudioConfig) -> None:
    S = magnitude(music, config)
    assert S.dtype == np.float32
    np.testing.assert_allclose(S, np.abs(numpy_stft(music, 512, 256)), rtol=0, atol=1e-5 * S.max())
    np.testing.assert_allclose(compress(S, "log"), np.log(1.0 + S.astype(np.float64)), rtol=1e-6)
    assert compress(S, "linear") is S
    with pytest.raises(ParameterError, match="scaling"):
        compress(S, "cubic")


# --- load_clip -----------------------------------------------------------------------------------------------


def test_stereo_44k_file_is_downmixed_and_resampled(tmp_path: Path, tone, write_audio, config) -> None:
    left, right = tone(440.0, 5.0, 44100, amplitude=0.6), tone(440.0, 5.0, 44100, amplitude=0.2)
    path = write_audio(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 44100, subtype="FLOAT")
    y = load_clip(path, config)
    assert y.shape == (44100,) and y.dtype == np.float32
    assert abs(spectral_peak_hz(y, SR) - 440.0) <= 0.5
    # the mean of the channels is a 0.4-amplitude sine: RMS 0.4 / sqrt(2)
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) == pytest.approx(0.4 / np.sqrt(2), rel=0.01)


def test_stereo_downmix_is_the_channel_mean(tmp_path: Path, tone, write_audio, config) -> None:
    rng = np.random.default_rng(0)
    left = tone(300.0, 5.0, SR)
    right = rng.uniform(-0.4, 0.4, len(left)).astype(np.float32)
    path = write_audio(tmp_path / "stereo.flac", np.stack([left, right], axis=1), SR, subtype="PCM_24")
    expected = (left + right)[: config.n_samples] / 2
    np.testing.assert_allclose(load_clip(path, config), expected, atol=2e-7 * 2**8)


def test_short_file_is_padded_with_a_warning(tmp_path: Path, tone, write_audio, config) -> None:
    y = tone(1000.0, 1.0, SR)
    path = write_audio(tmp_path / "one_second.wav", y, SR, subtype="FLOAT")
    with pytest.warns(AudioWarning, match="one_second.wav.*padded"):
        clip = load_clip(path, config)
    assert clip.shape == (44100,)
    np.testing.assert_array_equal(clip[:SR], y)
    assert not clip[SR:].any()


def test_offset_and_cropping_select_the_right_samples(tmp_path: Path, write_audio, config) -> None:
    y = np.random.default_rng(3).uniform(-0.9, 0.9, 10 * SR).astype(np.float32)
    path = write_audio(tmp_path / "long.wav", y, SR, subtype="FLOAT")
    np.testing.assert_array_equal(load_clip(path, config), y[:44100])
    np.testing.assert_array_equal(load_clip(path, config, offset=2.0), y[2 * SR : 2 * SR + 44100])


def test_au_and_22050_hz_gtzan_style_file_loads(tmp_path: Path, tone, write_audio, config) -> None:
    path = write_audio(tmp_path / "blues.00000.au", tone(440.0, 5.0, 22050), 22050)
    y = load_clip(path, config, offset=0.5)
    assert y.shape == (44100,)
    assert abs(spectral_peak_hz(y, SR) - 440.0) <= 0.5


def test_silent_clip_warns_errs_or_passes_by_policy(tmp_path: Path, write_audio, config) -> None:
    path = write_audio(tmp_path / "quiet.wav", np.zeros(5 * SR, dtype=np.float32), SR)
    with pytest.warns(AudioWarning, match="quiet.wav.*silent"):
        assert not load_clip(path, config).any()
    with pytest.raises(AudioError, match="quiet.wav.*silent"):
        load_clip(path, config, silence="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_clip(path, config, silence="allow")


def make_bad_file(folder: Path, kind: str) -> Path:
    """A file that load_clip must refuse: missing, empty, corrupt, not audio, or of an unknown type."""
    if kind == "missing":
        return folder / "missing.wav"
    if kind == "empty":
        (folder / "empty.wav").write_bytes(b"")
        return folder / "empty.wav"
    if kind == "corrupt":
        (folder / "corrupt.wav").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
        return folder / "corrupt.wav"
    if kind == "not-audio":
        (folder / "notes.wav").write_text("these are not samples\n" * 50)
        return folder / "notes.wav"
    (folder / "track.m4a").write_bytes(b"\0" * 64)
    return folder / "track.m4a"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "missing.wav: no such file"),
        ("empty", "empty.wav: the file is empty.*re-export"),
        ("corrupt", "corrupt.wav: cannot be decoded.*replace it"),
        ("not-audio", "notes.wav: cannot be decoded.*corrupt or not audio"),
        ("unknown-extension", "track.m4a: unknown audio extension.*convert"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path: Path, config, kind: str, message: str) -> None:
    with pytest.raises(AudioError, match=message) as caught:
        load_clip(make_bad_file(tmp_path, kind), config)
    assert isinstance(caught.value, AuralisationError)


def test_nan_samples_are_refused(tmp_path: Path, tone, write_audio, config) -> None:
    y = tone(440.0, 5.0, SR)
    y[1234] = np.nan
    path = write_audio(tmp_path / "nan.wav", y, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav.*NaN"):
        load_clip(path, config)


def test_offsets_outside_the_file_are_refused(tmp_path: Path, tone, write_audio, config) -> None:
    path = write_audio(tmp_path / "short.wav", tone(440.0, 2.0, SR), SR)
    with pytest.raises(AudioError, match="short.wav.*lasts 2.00 s.*offset"):
        load_clip(path, config, offset=3.0)
    with pytest.raises(AudioError, match="short.wav.*offset must be >= 0"):
        load_clip(path, config, offset=-1.0)


# --- write_wav -----------------------------------------------------------------------------------------------


def test_write_wav_peak_normalises_and_leaves_no_temporary_file(tmp_path: Path, tone) -> None:
    y = 3.0 * tone(440.0, 1.0, SR)
    path = write_wav(tmp_path / "out" / "loud.wav", y, SR, normalize="peak")
    assert [p.name for p in path.parent.iterdir()] == ["loud.wav"]
    written, sr = sf.read(path, dtype="float32")
    assert sr == SR
    assert np.max(np.abs(written)) == pytest.approx(0.99, abs=1 / 32768)
    np.testing.assert_allclose(written, y * (0.99 / np.max(np.abs(y))), atol=1 / 32768)


def test_write_wav_none_keeps_the_level(tmp_path: Path, tone) -> None:
    y = tone(440.0, 1.0, SR, amplitude=0.25)
    written, _ = sf.read(write_wav(tmp_path / "quiet.wav", y, SR, normalize="none"), dtype="float32")
    np.testing.assert_allclose(written, y, atol=1 / 32768)


def test_write_wav_refuses_clipping_and_keeps_the_old_file(tmp_path: Path, tone) -> None:
    path = write_wav(tmp_path / "take.wav", tone(440.0, 1.0, SR, amplitude=0.5), SR, normalize="none")
    before = path.read_bytes()
    with pytest.raises(AudioError, match="take.wav.*peak 1.500 exceeds 1.0.*normalize='peak'"):
        write_wav(path, tone(440.0, 1.0, SR, amplitude=1.5), SR, normalize="none")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]


def test_write_wav_refuses_bad_waveforms(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="nan.wav.*NaN"):
        write_wav(tmp_path / "nan.wav", np.array([0.0, np.nan]), SR, normalize="peak")
    with pytest.raises(AudioError, match="stereo.wav.*mono"):
        write_wav(tmp_path / "stereo.wav", np.zeros((10, 2)), SR, normalize="peak")
    with pytest.raises(ParameterError, match="normalize"):
        write_wav(tmp_path / "x.wav", np.zeros(10), SR, normalize="rms")
    assert list(tmp_path.iterdir()) == []
