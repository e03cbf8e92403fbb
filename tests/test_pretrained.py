"""The musicnn package's pretrained taggers (auralisation.pretrained): each port held to an independent forward pass
written from ``musicnn/models.py`` on the checkpoint's own tensors, tagged, and deconvolved by the shared-forward
engine at every block, equal to the per-feature tape."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib.util  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import librosa  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import tensorflow as tf  # noqa: E402

import auralisation  # noqa: E402
from auralisation import cli, pretrained  # noqa: E402
from auralisation.audio import magnitude  # noqa: E402
from auralisation.deconv import Deconvolver  # noqa: E402
from auralisation.errors import ModelError  # noqa: E402
from auralisation.io import load_model  # noqa: E402

CONFIG = pretrained.MUSICNN_CONFIG


def clip(seconds: float = CONFIG.duration, seed: int = 0) -> np.ndarray:
    """Chords, clicks and a little noise at 16 kHz: energy in many bands and frames."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * CONFIG.sr))) / CONFIG.sr
    y = sum(0.15 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * r * t)) for f, r in
            ((196, 0.5), (392, 1.5), (1175, 3.0), (3100, 0.7)))
    y = y + 0.02 * rng.standard_normal(t.size)
    y[:: 4000] += 0.8
    return y.astype(np.float32)


# --- the independent forward pass: raw TensorFlow ops on the checkpoint, written from musicnn/models.py ----------


def checkpoint(name: str) -> dict[str, np.ndarray]:
    spec = importlib.util.find_spec("musicnn")
    reader = tf.compat.v1.train.NewCheckpointReader(str(Path(spec.origin).parent / name) + "/")
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()}


def musicnn_input(y: np.ndarray) -> np.ndarray:
    """musicnn's ``batch_data`` for one patch: librosa's mel power spectrogram (time, frequency), log10(10000 x + 1);
    zero padding as today's librosa (the port's choice), no float16 rounding."""
    mel = librosa.feature.melspectrogram(y=y, sr=16000, hop_length=256, n_fft=512, n_mels=96, pad_mode="constant").T
    return np.log10(10000 * mel + 1)[np.newaxis].astype(np.float32)


class Original:
    """``musicnn/models.py`` at inference (``is_training=False``), on the checkpoint's tensors, (time, frequency)."""

    def __init__(self, name: str) -> None:
        self.w = checkpoint(name)

    def bn(self, x: tf.Tensor, scope: str) -> tf.Tensor:
        w = self.w
        scale = w[f"{scope}/gamma"] / np.sqrt(w[f"{scope}/moving_variance"] + 1e-3)  # tf.layers' epsilon
        return (x - w[f"{scope}/moving_mean"]) * scale + w[f"{scope}/beta"]

    def conv(self, x: tf.Tensor, scope: str, padding: str) -> tf.Tensor:
        return tf.nn.relu(tf.nn.conv2d(x, self.w[f"{scope}/kernel"], 1, padding) + self.w[f"{scope}/bias"])

    def vgg(self, x: np.ndarray) -> np.ndarray:
        x = self.bn(tf.expand_dims(x, 3), "batch_normalization")
        pools = [([4, 1], [2, 2]), ([2, 2], [2, 2]), ([2, 2], [2, 2]), ([2, 2], [2, 2]), ([4, 4], [4, 4])]
        for i, (size, strides) in enumerate(pools, start=1):
            x = self.bn(self.conv(x, f"{i}CNN", "SAME"), f"batch_normalization_{i}")
            x = tf.nn.max_pool2d(x, size, strides, "VALID")
        x = tf.reshape(x, (x.shape[0], -1))
        return (x @ self.w["dense/kernel"] + self.w["dense/bias"]).numpy()

    def musicnn(self, x: np.ndarray) -> np.ndarray:
        x = self.bn(tf.expand_dims(x, 3), "batch_normalization")
        padded = tf.pad(x, [[0, 0], [3, 3], [0, 0], [0, 0]])
        front = []
        for i in range(5):
            suffix = f"_{i}" if i else ""
            y = self.conv(padded if i < 2 else x, f"conv2d{suffix}", "VALID" if i < 2 else "SAME")
            y = self.bn(y, f"batch_normalization_{i + 1}")
            front.append(tf.reduce_max(y, axis=2))  # max-pool over all frequencies, squeezed: (batch, time, filters)
        front = tf.concat(front, 2)[..., None]  # (batch, time, 561, 1)
        mid = [front]
        x = front
        for i in (1, 2, 3):
            y = self.conv(tf.pad(x, [[0, 0], [3, 3], [0, 0], [0, 0]]), f"conv2d_{4 + i}", "VALID")
            y = tf.transpose(self.bn(y, f"batch_normalization_{5 + i}"), [0, 1, 3, 2])
            x = y if i == 1 else y + x
            mid.append(x)
        features = tf.concat(mid, 2)  # (batch, time, 753, 1)
        pooled = tf.concat([tf.reduce_max(features, 1), tf.reduce_mean(features, 1)], 2)
        flat = self.bn(tf.reshape(pooled, (pooled.shape[0], -1)), "batch_normalization_9")
        dense = self.bn(tf.nn.relu(flat @ self.w["dense/kernel"] + self.w["dense/bias"]), "batch_normalization_10")
        return (dense @ self.w["dense_1/kernel"] + self.w["dense_1/bias"]).numpy()


@pytest.fixture(scope="module")
def taggers() -> dict[str, auralisation.TrainedModel]:
    return {name: load_model(f"musicnn:{name}") for name in pretrained.PRETRAINED}


@pytest.mark.parametrize("name", pretrained.PRETRAINED)
def test_port_equals_the_original_forward_pass(taggers, name: str) -> None:
    trained = taggers[name]
    y = clip(seed=len(name))
    original = Original(name)
    expected = (original.vgg if name.endswith("vgg") else original.musicnn)(musicnn_input(y))
    logits = keras.Model(trained.model.input, trained.model.get_layer("logits").output)
    got = logits(magnitude(y, CONFIG)[None, ..., None]).numpy()
    assert np.std(expected) > 0.1  # the tags differ from one another: a real comparison
    np.testing.assert_array_less(np.max(np.abs(got - expected)), 1e-4 * np.max(np.abs(expected)))
    assert len(trained.classes) == 50 and trained.classes[0] == ("rock" if name.startswith("MSD") else "guitar")


def test_config_is_musicnns() -> None:
    assert (CONFIG.sr, CONFIG.n_fft, CONFIG.hop_length, CONFIG.n_frames) == (16000, 512, 256, 187)
    ours = auralisation.frontends.mel_filterbank(CONFIG)
    # librosa 0.7's defaults (htk=False, norm=1: Slaney's area normalisation) are today's htk=False, norm="slaney"
    np.testing.assert_allclose(ours, librosa.filters.mel(sr=16000, n_fft=512, n_mels=96, htk=False, norm="slaney"),
                               rtol=1e-6)


def test_unknown_name_lists_the_four() -> None:
    with pytest.raises(ModelError, match="musicnn:MSD_vgg, musicnn:MTT_vgg, musicnn:MSD_musicnn, musicnn:MTT_musicnn"):
        load_model("musicnn:MSD_big")


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "musicnn" else found(name, *a))
    with pytest.raises(ModelError, match=r"pip install --no-deps musicnn==0\.1\.0"):
        load_model("musicnn:MTT_vgg")


def test_untrained_copy_has_the_architecture_and_fresh_weights(taggers) -> None:
    trained = taggers["MTT_musicnn"]
    copy = pretrained.untrained("MTT_musicnn", seed=0)
    assert [layer.name for layer in copy.model.layers] == [layer.name for layer in trained.model.layers]
    assert copy.classes == trained.classes and copy.config == trained.config
    a, b = copy.model.get_layer("mid1").get_weights()[0], trained.model.get_layer("mid1").get_weights()[0]
    assert a.shape == b.shape and not np.allclose(a, b)
    again = pretrained.untrained("MTT_musicnn", seed=0).model.get_layer("mid1").get_weights()[0]
    np.testing.assert_array_equal(a, again)


# --- tagging ----------------------------------------------------------------------------------------------------


def test_predict_tags_each_consecutive_patch(taggers) -> None:
    trained = taggers["MTT_vgg"]
    y = clip(seconds=3 * CONFIG.duration + 1.0)
    probabilities = auralisation.predict(trained, y)
    assert probabilities.shape == (3, 50)
    # each row is the sigmoid of the port's logits on that patch alone
    second = magnitude(y[CONFIG.n_samples : 2 * CONFIG.n_samples], CONFIG)[None, ..., None]
    logits = keras.Model(trained.model.input, trained.model.get_layer("logits").output)(second).numpy()[0]
    np.testing.assert_allclose(probabilities[1], 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-6)


def test_predict_command_prints_the_top_tags(taggers, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tune.wav"
    y = clip(seconds=2 * CONFIG.duration + 0.5)
    sf.write(path, y, CONFIG.sr, subtype="FLOAT")
    assert cli.main(["predict", "--model", "musicnn:MTT_vgg", "--audio", str(path), "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = auralisation.predict(taggers["MTT_vgg"], y).mean(axis=0)
    best = taggers["MTT_vgg"].classes[int(np.argmax(expected))]
    assert lines[0].endswith("2 clips of 2.976 s, model musicnn:MTT_vgg")
    assert lines[1].startswith(f"whole file: {best} {expected.max():.2f}, ") and lines[1].count(",") == 2
    assert len(lines) == 4 and lines[2].strip().startswith("0.00-")


def test_predict_command_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["predict", "--model", "musicnn:nope", "--audio", str(tmp_path / "x.wav")]) == 1
    assert cli.main(["predict", "--model", "musicnn:MTT_vgg", "--audio", str(tmp_path / "missing.wav")]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and "musicnn:MSD_vgg" in errors[0] and "missing.wav" in errors[1]


# --- explained: the shared-forward engine on the real graphs ----------------------------------------------------


@pytest.mark.parametrize(("name", "extra"), [("MTT_vgg", []), ("MTT_musicnn", ["mid3_add"])])
def test_every_block_deconvolves_by_the_shared_forward_equal_to_the_tape(taggers, name: str, extra: list[str]) -> None:
    trained = taggers[name]
    S = magnitude(clip(seed=3), CONFIG)
    deconvolver = Deconvolver(trained.model)
    assert len(deconvolver.layer_names) == 5
    for layer in deconvolver.layer_names + extra:
        strength = np.asarray(deconvolver.activations(S, layer)).reshape(deconvolver.n_features(layer), -1).max(axis=1)
        features = [int(i) for i in np.argsort(-strength)[[0, 7]]]  # the strongest and the eighth strongest
        fast = deconvolver.deconvolve(S, layer, features, engine="fast")  # raises rather than fall back to the tape
        tape = deconvolver.deconvolve(S, layer, features, engine="tape")
        assert fast.shape == (2, CONFIG.n_bins, CONFIG.n_frames)
        np.testing.assert_array_less(np.max(np.abs(fast - tape)), 1e-4 * np.max(np.abs(tape)))
        assert layer not in deconvolver._tape_only


@pytest.mark.parametrize("name", ["MSD_vgg", "MTT_musicnn"])
def test_command_line_auralises_every_block(name: str, tmp_path: Path) -> None:
    audio = tmp_path / "tune.wav"
    sf.write(audio, clip(seconds=4.0), CONFIG.sr)
    code = cli.main(["auralise", "--model", f"musicnn:{name}", "--audio", str(audio), "--layers", "1-5",
                     "--features", "0-7", "--no-images", "--out", str(tmp_path / "out")])
    assert code == 0
    blocks = sorted(p for p in (tmp_path / "out" / "tune").iterdir() if p.is_dir())
    assert len(blocks) == 5
    for block in blocks:  # eight features each; some are silent on this clip, not all of a block
        heard = [sf.read(path) for path in sorted(block.glob("*.wav"))]
        assert len(heard) == 8 and all(sr == CONFIG.sr and len(y) == CONFIG.n_samples for y, sr in heard)
        assert max(np.max(np.abs(y)) for y, _ in heard) > 0, block.name


# --- the atlas of a tagger --------------------------------------------------------------------------------------


def test_atlas_of_a_tagger_shows_mean_tags_of_the_top_excerpts(taggers, tmp_path: Path) -> None:
    from auralisation.atlas.build import _add_tags
    from auralisation.atlas.corpus import scan_corpus
    from auralisation.atlas.site import _tags_line

    for label, seed in (("a", 1), ("b", 2)):
        (tmp_path / label).mkdir()
        sf.write(tmp_path / label / f"{label}.wav", clip(seconds=2 * CONFIG.duration, seed=seed), CONFIG.sr,
                 subtype="FLOAT")
    trained = taggers["MTT_vgg"]
    corpus = scan_corpus([str(tmp_path)], CONFIG)
    chosen = [0, len(corpus.excerpts) - 1]
    atlas = {"layers": [{"layer": "pool5", "features": [
        {"feature": 0, "top": [{"excerpt": i} for i in chosen]}, {"feature": 1, "top": []}]}]}
    _add_tags(atlas, corpus, trained)
    entry, silent = atlas["layers"][0]["features"]
    # independently: the tagger's sigmoids on the two excerpts, cut from the files by their offsets, averaged
    clips = []
    for i in chosen:
        excerpt = corpus.excerpts[i]
        start = int(round(excerpt.offset * CONFIG.sr))
        clips.append(magnitude(sf.read(excerpt.path, dtype="float32")[0][start : start + CONFIG.n_samples], CONFIG))
    logits = keras.Model(trained.model.input, trained.model.get_layer("logits").output)(np.stack(clips)[..., None])
    mean = (1 / (1 + np.exp(-logits.numpy()))).mean(axis=0)
    assert [tag for tag, _ in entry["tags"]] == [trained.classes[i] for i in np.argsort(-mean)[:5]]
    np.testing.assert_allclose([p for _, p in entry["tags"]], np.sort(mean)[::-1][:5], atol=1e-4)
    assert "tags" not in silent
    assert _tags_line(entry).startswith("<p>The tagger's mean tags over these 2 excerpts: <b>" + entry["tags"][0][0])


def test_power_front_end_outside_the_model_is_librosas_mel_power_spectrogram() -> None:
    import dataclasses

    from auralisation.audio import FrontEnd, compress
    from auralisation.frontends import model_input

    outside = dataclasses.replace(CONFIG, frontend=FrontEnd("filterbank", "mel", 96, power=2.0))
    y = clip(seed=5)
    expected = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96, pad_mode="constant")
    np.testing.assert_allclose(model_input(y, outside), expected, rtol=1e-4, atol=1e-6 * expected.max())
    np.testing.assert_allclose(compress(expected, "log10k"), np.log10(10000 * expected + 1), rtol=1e-5)


@pytest.mark.parametrize(("style", "index", "expected"), [
    ("classical", 0, {"harp", "strings"}),  # GM 46 harp, 48 string ensemble, 56 trumpet, 43 contrabass
    ("classical", 1, {"piano", "strings"}),  # 0 acoustic grand, 48, 68 oboe, 43
    ("rock", 0, {"guitar", "drums"}),  # 27 clean electric guitar, 35 fretless bass, the kit
    ("jazz", 2, {"piano", "drums"}),  # 4 electric piano, 33 finger bass, the kit
])
def test_track_instruments_reads_the_generated_tracks_parts(tmp_path: Path, style: str, index: int,
                                                             expected: set[str]) -> None:
    import json

    from auralisation.synth.dataset import stems_folder
    from auralisation.tagging import track_instruments

    track = tmp_path / style / f"{style}.{index:05d}.wav"
    stems_folder(track).mkdir(parents=True)
    (stems_folder(track) / "track.json").write_text(json.dumps({"style": style, "index": index, "seed": 0,
                                                                "seconds": 6.0}))
    assert track_instruments(track) == expected
    with pytest.raises(auralisation.DatasetError, match="--stems"):
        track_instruments(tmp_path / "elsewhere.wav")
