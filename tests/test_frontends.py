"""Tests of auralisation.frontends and the choi2017 model: filterbank maths, front-end layers, bad input.

References are independent of the code under test: librosa for the mel filterbank, the STFT and decibels,
TensorFlow's own gradient for the transpose route, and the band edges librosa gives for which bins a band hears.
"""

from __future__ import annotations

import dataclasses
import json

import keras
import librosa
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from auralisation.audio import AudioConfig, FrontEnd, magnitude, stft
from auralisation.auralise import auralise
from auralisation.deconv import deconvolve
from auralisation.errors import ConfigError, ModelError, ParameterError
from auralisation.frontends import (
    ROUTES,
    Filterbank,
    check_filterbank,
    filterbank_of,
    mel_filterbank,
    mel_parameters,
    model_input,
    stft_layers,
    to_linear,
)
from auralisation.methods import Attributor
from auralisation.models import MagnitudeScaling, choi2016, choi2017, choi2017_pools
from auralisation.cli import main
from auralisation.io import load_model, save_model
from auralisation.training import ARCH_CONFIGS, TrainSettings, compile_model

#: The paper's STFT with Choi et al. (2017)'s 96 mel bands.
MEL = AudioConfig(frontend=FrontEnd(filterbank="mel", n_mels=96))

#: 1 s clips, 129 bins x 87 frames, 32 mel bands: small enough to train in a test.
SMALL_MEL = AudioConfig(
    duration=1.0, n_fft=256, hop_length=128, scaling="db", frontend=FrontEnd("magnitude", "mel", 32)
)


def test_mel_filterbank_is_librosas_and_the_layer_applies_it():
    M = mel_filterbank(MEL)
    np.testing.assert_allclose(M, librosa.filters.mel(sr=11025, n_fft=512, n_mels=96), rtol=1e-6)
    S = np.random.default_rng(0).random((2, 257, 173, 1)).astype("float32")
    out = Filterbank(matrix=M)(S).numpy()
    expected = np.stack([librosa.feature.melspectrogram(S=s[..., 0], sr=11025, n_mels=96, power=1.0) for s in S])
    np.testing.assert_allclose(out[..., 0], expected, rtol=1e-4, atol=1e-6)


def test_db_scaling_is_librosas_amplitude_to_db():
    S = np.array([[0.0, 1e-7, 0.5, 1.0, 80.0]], dtype="float32")
    expected = librosa.amplitude_to_db(S, ref=1.0, amin=1e-5, top_db=None)
    np.testing.assert_allclose(np.asarray(MagnitudeScaling("db")(S)), expected, rtol=1e-5, atol=1e-4)
    assert MagnitudeScaling.identity_backward is True


def test_transpose_route_equals_tensorflows_gradient_through_the_mel_layer():
    """M.T @ w is the gradient of sum(w * Filterbank(S)) with respect to S, for any S and any w."""
    M = mel_filterbank(MEL)
    layer = Filterbank(matrix=M)
    rng = np.random.default_rng(1)
    S = tf.constant(rng.random((1, 257, 173, 1)), dtype=tf.float32)
    w = rng.standard_normal((96, 173)).astype("float32")
    with tf.GradientTape() as tape:
        tape.watch(S)
        score = tf.reduce_sum(layer(S)[0, :, :, 0] * w)
    gradient = tape.gradient(score, S).numpy()[0, :, :, 0]
    np.testing.assert_allclose(to_linear(w, M, "transpose"), gradient, rtol=1e-4, atol=1e-6)


def test_pseudo_inverse_route_recovers_what_the_filterbank_sees():
    """M @ pinv(M) @ (M @ S) = M @ S: the pinv route gives back a spectrogram the filterbank maps to the same bands."""
    M = mel_filterbank(MEL)
    S = np.random.default_rng(2).random((257, 7))
    bands = M @ S
    np.testing.assert_allclose(M @ to_linear(bands, M, "pinv"), bands, rtol=1e-3, atol=1e-5 * np.abs(bands).max())
    with pytest.raises(ParameterError, match="route"):
        to_linear(bands, M, "inverse")
    with pytest.raises(ModelError, match="96 bands"):
        to_linear(S, M)


def test_a_map_on_bands_10_to_20_comes_back_on_the_bins_those_bands_cover():
    """Band k of librosa's mel filterbank spans mel edges k to k + 2: bins strictly between edge 10 and edge 22."""
    M = mel_filterbank(MEL)
    maps = np.zeros((96, 5), dtype=np.float32)
    maps[10:21] = 1.0
    linear = to_linear(maps, M)
    edges = librosa.mel_frequencies(n_mels=96 + 2, fmin=0.0, fmax=11025 / 2)
    bins = librosa.fft_frequencies(sr=11025, n_fft=512)
    covered = (bins > edges[10]) & (bins < edges[22])
    assert covered.sum() > 10
    np.testing.assert_array_equal(linear[:, 0] > 0, covered)
    assert np.all(linear[~covered] == 0)


def test_keras_stft_layers_follow_librosas_conventions():
    y = np.random.default_rng(3).standard_normal(MEL.n_samples).astype("float32")
    inputs = keras.Input((MEL.n_samples, 1))
    x = inputs
    for layer in stft_layers(MEL):
        x = layer(x)
    S = keras.Model(inputs, x)(y[None, :, None]).numpy()[0, ..., 0]
    reference = np.abs(librosa.stft(y, n_fft=512, hop_length=256, window="hann", center=True))
    np.testing.assert_allclose(S, reference, rtol=0, atol=1e-4 * reference.max())
    with pytest.raises(ConfigError, match="win_length"):
        stft_layers(dataclasses.replace(MEL, win_length=400))


def test_model_input_for_each_front_end():
    y = np.random.default_rng(4).standard_normal(SMALL_MEL.n_samples).astype("float32")
    S = magnitude(y, SMALL_MEL)
    np.testing.assert_array_equal(model_input(y, SMALL_MEL), S)
    outside = dataclasses.replace(SMALL_MEL, frontend=FrontEnd("filterbank", "mel", 32))
    reference = librosa.feature.melspectrogram(S=S, sr=11025, n_fft=256, n_mels=32, power=1.0)
    np.testing.assert_allclose(model_input(y, outside), reference, rtol=1e-4, atol=1e-6)
    assert outside.input_shape == (32, SMALL_MEL.n_frames, 1)
    waveform = dataclasses.replace(SMALL_MEL, frontend=FrontEnd("waveform", "mel", 32))
    assert model_input(y, waveform).shape == (SMALL_MEL.n_samples, 1) == waveform.input_shape


# --- choi2017 ---------------------------------------------------------------------------------------------------


def test_choi2017_layers_and_pools_on_the_papers_input():
    model = choi2017(ARCH_CONFIGS["choi2017"], n_classes=8, seed=0)
    assert choi2017_pools(ARCH_CONFIGS["choi2017"]) == [(2, 4), (4, 4), (4, 5), (2, 2), (1, 1)]
    assert model.input_shape[1:] == (257, 173, 1)
    assert model.get_layer("scaling").output.shape[1:] == (96, 173, 1)
    assert [model.get_layer(f"conv{i}").filters for i in range(1, 6)] == [32] * 5
    assert all(isinstance(model.get_layer(f"elu{i}"), keras.layers.ELU) for i in range(1, 6))
    assert all(isinstance(model.get_layer(f"bn{i}"), keras.layers.BatchNormalization) for i in range(6))
    assert model.get_layer("pool5").output.shape[1:] == (1, 1, 32)


def test_choi2017_trains_a_few_steps_and_lowers_its_loss():
    """Two classes of spectra (energy low or high in frequency); ten Adam steps lower the training loss."""
    model = choi2017(SMALL_MEL, n_classes=2, width=8, dropout=0.0, seed=0)
    compile_model(model, TrainSettings.for_mode(True, "choi2017"))
    rng = np.random.default_rng(5)
    x = rng.random((16,) + SMALL_MEL.input_shape).astype("float32")
    y = np.arange(16) % 2
    x[y == 0, :40] *= 8.0
    x[y == 1, 80:] *= 8.0
    loss = keras.losses.SparseCategoricalCrossentropy()

    def training_loss() -> float:
        return float(loss(y, model(x, training=True)))

    before = training_loss()
    for _ in range(10):
        model.train_on_batch(x, y)
    assert training_loss() < 0.7 * before


def test_cli_trains_choi2017_with_its_mel_front_end(tmp_path, make_audio_folder, capsys):
    """``train --arch choi2017`` saves a model whose config describes the 96-band dB mel front end."""
    data = make_audio_folder(tmp_path / "data", tracks_per_label=3, seconds=4.2)
    out = tmp_path / "models" / "choi2017"
    argv = ["train", "--arch", "choi2017", "--data", str(data), "--out", str(out), "--fast", "--epochs", "1",
            "--cache", str(tmp_path / "cache")]
    assert main(argv) == 0
    assert "CNN" in capsys.readouterr().out
    trained = load_model(out)
    assert trained.model.name == "choi2017" and trained.config == ARCH_CONFIGS["choi2017"]
    assert trained.config.frontend.n_mels == 96 and trained.config.scaling == "db"
    assert trained.model.get_layer("conv1").filters == TrainSettings.for_mode(True, "choi2017").width


def test_a_saved_mel_model_loads_and_keeps_its_front_end(tmp_path):
    model = choi2017(SMALL_MEL, n_classes=2, width=4, seed=0)
    save_model(tmp_path / "m", model, SMALL_MEL, ["a", "b"])
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["frontend"] == {"input": "magnitude", "filterbank": "mel", "n_mels": 32, "fmin": 0.0, "fmax": None,
                                 "power": 1.0}
    trained = load_model(tmp_path / "m")
    assert trained.config == SMALL_MEL
    np.testing.assert_allclose(filterbank_of(trained.model, trained.config), mel_filterbank(SMALL_MEL), rtol=1e-6)
    clone = keras.models.clone_model(trained.model)  # the untrained control of the analyses keeps the filterbank
    np.testing.assert_array_equal(filterbank_of(clone, SMALL_MEL), filterbank_of(trained.model, SMALL_MEL))
    identity = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(Filterbank(matrix=np.eye(3))))
    np.testing.assert_array_equal(identity.matrix, np.eye(3))
    x = np.random.default_rng(6).random((2,) + SMALL_MEL.input_shape).astype("float32")
    np.testing.assert_allclose(trained.model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_a_lone_keras_file_gets_its_front_end_from_its_layers(tmp_path):
    """Saved without its config, a mel model's .keras file is read with the front end its layers describe."""
    choi2017(SMALL_MEL, 2, width=2, seed=0).save(tmp_path / "mine.keras")
    stft_only = dataclasses.replace(SMALL_MEL, scaling="linear", frontend=FrontEnd())
    assert load_model(tmp_path / "mine.keras", config=stft_only).config == SMALL_MEL


def test_a_config_saved_before_front_ends_reads_as_the_linear_magnitude(tmp_path):
    old = {"sr": 11025, "n_fft": 512, "hop_length": 256, "win_length": None, "window": "hann", "center": True,
           "duration": 4.0, "scaling": "linear"}
    (tmp_path / "config.json").write_text(json.dumps(old))
    config = AudioConfig.load(tmp_path / "config.json")
    assert config == AudioConfig() and config.frontend == FrontEnd()


# --- bad input --------------------------------------------------------------------------------------------------


def test_a_model_whose_front_end_disagrees_with_its_config_is_refused(tmp_path):
    model = choi2017(SMALL_MEL, n_classes=2, width=4, seed=0)
    save_model(tmp_path / "m", model, SMALL_MEL, ["a", "b"])
    other = dataclasses.replace(SMALL_MEL, frontend=FrontEnd("magnitude", "mel", 32, fmax=4000.0))
    other.save(tmp_path / "m" / "config.json")
    with pytest.raises(ModelError, match="not the config's mel filterbank"):
        load_model(tmp_path / "m")
    linear = dataclasses.replace(SMALL_MEL, frontend=FrontEnd())
    with pytest.raises(ModelError, match="applies a filterbank"):
        save_model(tmp_path / "n", model, linear, ["a", "b"])
    with pytest.raises(ModelError, match="no Filterbank"):
        save_model(tmp_path / "n", choi2016(AudioConfig(), 2, width=2), MEL, ["a", "b"])


def test_a_filterbank_that_does_not_cover_the_stft_is_refused():
    with pytest.raises(ConfigError, match="bands .* are empty"):
        mel_filterbank(AudioConfig(frontend=FrontEnd(filterbank="mel", n_mels=256)))
    gap = np.zeros((2, 257), dtype="float32")
    gap[0, 10:20] = 1.0
    gap[1, 25:40] = 1.0
    with pytest.raises(ConfigError, match=r"does not cover the STFT's bins: bins \[20, 21, 22, 23, 24\]"):
        check_filterbank(gap, AudioConfig())
    with pytest.raises(ConfigError, match="must be \\(n_bands, 257\\)"):
        check_filterbank(np.ones((4, 129)), AudioConfig())
    with pytest.raises(ValueError, match="Nyquist"):
        AudioConfig(frontend=FrontEnd(filterbank="mel", fmax=8000.0))
    with pytest.raises(ValueError, match="needs a filterbank"):
        AudioConfig(frontend=FrontEnd(input="filterbank"))


# --- deconvolution through the front end (the engine) -------------------------------------------------------------

#: 0.5 s clips: 65 bins x 44 frames; 16 mel bands.
TINY_LINEAR = AudioConfig(duration=0.5, n_fft=128, hop_length=128)
TINY_MEL = dataclasses.replace(TINY_LINEAR, frontend=FrontEnd("magnitude", "mel", 16))


def tiny_net(inputs, x, *, activation: str = "relu", seed: int = 0) -> keras.Model:
    """Two blocks (3x3 convolution of 3 filters, ``activation``, 2x2 max-pooling) on ``x``, then a softmax."""
    for block in (1, 2):
        x = keras.layers.Conv2D(3, 3, padding="same", activation=activation, name=f"conv{block}",
                                kernel_initializer=keras.initializers.GlorotUniform(seed + block),
                                bias_initializer=keras.initializers.RandomNormal(0.0, 0.1, seed=seed + 10 + block))(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="output")(x))


def clip_of(config: AudioConfig, seed: int = 0) -> np.ndarray:
    """A noisy harmonic clip of ``config.n_samples`` samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(config.n_samples) / config.sr
    y = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((220.0, 440.0, 660.0, 1320.0), start=1))
    return (0.3 * y + 0.05 * rng.standard_normal(config.n_samples)).astype("float32")


def test_an_identity_filterbank_gives_the_linear_models_maps():
    inputs = keras.Input(TINY_LINEAR.input_shape)
    linear = tiny_net(inputs, MagnitudeScaling("log", name="scaling")(inputs))
    with_bank = keras.Input(TINY_LINEAR.input_shape)
    identity = Filterbank(matrix=np.eye(TINY_LINEAR.n_bins), name="filterbank")
    x = MagnitudeScaling("log", name="scaling")(identity(with_bank))
    banked = tiny_net(with_bank, x)
    banked.set_weights(linear.get_weights())
    S = magnitude(clip_of(TINY_LINEAR), TINY_LINEAR)
    expected = deconvolve(linear, S, 2)
    assert np.abs(expected).max() > 0
    for route in ROUTES:
        maps = Attributor(banked, TINY_LINEAR, route=route).maps(S, 2)
        np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_the_transpose_route_is_the_gradient_through_the_mel_layer():
    """Under the gradient rule with the compression's true gradient, a mel model's map is TensorFlow's own gradient
    of the seeded activation with respect to the linear magnitude, and the pinv route maps the band-level map."""
    inputs = keras.Input(TINY_MEL.input_shape)
    x = MagnitudeScaling("log", name="scaling")(Filterbank(mel=mel_parameters(TINY_MEL), name="filterbank")(inputs))
    model = tiny_net(inputs, x)
    S = magnitude(clip_of(TINY_MEL), TINY_MEL)
    maps = Attributor(model, TINY_MEL, compression="gradient").maps(S, 2, [1], "gradient")[0]
    block = keras.Model(model.input, model.get_layer("pool2").output)
    s = tf.constant(S[None, ..., None])
    with tf.GradientTape() as tape:
        tape.watch(s)
        a = block(s)[..., 1]
        score = tf.reduce_sum(tf.stop_gradient(a) * a)
    expected = tape.gradient(score, s).numpy()[0, ..., 0]
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(maps, expected, rtol=1e-3, atol=1e-5 * np.abs(expected).max())
    # the band-level map: the gradient at the filterbank's output, brought back through pinv(M)
    head = keras.Model(model.get_layer("scaling").input, model.get_layer("pool2").output)
    b = tf.constant(model.get_layer("filterbank")(s))
    with tf.GradientTape() as tape:
        tape.watch(b)
        a = head(b)[..., 1]
        score = tf.reduce_sum(tf.stop_gradient(a) * a)
    on_bands = tape.gradient(score, b).numpy()[0, ..., 0]
    pinv = Attributor(model, TINY_MEL, route="pinv", compression="gradient").maps(S, 2, [1], "gradient")[0]
    np.testing.assert_allclose(pinv, np.linalg.pinv(mel_filterbank(TINY_MEL)) @ on_bands, rtol=1e-3,
                               atol=1e-5 * np.abs(pinv).max())


def test_a_feature_that_sees_mel_bands_10_to_20_maps_back_to_their_bins():
    inputs = keras.Input(MEL.input_shape)
    x = MagnitudeScaling("db", name="scaling")(Filterbank(mel=mel_parameters(MEL), name="filterbank")(inputs))
    x = keras.layers.Cropping2D(((10, 96 - 21), (0, 0)), name="bands_10_to_20")(x)
    model = tiny_net(inputs, x)
    S = magnitude(clip_of(MEL), MEL)
    maps = Attributor(model, MEL).maps(S, 2)
    edges = librosa.mel_frequencies(n_mels=96 + 2, fmin=0.0, fmax=11025 / 2)
    bins = librosa.fft_frequencies(sr=11025, n_fft=512)
    covered = (bins > edges[10]) & (bins < edges[22])
    reached = np.any(maps != 0, axis=(0, 2))
    assert np.all(reached <= covered) and reached.sum() >= 0.8 * covered.sum()


def test_a_waveform_model_with_a_keras_stft_layer_auralises_end_to_end():
    """choi2016 on the waveform (Keras STFTSpectrogram inside) gives the maps of choi2016 on librosa's |X|."""
    waveform = dataclasses.replace(TINY_LINEAR, frontend=FrontEnd(input="waveform"))
    on_wave = choi2016(waveform, n_classes=2, width=3, seed=0)
    on_magnitude = choi2016(TINY_LINEAR, n_classes=2, width=3, seed=0)
    y = clip_of(TINY_LINEAR)
    attributor = Attributor(on_wave, waveform)
    D = attributor.maps(model_input(y, waveform), 1, [0, 2])
    assert attributor.at == "spectrogram"
    expected = deconvolve(on_magnitude, magnitude(y, TINY_LINEAR), 1, [0, 2])
    np.testing.assert_allclose(D, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())
    X = stft(y, waveform)
    waves = auralise(X, D, waveform)
    assert waves.shape == (2, waveform.n_samples) and np.all(np.isfinite(waves)) and np.abs(waves).max() > 0


def test_choi2017_deconvolves_through_bn_and_elu_and_says_how():
    model = choi2017(SMALL_MEL, n_classes=2, width=4, seed=0)
    attributor = Attributor(model, SMALL_MEL)
    S = magnitude(clip_of(SMALL_MEL), SMALL_MEL)
    D = attributor.maps(S, 3, [0, 1])
    assert D.shape == (2, SMALL_MEL.n_bins, SMALL_MEL.n_frames) and np.all(np.isfinite(D)) and np.any(D != 0)
    assert "elu1..elu5" in attributor.description() and "pass relu(dy)" in attributor.description()


@pytest.mark.parametrize("front", ["mel", "waveform"])
def test_the_cli_auralises_a_saved_model_whatever_its_front_end(front, tmp_path, write_audio, capsys):
    """The command reads the front end from the saved config, says how the maps come back, and writes them."""
    from auralisation.auralise import PEAK, synthesise
    from auralisation.audio import load_clip

    if front == "mel":
        config, model, route, said = SMALL_MEL, choi2017(SMALL_MEL, 2, width=2, seed=0), "pinv", "pseudo-inverse"
    else:
        config = dataclasses.replace(TINY_LINEAR, frontend=FrontEnd(input="waveform"))
        model, route, said = choi2016(config, 2, width=2, seed=0), "transpose", "the waveform"
    save_model(tmp_path / "m", model, config, ["a", "b"])
    audio = write_audio(tmp_path / "clip.wav", clip_of(config), config.sr)
    argv = ["auralise", "--model", str(tmp_path / "m"), "--audio", str(audio), "--layers", "2", "--features", "0,1",
            "--route", route, "--no-images", "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    assert said in capsys.readouterr().out
    layer = model.get_layer("pool2").name
    written, _ = sf.read(tmp_path / "out" / "clip" / layer / "feature_001.wav", dtype="float32")
    y = load_clip(audio, config)
    D = Attributor(model, config, route=route).maps(model_input(y, config), 2, [0, 1])
    raw = synthesise(stft(y, config), D, config)
    np.testing.assert_allclose(written, raw[1] * PEAK / np.abs(raw).max(), atol=2 / 2**15)
    if front == "waveform":
        assert main(argv[:-2] + ["--method", "gradcam", "--out", str(tmp_path / "out")]) == 1
        assert "takes the waveform" in capsys.readouterr().err


def test_a_keras_melspectrogram_model_comes_back_through_its_own_filterbank():
    """A Keras MelSpectrogram on the waveform leaves no linear STFT tensor: the map is taken at its output and
    brought back through the layer's own (TensorFlow, HTK-formula) mel matrix."""
    config = dataclasses.replace(TINY_LINEAR, frontend=FrontEnd("waveform", "mel", 16))
    inputs = keras.Input(config.input_shape)
    x = keras.layers.Reshape((config.n_samples,))(inputs)
    x = keras.layers.MelSpectrogram(fft_length=128, sequence_stride=128, sequence_length=128, sampling_rate=config.sr,
                                    num_mel_bins=16, min_freq=0.0, name="mel")(x)
    model = tiny_net(inputs, keras.layers.Reshape((16, config.n_frames, 1))(x))
    reference = tf.signal.linear_to_mel_weight_matrix(16, config.n_bins, config.sr, 0.0, config.sr / 2).numpy().T
    np.testing.assert_allclose(filterbank_of(model, config), reference, rtol=0, atol=1e-3)  # Keras recomputes it
    attributor = Attributor(model, config)
    D = attributor.maps(model_input(clip_of(config), config), 1, [0, 1])
    assert attributor.at == "mel" and D.shape == (2, config.n_bins, config.n_frames) and np.any(D != 0)
