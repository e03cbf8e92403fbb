"""The architectures users bring (auralisation.zoo): saved as .keras, loaded, deconvolved at every block by both
engines, auralised with the command line and shown in the explorer."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import tensorflow as tf  # noqa: E402

from auralisation import cli, zoo  # noqa: E402
from auralisation.audio import AudioConfig, FrontEnd, load_clip, magnitude, stft  # noqa: E402
from auralisation.auralise import auralise  # noqa: E402
from auralisation.deconv import Deconvolver, Network  # noqa: E402
from auralisation.errors import ModelError  # noqa: E402
from auralisation.io import load_model  # noqa: E402
from auralisation.ui.explorer import Explorer  # noqa: E402

CONFIG = AudioConfig(n_fft=128, hop_length=64, duration=0.5)  # 65 bins x 87 frames
WAVEFORM = AudioConfig(n_fft=128, hop_length=64, duration=0.5, frontend=FrontEnd("waveform"))
SPECTROGRAM_MODELS = ["compact", "resnet", "musicnn", "vggish"]


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float = 2e-4) -> None:
    scale = np.max(np.abs(expected))
    assert scale > 0
    np.testing.assert_array_less(np.max(np.abs(actual - expected)), tolerance * scale)


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chord with clicks: energy in many bands and frames."""
    t = np.arange(CONFIG.n_samples) / CONFIG.sr
    y = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (220, 440, 1320, 2500))
    y[::1200] += 0.8
    path = tmp_path_factory.mktemp("zoo") / "chord.wav"
    sf.write(path, y.astype(np.float32), CONFIG.sr)
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each zoo model saved as a user's own .keras file (no config or classes beside it)."""
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name in zoo.ZOO:
        paths[name] = folder / f"{name}.keras"
        zoo.build(name, CONFIG, n_classes=3, seed=1).save(paths[name])
    return paths


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_every_block_both_engines(saved: dict[str, Path], audio: Path, name: str) -> None:
    at = zoo.spectrogram_layer(name)
    model = load_model(saved[name], config=WAVEFORM if at else CONFIG).model
    y = load_clip(audio, CONFIG)
    inputs = y[:, None] if at else magnitude(y, CONFIG)
    deconvolver = Deconvolver(model, at=at)
    assert deconvolver.layer_names, name
    for layer in deconvolver.layer_names:
        count = deconvolver.n_features(layer)
        features = sorted({0, count // 2, count - 1})
        fast = deconvolver.deconvolve(inputs, layer, features)
        tape = deconvolver.deconvolve(inputs, layer, features, engine="tape")
        assert fast.shape == (len(features), CONFIG.n_bins, CONFIG.n_frames)
        assert_close(fast, tape)
        assert layer not in deconvolver._tape_only  # the shared walk followed the whole graph


def test_waveform_model_auralises_end_to_end(saved: dict[str, Path], audio: Path) -> None:
    model = load_model(saved["waveform"], config=WAVEFORM).model
    y = load_clip(audio, CONFIG)
    D = Deconvolver(model, at="spectrogram").deconvolve(y[:, None], 2)
    # the STFT layer follows librosa's conventions, so its magnitude is the clip's: D multiplies the clip's STFT
    spectrogram = Network(model).run(tf.constant(y[None, :, None])).output("spectrogram").numpy()[0, ..., 0]
    np.testing.assert_allclose(spectrogram, magnitude(y, CONFIG), atol=1e-4 * magnitude(y, CONFIG).max())
    waves = auralise(stft(y, CONFIG), D, CONFIG)
    assert waves.shape == (D.shape[0], CONFIG.n_samples)
    assert np.all(np.isfinite(waves)) and np.max(np.abs(waves)) > 1e-4


@pytest.mark.parametrize("name", SPECTROGRAM_MODELS)
def test_command_line_auralises_a_users_keras_file(saved: dict[str, Path], audio: Path, tmp_path: Path,
                                                   name: str) -> None:
    blocks = len(Deconvolver(zoo.build(name, CONFIG, 3)).layer_names)
    code = cli.main(["auralise", "--model", str(saved[name]), "--n-fft", "128", "--hop-length", "64",
                     "--duration", "0.5", "--audio", str(audio), "--layers", f"1-{blocks}", "--features", "0",
                     "--no-images", "--out", str(tmp_path)])
    assert code == 0
    wavs = sorted(p for p in (tmp_path / "chord").rglob("*.wav") if p.parent != tmp_path / "chord")
    assert len(wavs) >= blocks
    y, sr = sf.read(wavs[-1])
    assert sr == CONFIG.sr and len(y) == CONFIG.n_samples and np.max(np.abs(y)) > 0


@pytest.mark.parametrize("name", SPECTROGRAM_MODELS)
def test_explorer_shows_a_users_model(saved: dict[str, Path], audio: Path, name: str) -> None:
    trained = load_model(saved[name], config=CONFIG)
    explorer = Explorer(trained, [audio], prefetch=False)
    deepest = len(explorer.cache.deconvolver.layer_names)
    explorer.select(clip="chord", layer=deepest, feature=0)
    assert explorer.error is None, explorer.error
    view = explorer.view
    assert view.layer == deepest and view.deconvolved.shape == (CONFIG.n_bins, CONFIG.n_frames)
    assert np.max(np.abs(view.auralised)) > 0


def test_a_keras_file_whose_input_disagrees_with_the_settings(
    saved: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ModelError, match=r"takes inputs of shape \(65, 87, 1\).*give \(257, 173, 1\).*--n-fft"):
        load_model(saved["vggish"])
    code = cli.main(["auralise", "--model", str(saved["vggish"].parent), "--sr", "8000", "--audio", "x.wav",
                     "--out", "out"])
    assert code == 1 and "carries its own audio settings" in capsys.readouterr().err


def test_every_method_on_a_residual_graph(audio: Path) -> None:
    from auralisation.methods import METHODS, attribute

    model = zoo.build("resnet", CONFIG, n_classes=3, seed=2)
    S = magnitude(load_clip(audio, CONFIG), CONFIG)
    layer = Deconvolver(model).layer_names[1]
    for method in METHODS:
        options = {"patch": (32, 16)} if method == "occlusion" else {}
        for target in ({"class_index": 1}, {"layer": layer, "feature": 0}):
            m = attribute(model, S, method, **target, **options)
            assert m.shape == S.shape and np.all(np.isfinite(m)), (method, target)
            assert np.max(np.abs(m)) > 0, (method, target)


def test_sanity_check_randomises_inside_a_nested_backbone(audio: Path) -> None:
    from auralisation.methods import cascading_randomisation

    model = zoo.build("vggish", CONFIG, n_classes=3, seed=2)
    S = magnitude(load_clip(audio, CONFIG), CONFIG)
    result = cascading_randomisation(model, S, ("gradient",), class_index=0, stages=3)
    assert result.stages == ("output", "embedding", "backbone/conv2b")
    assert result.scores["spearman_abs"].shape == (3, 1) and np.all(result.scores["spearman_abs"] < 1)
    np.testing.assert_array_equal(model.get_layer("backbone").get_layer("conv2b").get_weights()[0],
                                  zoo.build("vggish", CONFIG, n_classes=3, seed=2).get_layer("backbone")
                                  .get_layer("conv2b").get_weights()[0])
