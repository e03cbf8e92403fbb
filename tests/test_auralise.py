"""Auralisation: synthesis against the waveform itself, linearity, loudness policies, export and the command."""

from __future__ import annotations

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from auralisation.audio import AudioConfig, AudioWarning, stft  # noqa: E402
from auralisation.auralise import PEAK, auralise, export, loudness_gains, synthesise  # noqa: E402
from auralisation.cli.auralise import add_auralise_arguments, run_auralise  # noqa: E402
from auralisation.cli.options import parse_features, parse_layers  # noqa: E402
from auralisation.errors import AudioError, ModelError, ParameterError  # noqa: E402
from auralisation.plotting import export_pictures  # noqa: E402


@pytest.fixture(scope="module")
def clip() -> tuple[AudioConfig, np.ndarray, np.ndarray]:
    """The paper's config, a 4 s clip of two tones plus noise, and its STFT."""
    config = AudioConfig()
    t = np.arange(config.n_samples) / config.sr
    rng = np.random.default_rng(0)
    y = 0.3 * np.sin(2 * np.pi * 300 * t) + 0.2 * np.sin(2 * np.pi * 2000 * t) + 0.01 * rng.standard_normal(len(t))
    y = y.astype(np.float32)
    return config, y, stft(y, config)


def test_mask_of_ones_gives_the_waveform_back(clip) -> None:
    config, y, X = clip
    out = synthesise(X, np.ones(X.shape, np.float32), config)
    assert out.shape == (1, config.n_samples) and out.dtype == np.float32
    assert np.max(np.abs(out[0] - y)) < 1e-5
    np.testing.assert_allclose(synthesise(X, -np.ones(X.shape), config)[0], -y, atol=1e-5)  # phase flipped by pi


def test_mask_of_zeros_gives_silence(clip) -> None:
    config, _, X = clip
    np.testing.assert_array_equal(synthesise(X, np.zeros((2, *X.shape)), config), 0.0)
    for loudness in ("comparable", "peak"):
        np.testing.assert_array_equal(auralise(X, np.zeros(X.shape), config, loudness=loudness), 0.0)


def test_synthesis_is_linear_in_the_mask(clip) -> None:
    config, _, X = clip
    rng = np.random.default_rng(1)
    D1, D2 = rng.standard_normal((2, *X.shape)).astype(np.float32)
    combined = synthesise(X, 2.0 * D1 - 0.5 * D2, config)[0]
    parts = synthesise(X, np.stack([D1, D2]), config)
    expected = 2.0 * parts[0] - 0.5 * parts[1]
    assert np.max(np.abs(combined - expected)) < 1e-5 * np.max(np.abs(expected))


def test_a_band_mask_keeps_that_tone_only(clip) -> None:
    config, _, X = clip
    t = np.arange(config.n_samples) / config.sr
    low = 0.3 * np.sin(2 * np.pi * 300 * t)
    bins = np.fft.rfftfreq(config.n_fft, 1 / config.sr)
    D = (bins < 1000).astype(np.float32)[:, None] * np.ones(X.shape, np.float32)
    out = synthesise(X, D, config)[0]
    inner = slice(config.n_fft, -config.n_fft)
    assert np.corrcoef(out[inner], low[inner])[0, 1] > 0.99


def test_loudness_policies() -> None:
    waves = np.array([[0.0, 2.0, -4.0], [1.0, -1.0, 0.5], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(loudness_gains(waves, "comparable"), [PEAK / 4] * 3)  # only to avoid clipping
    np.testing.assert_allclose(loudness_gains(waves / 8, "comparable"), [1.0] * 3)  # never louder
    np.testing.assert_allclose(loudness_gains(waves / 8, "comparable", normalize=True), [2 * PEAK] * 3)
    np.testing.assert_allclose(loudness_gains(waves, "peak"), [PEAK / 4, PEAK, 0.0])
    np.testing.assert_allclose(loudness_gains(np.zeros((2, 3)), "comparable", normalize=True), [1.0, 1.0])
    with pytest.raises(ParameterError, match="unknown loudness"):
        loudness_gains(waves, "loud")


def test_auralise_loudness_comparable_keeps_levels_and_peak_normalises(clip) -> None:
    config, y, X = clip
    D = np.stack([np.ones(X.shape), 0.25 * np.ones(X.shape)]).astype(np.float32)
    raw = synthesise(X, D, config)
    np.testing.assert_array_equal(auralise(X, D, config), raw)  # the clip's own level: nothing would clip
    loud = auralise(X, 4 * D, config)  # would clip: one gain brings the loudest to 0.99, the other in proportion
    peaks = np.max(np.abs(loud), axis=1)
    assert peaks[0] == pytest.approx(PEAK, rel=1e-6) and peaks[1] == pytest.approx(PEAK / 4, rel=1e-5)
    raised = auralise(X, 0.01 * D, config, normalize=True)  # the loudest brought to 0.99, the other in proportion
    np.testing.assert_allclose(np.max(np.abs(raised), axis=1), [PEAK, PEAK / 4], rtol=1e-5)
    normalised = auralise(X, D, config, loudness="peak")
    np.testing.assert_allclose(np.max(np.abs(normalised), axis=1), [PEAK, PEAK], rtol=1e-6)


def test_bad_shapes_raise_audio_error(clip) -> None:
    config, y, X = clip
    with pytest.raises(AudioError, match="complex STFT"):
        synthesise(np.abs(X), np.ones(X.shape), config)
    with pytest.raises(AudioError, match=r"shape \(n, 257, 173\)"):
        synthesise(X, np.ones((3, 257, 170)), config)
    with pytest.raises(AudioError, match="NaN"):
        synthesise(X, np.full(X.shape, np.nan), config)


def test_export_layout_values_and_per_layer_gain(clip, tmp_path) -> None:
    config, _, X = clip
    rng = np.random.default_rng(2)
    D1 = rng.standard_normal((2, *X.shape)).astype(np.float32)
    D5 = 1e-3 * rng.standard_normal((1, *X.shape)).astype(np.float32)
    maps = {"pool1": D1, "pool5": ([17], D5)}
    written = export(tmp_path, "song", X, maps, config, progress=False) + export_pictures(tmp_path, "song", X, maps,
                                                                                          config)
    folder = tmp_path / "song"
    expected = {folder / "original.wav", folder / "pool1" / "feature_000.wav", folder / "pool1" / "feature_001.wav",
                folder / "pool5" / "feature_017.wav", folder / "pool1" / "feature_000.png",
                folder / "pool1" / "feature_001.png", folder / "pool5" / "feature_017.png"}
    assert set(written) == expected and all(path.is_file() for path in expected)
    assert (folder / "pool1" / "feature_000.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]  # no temporary files left
    y, sr = sf.read(folder / "pool1" / "feature_001.wav", dtype="float32")
    assert sr == config.sr
    raw = synthesise(X, D1, config)
    np.testing.assert_allclose(y, raw[1] * PEAK / np.max(np.abs(raw)), atol=1 / 2**15)
    y5, _ = sf.read(folder / "pool5" / "feature_017.wav", dtype="float32")
    assert np.max(np.abs(y5)) == pytest.approx(PEAK, abs=1e-3)  # each layer has its own gain


def test_export_peak_and_bad_names(clip, tmp_path) -> None:
    config, _, X = clip
    D = np.stack([np.ones(X.shape), 0.1 * np.ones(X.shape)]).astype(np.float32)
    export(tmp_path, "clip", X, {"conv1": D}, config, loudness="peak", progress=False)
    quiet, _ = sf.read(tmp_path / "clip" / "conv1" / "feature_001.wav", dtype="float32")
    assert np.max(np.abs(quiet)) == pytest.approx(PEAK, abs=1e-3)
    assert not list((tmp_path / "clip").rglob("*.png"))
    with pytest.raises(AudioError, match="folder name"):
        export(tmp_path, "../up", X, {"conv1": D}, config, progress=False)
    with pytest.raises(AudioError, match="one feature index per map"):
        export(tmp_path, "clip", X, {"conv1": ([1], D)}, config, progress=False)


def test_parse_layers_and_features() -> None:
    assert parse_layers("1-3,5") == [1, 2, 3, 5]
    assert parse_layers("2, pool4") == [2, "pool4"]
    assert parse_features("all") is None
    assert parse_features("3,17") == [3, 17] and parse_features("0-2") == [0, 1, 2]
    with pytest.raises(argparse.ArgumentTypeError, match="backwards"):
        parse_layers("5-1")
    with pytest.raises(argparse.ArgumentTypeError, match="indices from 0"):
        parse_features("x")


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny random choi2016 (32 bins x 35 frames, width 3) saved as a model folder."""
    from auralisation.models import choi2016
    from auralisation.io import save_model

    config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)
    folder = tmp_path_factory.mktemp("models") / "tiny"
    save_model(folder, choi2016(config, n_classes=2, width=3, seed=0), config, ["a", "b"])
    return folder, config


def arguments(**values) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_auralise_arguments(parser)
    required = ["--model", str(values.pop("model")), "--audio", str(values.pop("audio")), "--out", str(values.pop("out"))]
    return parser.parse_args(required + [f"--{k.replace('_', '-')}={v}" for k, v in values.items()])


def test_command_pads_short_audio_and_exports(saved_model, tmp_path, write_audio, tone, capsys) -> None:
    folder, config = saved_model
    audio = write_audio(tmp_path / "short.wav", tone(440.0, 0.1, config.sr), config.sr)
    args = arguments(model=folder, audio=audio, out=tmp_path / "out", layers="1,5", features="0,2")
    args.no_images = True
    with pytest.warns(AudioWarning, match="padded"):
        assert run_auralise(args) == 0
    names = sorted(p.relative_to(tmp_path / "out" / "short").as_posix() for p in (tmp_path / "out").rglob("*.wav"))
    assert names == ["original.wav", "pool1/feature_000.wav", "pool1/feature_002.wav", "pool5/feature_000.wav",
                     "pool5/feature_002.wav"]
    assert "wrote 4 auralisations" in capsys.readouterr().out


def test_command_bad_feature_or_layer(saved_model, tmp_path, write_audio, tone) -> None:
    folder, config = saved_model
    audio = write_audio(tmp_path / "a.wav", tone(440.0, 0.3, config.sr), config.sr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AudioWarning)
        with pytest.raises(ModelError, match=r"features 0\.\.2; feature 3"):
            run_auralise(arguments(model=folder, audio=audio, out=tmp_path, features="3"))
        with pytest.raises(ModelError, match=r"blocks 1\.\.5"):
            run_auralise(arguments(model=folder, audio=audio, out=tmp_path, layers="6"))


@pytest.mark.parametrize("method", ["gradient", "gradcam", "occlusion"])
def test_command_method_writes_the_auralisation_of_attribute_s_map(
    method, saved_model, tmp_path, write_audio, tone
) -> None:
    from auralisation.audio import load_clip
    from auralisation.methods import attribute
    from auralisation.io import load_model

    folder, config = saved_model
    rng = np.random.default_rng(3)
    audio = write_audio(tmp_path / "noise.wav", tone(440.0, 0.2, config.sr) + 0.1 * rng.standard_normal(
        round(0.2 * config.sr)), config.sr)
    args = arguments(model=folder, audio=audio, out=tmp_path / "out", layers="2", features="1", method=method)
    args.no_images = True
    assert run_auralise(args) == 0
    written, _ = sf.read(tmp_path / "out" / "noise" / "pool2" / "feature_001.wav", dtype="float32")
    X = stft(load_clip(audio, config), config)
    options = {"patch": (32, 16)} if method == "occlusion" else {}
    D = attribute(load_model(folder).model, np.abs(X).astype(np.float32), method, layer=2, feature=1, **options)
    raw = synthesise(X, D, config)[0]
    assert np.abs(raw).max() > 0
    np.testing.assert_allclose(written, raw * PEAK / np.abs(raw).max(), atol=2 / 2**15)


def test_command_validates_the_method_and_its_seeding(saved_model, tmp_path, write_audio, tone, capsys) -> None:
    folder, config = saved_model
    audio = write_audio(tmp_path / "a.wav", tone(440.0, 0.2, config.sr), config.sr)
    with pytest.raises(SystemExit):
        arguments(model=folder, audio=audio, out=tmp_path, method="lrp")
    assert "invalid choice: 'lrp'" in capsys.readouterr().err
    assert arguments(model=folder, audio=audio, out=tmp_path).method == "deconvnet"
    with pytest.raises(ParameterError, match="gradcam takes no seeding"):
        run_auralise(arguments(model=folder, audio=audio, out=tmp_path, method="gradcam", seeding="max"))
