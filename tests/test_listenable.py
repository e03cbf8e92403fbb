"""The listenable-maps protocol: the seven numbers against hand-worked cases and independent formulas, masks from
maps, a toy classifier whose ideal mask is known, L-MAC's loss and training, and the benchmark end to end."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from auralisation.audio import AudioConfig, load_clip, stft
from auralisation.errors import ModelError, ParameterError
from auralisation.methods import (
    LMAC,
    LMACSettings,
    apply_mask,
    attribute,
    build_decoder,
    complexity,
    condition_waveform,
    format_benchmark,
    listenable_benchmark,
    load_lmac,
    map_to_mask,
    mask_scores,
    mix,
    save_lmac,
    sparseness,
    spread,
    top_fraction_mask,
    train_lmac,
)
from auralisation.methods.lmac import _Trainer
from auralisation.models import choi2016
from auralisation.training import prepare_data
from conftest import make_audio_folder

#: The band the toy classifier listens to (bins).
BAND = (40, 60)


def band_classifier(config: AudioConfig) -> keras.Model:
    """Two classes from the mean magnitude of bins 40..59 alone: class 1 when it exceeds 0.5 (logit gap 20 x
    (mean - 0.5)); every other bin is cropped away before anything else happens."""
    inputs = keras.Input(shape=config.input_shape)
    band = keras.layers.Cropping2D(((BAND[0], config.n_bins - BAND[1]), (0, 0)))(inputs)
    energy = keras.layers.GlobalAveragePooling2D()(band)
    dense = keras.layers.Dense(2, activation="softmax")
    outputs = dense(energy)
    model = keras.Model(inputs, outputs)
    dense.set_weights([np.array([[-10.0, 10.0]], dtype="float32"), np.array([5.0, -5.0], dtype="float32")])
    return model


def test_scores_match_a_hand_worked_case() -> None:
    # Three clips, three classes. Clip 1: p = 0.5 (class 0), masked-in 0.75, masked-out 0.1.
    # Clip 2: p = 0.6 (class 2), masked-in 0.3 and class 1 wins, masked-out 0.6. Clip 3: p = 1 (class 1).
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.0, 1.0, 0.0]])
    p_in = np.array([[0.75, 0.2, 0.05], [0.1, 0.6, 0.3], [0.2, 0.8, 0.0]])
    p_out = np.array([[0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0]])
    masks = np.zeros((3, 2, 2))
    scores = mask_scores(p, p_in, p_out, masks)
    np.testing.assert_allclose(scores["AI"], [100.0, 0.0, 0.0])
    np.testing.assert_allclose(scores["AD"], [0.0, 50.0, 20.0])  # (0.6 - 0.3) / 0.6; (1 - 0.8) / 1
    np.testing.assert_allclose(scores["AG"], [50.0, 0.0, 0.0])  # (0.75 - 0.5) / (1 - 0.5); p = 1: no room
    np.testing.assert_allclose(scores["FF"], [0.4, 0.0, 0.5])
    np.testing.assert_allclose(scores["Fid-In"], [1.0, 0.0, 1.0])


def test_sparseness_and_complexity_match_independent_formulas() -> None:
    rng = np.random.default_rng(0)
    masks = rng.random((4, 6, 5)) ** 3
    masks[1, :, :] = 0.0
    masks[1, 2, 3] = 0.7  # one bin holds everything
    flat = masks.reshape(4, -1) / masks.reshape(4, -1).max(axis=1, keepdims=True) + 1e-7
    # Gini as the mean absolute difference over twice the mean (not Quantus's sorted form).
    gini = np.abs(flat[:, :, None] - flat[:, None, :]).sum(axis=(1, 2)) / (2 * flat.shape[1] ** 2 * flat.mean(axis=1))
    np.testing.assert_allclose(sparseness(masks), gini, rtol=1e-9)
    np.testing.assert_allclose(complexity(masks), scipy.stats.entropy(masks.reshape(4, -1), axis=1), atol=1e-9)
    assert sparseness(masks)[1] == pytest.approx(1 - 1 / 30, abs=1e-5)
    assert complexity(masks)[1] == pytest.approx(0.0, abs=1e-9)
    # Scaling a mask changes neither (Quantus divides by the maximum first).
    np.testing.assert_allclose(sparseness(0.3 * masks), sparseness(masks), rtol=1e-5)
    np.testing.assert_allclose(complexity(0.3 * masks), complexity(masks), rtol=1e-9)


def test_masks_of_all_ones_and_all_zeros_give_what_the_definitions_imply(config: AudioConfig) -> None:
    model = band_classifier(config)
    rng = np.random.default_rng(1)
    spectrograms = rng.random((3, config.n_bins, config.n_frames)).astype("float32")
    spectrograms[:, BAND[0] : BAND[1]] += 0.5  # band mean about 1: class 1, p = 1 / (1 + e^-10)
    p = model.predict(spectrograms[..., None], verbose=0)
    silent = model.predict(np.zeros_like(spectrograms)[..., None], verbose=0)  # band mean 0: p(class 1) about e^-10
    for fill, in_probs, out_probs in ((1.0, p, silent), (0.0, silent, p)):
        masks = np.full(spectrograms.shape, fill, dtype="float32")
        masked_in, masked_out = apply_mask(spectrograms, masks)
        scores = mask_scores(
            p,
            model.predict(masked_in[..., None], verbose=0),
            model.predict(masked_out[..., None], verbose=0),
            masks,
        )
        np.testing.assert_allclose(scores["FF"], p[:, 1] - out_probs[:, 1], atol=1e-6)
        np.testing.assert_allclose(scores["AD"], 100 * np.maximum(p[:, 1] - in_probs[:, 1], 0) / p[:, 1], atol=1e-4)
        np.testing.assert_array_equal(scores["SPS"], 0.0)
        if fill == 1.0:  # X * M = X: nothing rises, drops or changes; everything is lost without it
            np.testing.assert_array_equal(scores["AI"], 0.0)
            np.testing.assert_allclose(scores["AD"], 0.0, atol=1e-4)
            np.testing.assert_array_equal(scores["Fid-In"], 1.0)
            np.testing.assert_allclose(scores["COMP"], np.log(config.n_bins * config.n_frames))
        else:  # X * M = silence: class 0, about all of p lost; X * (1 - M) = X: FF = 0
            np.testing.assert_array_equal(scores["Fid-In"], 0.0)
            np.testing.assert_allclose(scores["AD"], 100.0, atol=1e-2)
            assert np.isnan(scores["COMP"]).all()


def test_the_band_mask_is_faithful_and_its_complement_is_not(config: AudioConfig) -> None:
    model = band_classifier(config)
    rng = np.random.default_rng(2)
    spectrograms = rng.random((4, config.n_bins, config.n_frames)).astype("float32")
    spectrograms[:, BAND[0] : BAND[1]] += 0.5
    ideal = np.zeros((config.n_bins, config.n_frames), dtype="float32")
    ideal[BAND[0] : BAND[1]] = 1.0
    p = model.predict(spectrograms[..., None], verbose=0)
    scores = {}
    for name, mask in (("band", ideal), ("complement", 1.0 - ideal)):
        masks = np.broadcast_to(mask, spectrograms.shape)
        masked_in, masked_out = apply_mask(spectrograms, masks)
        scores[name] = mask_scores(
            p, model.predict(masked_in[..., None], verbose=0), model.predict(masked_out[..., None], verbose=0), masks
        )
    assert scores["band"]["Fid-In"].mean() == 1.0 and scores["complement"]["Fid-In"].mean() == 0.0
    assert scores["band"]["FF"].min() > 0.99 and np.abs(scores["complement"]["FF"]).max() < 1e-6
    assert scores["band"]["AD"].max() < 1e-3 and scores["complement"]["AD"].min() > 99.0
    assert scores["band"]["SPS"].mean() > scores["complement"]["SPS"].mean()


def test_map_to_mask_keeps_the_positive_part_scaled_to_one() -> None:
    saliency = np.array([[-3.0, 0.5], [2.0, 1.0]])
    np.testing.assert_allclose(map_to_mask(saliency), [[0.0, 0.25], [1.0, 0.5]])
    np.testing.assert_array_equal(map_to_mask(saliency, "threshold", threshold=0.5), [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(map_to_mask(-np.abs(saliency)), np.zeros((2, 2)))
    mask = np.array([[0.2, 0.6], [-0.1, 0.4]])  # a mask already: kept at its scale, thresholded as it is
    np.testing.assert_allclose(map_to_mask(mask, scale=False), [[0.2, 0.6], [0.0, 0.4]], rtol=1e-6)
    np.testing.assert_array_equal(map_to_mask(mask, "threshold", scale=False), [[0.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ModelError, match="scale=False"):
        map_to_mask(saliency, scale=False)
    with pytest.raises(ParameterError, match="masking"):
        map_to_mask(saliency, "binary")
    with pytest.raises(ModelError, match=r"\[0, 1\]"):
        apply_mask(np.ones((2, 2)), saliency)


def test_spread_samples_every_part_of_a_split() -> None:
    assert spread(10, 4) == [0, 2, 5, 7]
    assert spread(3, None) == spread(3, 5) == [0, 1, 2]
    labels = np.repeat(np.arange(8), 18)  # a test split ordered by class
    assert np.bincount(labels[spread(len(labels), 48)]).tolist() == [6] * 8


def test_mix_weights_the_normalised_clips_and_peaks_at_one() -> None:
    s = np.array([1.0, -2.0, 2.0])
    np.testing.assert_allclose(mix(s, s), s / 2.0, rtol=1e-6)  # the same clip twice: itself, peak 1
    np.testing.assert_allclose(mix([3.0, 0.0], [0.0, 4.0], gain=1.0), [1.0, 1.0])
    with pytest.raises(ModelError, match="silent"):
        mix(s, np.zeros(3))


def test_the_noise_condition_is_the_recipes_six_decibels(config: AudioConfig, tmp_path) -> None:
    from auralisation.audio import write_wav
    from auralisation.data import Excerpt

    t = np.arange(config.n_samples) / config.sr
    clean = (0.5 * np.sin(2 * np.pi * 440 * t)).astype("float32")
    path = write_wav(tmp_path / "a.wav", clean, config.sr, normalize="none")
    noisy = condition_waveform([Excerpt(path, "a", 0.0)], 0, "noise", config)
    clip = load_clip(path, config)
    scale = float(noisy @ clip / (clip @ clip))  # the clip's part of the mixture; the rest is the noise
    noise = noisy - scale * clip
    snr = 20 * np.log10(np.linalg.norm(scale * clip) / np.linalg.norm(noise))
    assert snr == pytest.approx(20 * np.log10(2.0), abs=0.3)  # s / |s| + 0.5 n / |n|: 6 dB, not 12


def test_top_fraction_masks_and_the_baselines_keep_what_they_say() -> None:
    from auralisation.methods.benchmark import _baseline_masks

    saliency = np.random.default_rng(0).normal(size=(20, 10))
    for q in (5, 10, 20, 50):
        mask = top_fraction_mask(saliency, q)
        assert mask.sum() == q * 2 and saliency[mask == 1].min() >= saliency[mask == 0].max()
    method = map_to_mask(saliency)
    rows = {(name, masking): mask for name, masking, mask in
            _baseline_masks({("gradient", "normalised"): method}, ["normalised"], np.random.default_rng(1))}
    shuffled = rows["random@gradient", "normalised"]
    np.testing.assert_array_equal(np.sort(shuffled.ravel()), np.sort(method.ravel()))  # the same values, elsewhere
    assert not np.array_equal(shuffled, method)
    scores = mask_scores(np.ones((2, 2)) / 2, np.ones((2, 2)) / 2, np.ones((2, 2)) / 2, np.stack([method, shuffled]))
    assert scores["SPS"][0] == pytest.approx(scores["SPS"][1]) and scores["COMP"][0] == pytest.approx(scores["COMP"][1])
    np.testing.assert_allclose(rows["constant@gradient", "normalised"], method.mean(), rtol=1e-6)
    assert rows["ones", "normalised"].min() == 1.0 and rows["zeros", "normalised"].max() == 0.0


def test_a_trivial_mask_beats_an_unfaithful_method(config: AudioConfig, tmp_path, monkeypatch) -> None:
    from auralisation.audio import write_wav
    from auralisation.data import Excerpt
    from auralisation.methods import benchmark

    model = band_classifier(config)
    t = np.arange(config.n_samples) / config.sr
    hertz = (BAND[0] + BAND[1]) / 2 * config.sr / config.n_fft  # a tone in the band the classifier hears
    excerpts = []
    for k in range(3):
        y = 0.5 * np.sin(2 * np.pi * hertz * t) + 0.3 * np.sin(2 * np.pi * (3000 + 200 * k) * t)
        excerpts.append(Excerpt(write_wav(tmp_path / f"{k}.wav", y.astype("float32"), config.sr, normalize="none"),
                                "high", 0.0))

    def unfaithful(model, spectrogram, method, class_index, **options):
        saliency = np.zeros_like(spectrogram)
        saliency[120:160] = spectrogram[120:160]  # all of it on the other tone, none on the band that decides
        return saliency

    monkeypatch.setattr(benchmark, "explanation_map", unfaithful)
    result = listenable_benchmark(model, excerpts, ["low", "high"], config, methods=["gradient"],
                                  conditions=["clean"], progress=False)
    rows = {row["method"]: row for row in result.table("clean", "normalised", n_boot=50)}
    assert rows["gradient"]["Fid-In"].mean == 0.0 and rows["ones"]["Fid-In"].mean == 1.0
    assert abs(rows["gradient"]["FF"].mean) < 1e-6 < rows["ones"]["FF"].mean
    wins = {(method, score, baseline) for method, score, baseline, *_ in benchmark.trivial_wins(result)}
    assert {("gradient", "Fid-In", "ones"), ("gradient", "FF", "ones"), ("gradient", "FF", "random@gradient")} <= wins
    assert "A trivial mask does as well as gradient on FF" in benchmark.summarise_benchmark(result)
    table = format_benchmark(result)
    assert "| *baseline: random@gradient* |" in table and "| gradient |" in table
    curves = benchmark.sparsity_curves(result, "clean", "Fid-In", n_boot=50)
    assert set(curves) == {"gradient", "random"} and len(curves["gradient"]) == 4
    from auralisation.plotting import equal_sparsity

    figure = equal_sparsity(result)
    assert [ax.get_ylabel() for ax in figure.axes] == ["FF", "Fid-In"]
    assert [line.get_ydata()[0] for line in figure.axes[1].get_lines()] == [curves["gradient"][0].mean,
                                                                            curves["random"][0].mean]


def test_lmac_loss_of_a_constant_mask_is_the_hand_computed_one(config: AudioConfig) -> None:
    model = choi2016(config, n_classes=3, width=4, seed=0)
    decoder = build_decoder(model, width=2, seed=0)
    for variable in decoder.weights:
        variable.assign(np.zeros(variable.shape, dtype="float32"))  # sigmoid(0): M = 0.5 everywhere
    settings = LMACSettings()
    trainer = _Trainer(LMAC(model, decoder), settings)
    x = np.random.default_rng(3).random((2, config.n_bins, config.n_frames, 1)).astype("float32")
    terms = {name: float(value) for name, value in trainer._terms(tf.constant(x)).items()}
    c = model.predict(x, verbose=0).argmax(axis=1)
    half = model.predict(0.5 * x, verbose=0)
    ce = -np.log(np.clip(half[np.arange(2), c], 1e-7, 1.0)).mean()
    # the recipe's L1: each clip's mean |M| (0.5), summed over the batch of 2; the cross-entropies are batch means
    assert terms["l1"] == pytest.approx(2 * 0.5) and terms["tv"] == pytest.approx(0.0)
    assert terms["density"] == pytest.approx(0.5)
    assert terms["ce_in"] == pytest.approx(ce, rel=1e-4) and terms["ce_out"] == pytest.approx(ce, rel=1e-4)
    expected = (settings.weight_in - settings.weight_out) * ce + settings.weight_l1 * 2 * 0.5
    assert terms["loss"] == pytest.approx(expected, rel=1e-4)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A three-class tone dataset, a narrow choi2016 and an L-MAC decoder trained for two steps on it."""
    tmp = tmp_path_factory.mktemp("lmac")
    config = AudioConfig()
    data = prepare_data(make_audio_folder(tmp / "data", tracks_per_label=3, seconds=9.0), config, tmp / "cache")
    model = choi2016(config, len(data.classes), width=4, seed=0)
    before = [w.copy() for w in model.get_weights()]
    settings = LMACSettings.for_mode(True)
    lmac, history = train_lmac(model, data.splits.train, data.classes, data.cache, settings, verbose=0)
    return tmp, config, data, model, before, settings, lmac, history


def test_lmac_trains_only_the_decoder_and_round_trips(toy: tuple) -> None:
    tmp, config, data, model, before, settings, lmac, history = toy
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)  # the classifier stays frozen
    fresh = build_decoder(model, width=settings.width, seed=settings.seed)
    assert any(not np.array_equal(a, b) for a, b in zip(fresh.get_weights(), lmac.decoder.get_weights()))
    assert set(history) >= {"loss", "ce_in", "ce_out", "l1", "tv", "seconds"}
    with pytest.raises(ModelError, match="auralisation lmac --model"):
        load_lmac(tmp / "model", model)
    save_lmac(tmp / "model", lmac, settings, history)
    loaded = load_lmac(tmp / "model", model)
    S = np.abs(stft(load_clip(data.splits.test[0].path, config), config))
    mask = lmac.mask(S)
    np.testing.assert_allclose(loaded.mask(S), mask, atol=1e-6)
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    other = choi2016(config, len(data.classes), width=8, seed=1)
    with pytest.raises(ModelError, match="train a decoder for this model"):
        load_lmac(tmp / "model", other)


def test_a_decoder_saved_with_another_loss_is_trained_again(toy: tuple, monkeypatch) -> None:
    import json

    from auralisation.io import save_model
    from auralisation.methods import lmac as lmac_module

    tmp, config, data, model, _, settings, lmac, history = toy
    folder = save_model(tmp / "relearn", model, config, data.classes)
    save_lmac(folder, lmac, settings, history)
    assert json.loads((folder / "lmac.json").read_text())["loss"] == lmac_module.LOSS
    loaded, note = lmac_module.load_or_train_lmac(folder, model, data, settings)
    assert note.startswith("L-MAC decoder loaded")
    info = json.loads((folder / "lmac.json").read_text())
    del info["loss"]  # a decoder saved before the loss was recorded: the batch-mean L1 term
    (folder / "lmac.json").write_text(json.dumps(info))
    monkeypatch.setattr(lmac_module, "train_lmac", lambda *a, **k: (lmac, {**history, "seconds": [1.0]}))
    _, note = lmac_module.load_or_train_lmac(folder, model, data, settings)
    assert note.startswith("L-MAC decoder trained")
    assert json.loads((folder / "lmac.json").read_text())["loss"] == lmac_module.LOSS


def test_benchmark_scores_are_those_of_the_masks_computed_directly(toy: tuple) -> None:
    tmp, config, data, model, _, _, lmac, _ = toy
    test = data.splits.test
    out = tmp / "scores.json"
    result = listenable_benchmark(
        model, test, data.classes, config, methods=["gradcam", "lmac"], clips=[0, 1], lmac=lmac, out=out, progress=False
    )
    assert result.clips == [0, 1] and out.is_file()
    for condition in ("clean", "mixture", "noise"):
        y = condition_waveform(test, 1, condition, config)
        s = np.abs(stft(y, config)).astype("float32")
        p = model.predict(s[None, ..., None], verbose=0)
        c = int(p.argmax())
        gradcam = attribute(model, s, "gradcam", class_index=c)
        masks = np.stack([map_to_mask(gradcam), map_to_mask(lmac.mask(s), scale=False)])
        masked_in, masked_out = apply_mask(np.broadcast_to(s, masks.shape), masks)
        expected = mask_scores(
            np.repeat(p, 2, axis=0),
            model.predict(masked_in[..., None], verbose=0),
            model.predict(masked_out[..., None], verbose=0),
            masks,
        )
        for row, method in enumerate(("gradcam", "lmac")):
            got = result.scores[condition]["normalised"][method]
            for name in ("AD", "FF", "SPS"):
                assert got[name][1] == pytest.approx(expected[name][row], rel=1e-4, abs=1e-5)
    again = listenable_benchmark(
        model, test, data.classes, config, methods=["gradcam", "lmac"], clips=[0, 1], lmac=lmac, out=out,
        progress=False,
    )
    assert again.to_json() == result.to_json()  # resumed: nothing left to do (NaN scores of the all-zeros mask too)
    other = listenable_benchmark(
        model, test, data.classes, config, methods=["gradcam"], conditions=["clean"], clips=[1], out=out,
        progress=False,
    )
    assert other.clips == [1]  # other settings: the saved run is not resumed but started afresh
    clean = result.scores["clean"]["normalised"]["gradcam"]["FF"]
    assert other.scores["clean"]["normalised"]["gradcam"]["FF"] == pytest.approx(clean[1:], rel=1e-6)
    table = format_benchmark(result)
    assert "| lmac |" in table and "see the paper" in table
    with pytest.raises(ModelError, match="no decoder"):
        listenable_benchmark(model, test, data.classes, config, methods=["lmac"], clips=[0], progress=False)



def test_commands_train_the_decoder_beside_the_model_and_write_the_table(toy: tuple, capsys) -> None:
    from auralisation.cli import main
    from auralisation.io import save_model

    tmp, config, data, model, *_ = toy
    folder = save_model(tmp / "cli_model", model, config, data.classes)
    common = ["--model", str(folder), "--data", str(tmp / "data"), "--cache", str(tmp / "cache")]
    out = ["--out", str(tmp / "bench"), "--methods", "gradcam,lmac", "--clips", "1"]
    assert main(["benchmark", *common, *out, "--publish"]) == 1  # the documentation's table: the whole split only
    assert "drop --clips and --methods" in capsys.readouterr().err
    assert main(["benchmark", *common, *out]) == 1
    assert "auralisation lmac --model" in capsys.readouterr().err
    assert main(["lmac", *common, "--fast"]) == 0
    assert (folder / "lmac.keras").is_file() and (folder / "lmac.json").is_file()
    assert main(["benchmark", *common, *out]) == 0
    table = (tmp / "bench" / "table.md").read_text()
    tables, sparsity = table.split("### Equal sparsity")
    assert tables.count("| lmac |") == 6  # three conditions, two maskings
    assert sparsity.count("| lmac |") == 6 and "q = 50 %" in sparsity  # three conditions, FF and Fid-In
