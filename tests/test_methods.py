"""Tests of the attribution methods, the faithfulness curves and the randomisation sanity check.

Every model here is tiny and hand-built, with weights set so that the right answer can be written down with numpy.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.special import expit

from auralisation.audio import AudioConfig
from auralisation.deconv import deconvolve
from auralisation.errors import ModelError, ParameterError
from auralisation.methods import (
    METHODS,
    RANDOM,
    Attributor,
    Curve,
    Faithfulness,
    Sanity,
    conclude,
    attribute,
    cascading_randomisation,
    faithfulness,
    rank_bins,
    randomise,
    ssim,
    summarise_faithfulness,
    summarise_sanity,
)
from auralisation.methods.occlusion import positions
from auralisation import plotting


def _set(model: keras.Model, name: str, kernel: np.ndarray, bias: np.ndarray | None = None) -> None:
    """Set a layer's kernel (and bias, zero by default)."""
    layer = model.get_layer(name)
    bias = np.zeros(kernel.shape[-1]) if bias is None else bias
    layer.set_weights([kernel.astype("float32"), np.asarray(bias, dtype="float32")])


def _pointwise_model(shape: tuple[int, int], kernel: list[float], n_classes: int = 2, *, pool: bool = False,
                     activation: str | None = "relu", output: str = "softmax") -> keras.Model:
    """Input -> 1x1 Conv2D ``conv`` (one channel per kernel value) [-> 2x2 max-pool ``pool``] -> Flatten -> Dense."""
    inputs = keras.Input((*shape, 1))
    x = keras.layers.Conv2D(len(kernel), 1, activation=activation, name="conv")(inputs)
    if pool:
        x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(n_classes, activation=output, name="output")(x)
    model = keras.Model(inputs, outputs, name="pointwise")
    _set(model, "conv", np.array(kernel, dtype="float32").reshape(1, 1, 1, -1))
    return model


def _small_cnn(seed: int = 0) -> keras.Model:
    """Two conv blocks and a dense head on 16 x 16 inputs, seeded Glorot weights."""
    init = lambda offset: keras.initializers.GlorotUniform(seed=seed * 10 + offset)  # noqa: E731
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer=init(1), name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer=init(2), name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(8, activation="relu", kernel_initializer=init(3), name="dense1")(x)
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=init(4), name="output")(x)
    return keras.Model(inputs, outputs, name="small")


# --- the rules through attribute ------------------------------------------------------------------------------


def test_rules_on_a_class_follow_their_truth_tables() -> None:
    # conv: z0 = x, z1 = -x (1x1, no bias), ReLU; logit_c = sum_p w[p, 0, c] relu(z0) + w[p, 1, c] relu(z1).
    rng = np.random.default_rng(0)
    model = _pointwise_model((3, 4), [1.0, -1.0])
    w = rng.normal(size=(3, 4, 2, 2))
    _set(model, "output", w.reshape(-1, 2))
    x = rng.normal(size=(3, 4)).astype("float32")
    dy = w[..., 1]  # upstream gradient of the class-1 logit at each channel (z0, z1)
    z = np.stack([x, -x], axis=-1)
    passed = {
        "deconvnet": np.maximum(dy, 0),
        "guided": np.maximum(dy, 0) * (z > 0),
        "gradient": dy * (z > 0),
    }
    maps = {}
    for rule, g in passed.items():
        maps[rule] = attribute(model, x, rule, class_index=1)
        np.testing.assert_allclose(maps[rule], g[..., 0] - g[..., 1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(maps["deconvnet"], maps["guided"])
    assert not np.allclose(maps["guided"], maps["gradient"])


def test_rules_on_a_feature_are_deconvolve() -> None:
    model = _small_cnn()
    x = np.random.default_rng(1).random((16, 16)).astype("float32")
    for rule in ("deconvnet", "guided", "gradient"):
        expected = deconvolve(model, x, "pool2", [3], rule=rule)[0]
        np.testing.assert_array_equal(attribute(model, x, rule, layer=2, feature=3), expected)


# --- Grad-CAM -------------------------------------------------------------------------------------------------


def _bilinear(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Reference bilinear resize with half-pixel centres and clamped edges."""

    def axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(pos).astype(int)
        return low, np.minimum(low + 1, n_in - 1), pos - low

    r0, r1, fr = axis(a.shape[0], shape[0])
    c0, c1, fc = axis(a.shape[1], shape[1])
    top = a[r0][:, c0] * (1 - fc) + a[r0][:, c1] * fc
    bottom = a[r1][:, c0] * (1 - fc) + a[r1][:, c1] * fc
    return top * (1 - fr[:, None]) + bottom * fr[:, None]


def test_gradcam_is_the_upsampled_channel_that_drives_the_class() -> None:
    rng = np.random.default_rng(2)
    model = _pointwise_model((8, 6), [1.0, 2.0, -1.0], n_classes=2, pool=True)
    w = np.zeros((4, 3, 3, 2))
    w[..., 1, 1] = rng.uniform(0.5, 1.5, size=(4, 3))  # class 1 reads channel 1 only
    w[..., 0, 0] = rng.uniform(-1, 1, size=(4, 3))
    _set(model, "output", w.reshape(-1, 2))
    x = rng.normal(size=(8, 6)).astype("float32")
    channel = np.maximum(2.0 * x, 0).reshape(4, 2, 3, 2).max(axis=(1, 3))  # pool of relu(2 x)
    expected = _bilinear(np.maximum(w[..., 1, 1].mean() * channel, 0), (8, 6))
    got = attribute(model, x, "gradcam", class_index=1, cam_layer="pool")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # The default layer is the one before pooling: each 2x2 window passes its weight to its switch alone, so the
    # channel's mean gradient is the mean weight over 4, and the map is relu(2x) at full resolution times that.
    default = attribute(model, x, "gradcam", class_index=1)
    np.testing.assert_allclose(default, w[..., 1, 1].mean() / 4 * np.maximum(2 * x, 0), rtol=1e-5, atol=1e-6)


# --- occlusion ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fill", ["zero", "mean"])
def test_occlusion_sees_only_the_receptive_band(fill: str) -> None:
    rng = np.random.default_rng(3)
    shape, band = (32, 8), slice(10, 21)
    model = _pointwise_model(shape, [1.0], activation=None, output="linear")
    w = np.zeros((*shape, 2))
    w[band, :, 0] = rng.uniform(0.5, 1.5, size=(11, 8))
    _set(model, "output", w.reshape(-1, 2))
    x = rng.random(shape).astype("float32")
    value = 0.0 if fill == "zero" else x.mean()
    total, count = np.zeros(shape), np.zeros(shape)
    for r in positions(32, 4, 2):
        for c in positions(8, 4, 2):
            patch = (slice(r, r + 4), slice(c, c + 4))
            drop = (w[..., 0][patch] * (x[patch] - value)).sum()
            total[patch] += drop
            count[patch] += 1
    got = attribute(model, x, "occlusion", class_index=0, patch=(4, 4), fill=fill)
    np.testing.assert_allclose(got, total / count, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[:8], 0.0, atol=1e-5)
    np.testing.assert_allclose(got[24:], 0.0, atol=1e-5)
    assert np.all(np.abs(got[band]) > 1e-3)


def test_positions_cover_every_cell() -> None:
    assert positions(257, 16, 8).tolist()[-2:] == [240, 241]
    assert positions(5, 8, 4).tolist() == [0]


# --- faithfulness ---------------------------------------------------------------------------------------------


def _linear_classifier(rng: np.random.Generator) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """Class 0's logit is ``sum(w * x) - 2`` (class 1's is 0), so its probability is ``expit(sum(w * x) - 2)``."""
    shape = (8, 6)
    model = _pointwise_model(shape, [1.0], activation=None)
    w = np.zeros((*shape, 2))
    w[..., 0] = rng.uniform(0.0, 0.5, size=shape)
    _set(model, "output", w.reshape(-1, 2), np.array([-2.0, 0.0]))
    return model, w[..., 0], rng.random(shape).astype("float32")


def test_deletion_by_the_true_ranking_beats_random_and_reversed() -> None:
    model, w, x = _linear_classifier(np.random.default_rng(4))
    truth = w * x
    result = faithfulness(model, x, {"truth": truth, "reversed": -truth}, class_index=0, steps=12)
    order = np.argsort(-truth.ravel(), kind="stable")
    counts = np.round(np.linspace(0, 1, 13) * x.size).astype(int)
    left = [expit(truth.ravel()[order[k:]].sum() - 2) for k in counts]
    np.testing.assert_allclose(result.deletion["truth"].scores, left, rtol=1e-5)
    deletion = {name: curve.auc for name, curve in result.deletion.items()}
    insertion = {name: curve.auc for name, curve in result.insertion.items()}
    assert deletion["truth"] < deletion[RANDOM] < deletion["reversed"]
    assert insertion["truth"] > insertion[RANDOM] > insertion["reversed"]
    summary = summarise_faithfulness(result)
    assert "Most faithful by deletion: truth; by insertion: truth" in summary
    assert "reversed" in summary.split("No better than a random ranking on either curve:")[1]


def test_rank_bins_orders_by_value_or_magnitude_and_breaks_ties_at_random() -> None:
    saliency = np.array([[0.1, -3.0], [2.0, 0.5]])
    assert rank_bins(saliency).tolist() == [2, 3, 0, 1]
    assert rank_bins(saliency, by="abs").tolist() == [1, 2, 3, 0]
    ties = np.zeros(200)
    assert rank_bins(ties, seed=1).tolist() != list(range(200))
    assert rank_bins(ties, seed=1).tolist() == rank_bins(ties, seed=1).tolist()


# --- cascading randomisation ----------------------------------------------------------------------------------


def test_cascading_randomisation_leaves_the_model_alone_and_changes_the_gradient() -> None:
    model = _small_cnn()
    before = [w.copy() for w in model.get_weights()]
    x = np.random.default_rng(5).random((16, 16)).astype("float32")
    trained = attribute(model, x, "gradient", class_index=1)
    result = cascading_randomisation(model, x, ["gradient", "deconvnet"], class_index=1, seed=7)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert result.stages == ("output", "dense1", "conv2", "conv1")
    np.testing.assert_allclose(result.maps["gradient"][0], trained, rtol=1e-6)
    assert result.scores["spearman"].shape == (4, 2)
    assert result.similarity("gradient", "spearman")[-1] < 0.9
    assert not np.allclose(result.maps["gradient"][-1], trained)
    assert "- gradient:" in summarise_sanity(result)


def test_a_feature_is_randomised_only_below_its_layer() -> None:
    model = _small_cnn()
    x = np.random.default_rng(6).random((16, 16)).astype("float32")
    result = cascading_randomisation(model, x, ["gradcam"], layer="pool1", feature=0)
    assert result.stages == ("conv1",)


def test_randomise_draws_from_the_layers_own_initialiser() -> None:
    model = _small_cnn()
    layer = model.get_layer("conv2")
    layer.bias.assign(np.ones(4, dtype="float32"))
    randomise(layer, seed=3)
    expected = keras.initializers.GlorotUniform(seed=300)(layer.kernel.shape)
    np.testing.assert_allclose(layer.kernel.numpy(), np.asarray(expected))
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(4))


def test_ssim_matches_the_closed_form_for_constant_images() -> None:
    a, b = np.full((12, 12), 0.2), np.full((12, 12), 0.7)
    c1 = 0.01**2
    assert ssim(a, b) == pytest.approx((2 * 0.2 * 0.7 + c1) / (0.2**2 + 0.7**2 + c1))
    noise = np.random.default_rng(7).random((12, 12))
    assert ssim(noise, noise) == pytest.approx(1.0)
    assert ssim(noise, 1 - noise) < 0


def _curves(aucs: dict[str, float]) -> dict[str, Curve]:
    """Flat curves over [0, 1] whose areas are the given values."""
    return {name: Curve(np.array([0.0, 1.0]), np.array([auc, auc])) for name, auc in aucs.items()}


def test_conclude_trusts_only_methods_that_are_faithful_and_depend_on_the_weights() -> None:
    faith = [
        Faithfulness(target, "probability", "value", "zeros",
                     _curves({"gradient": 0.2, "deconvnet": 0.1, "gradcam": 0.5, RANDOM: 0.4}),
                     _curves({"gradient": 0.7, "deconvnet": 0.8, "gradcam": 0.6, RANDOM: 0.5}))
        for target in ("class 0", "feature 1 of pool2")
    ]
    rho = np.array([[0.3, 0.95, 0.2], [0.1, 0.85, 0.0]])  # stages x (gradient, deconvnet, gradcam)
    sanity = Sanity("class 0", ("gradient", "deconvnet", "gradcam"), ("output", "dense1"),
                    {"spearman": rho, "spearman_abs": rho, "ssim": rho}, {})
    text = conclude(faith, sanity)
    assert text.splitlines()[0].endswith("depends on the learned weights): gradient.")
    assert "Use deconvnet with care: its map barely changes" in text and "0.90" in text
    assert "Use gradcam with care: it beats a random ranking of bins on both curves for 0/2 targets." in text
    assert "confirm any claim" in text


def test_a_target_selects_itself() -> None:
    attributor = Attributor(_small_cnn())
    for selection in ({"class_index": 1}, {"layer": "pool2", "feature": 3}):
        assert attributor.target(**selection).selection == selection
    assert attributor.target(layer=2, feature=3).selection == {"layer": "pool2", "feature": 3}


# --- errors and figures ---------------------------------------------------------------------------------------


def test_bad_requests_raise_model_errors() -> None:
    model = _small_cnn()
    x = np.zeros((16, 16), dtype="float32")
    with pytest.raises(ParameterError, match="unknown attribution method"):
        attribute(model, x, "lime", class_index=0)
    with pytest.raises(ModelError, match="not both"):
        attribute(model, x, "gradient", class_index=0, layer=1, feature=0)
    with pytest.raises(ModelError, match="classes 0..1"):
        attribute(model, x, "gradient", class_index=2)
    with pytest.raises(ModelError, match="features 0..3"):
        attribute(model, x, "gradcam", layer="pool1", feature=4)
    with pytest.raises(ParameterError, match="takes no option patch"):
        attribute(model, x, "gradient", class_index=0, patch=(4, 4))
    with pytest.raises(ModelError, match="does not fit"):
        attribute(model, np.zeros((8, 16)), "gradient", class_index=0)
    with pytest.raises(ModelError, match="not below"):
        Attributor(model).attribute(x, "gradcam", Attributor(model).target(layer=1, feature=0), cam_layer="conv2")
    with pytest.raises(ParameterError, match="gradcam takes no seeding"):
        Attributor(model).maps(x, 1, [0], "gradcam", seeding="max")
    with pytest.raises(ParameterError, match="takes no option patch"):
        Attributor(model).maps(x, 1, [0], "guided", patch=(4, 4))


def test_every_method_gives_a_map_and_figures_are_drawn() -> None:
    model = _small_cnn()
    x = np.random.default_rng(8).random((16, 16)).astype("float32")
    options = {"occlusion": {"patch": (4, 4)}}
    maps = {m: attribute(model, x, m, class_index=0, **options.get(m, {})) for m in METHODS}
    assert all(m.shape == (16, 16) and m.dtype == np.float32 and np.isfinite(m).all() for m in maps.values())
    config = AudioConfig(n_fft=30, hop_length=8, duration=15 * 8 / 11025)
    assert (config.n_bins, config.n_frames) == (16, 16)
    fig = plotting.method_grid({"class 0": maps}, config, spectrogram=x)
    assert len(fig.axes) == 1 + len(METHODS)
    assert fig.axes[1].get_title() == "deconvnet (class 0)"


def test_scorer_takes_one_spectrogram_not_a_batch() -> None:
    from auralisation.models import choi2016

    model = choi2016(AudioConfig(n_fft=62, hop_length=64, duration=0.2), n_classes=2, width=3, seed=0)
    x = np.random.default_rng(0).random((32, 35)).astype(np.float32)
    scorer = Attributor(model).scorer(Attributor(model).target(class_index=0))
    np.testing.assert_array_equal(scorer.check(x[..., None]), x)
    with pytest.raises(ModelError, match="expected one spectrogram"):
        scorer.check(np.stack([x, x]))


def test_seeding_max_changes_a_feature_map_and_is_refused_for_a_class() -> None:
    model = _small_cnn()
    x = np.random.default_rng(4).random((16, 16)).astype("float32")
    expected = attribute(model, x, "deconvnet", layer=1, feature=2, seeding="max")
    assert not np.allclose(expected, attribute(model, x, "deconvnet", layer=1, feature=2))  # "max" differs from "map"
    with pytest.raises(ParameterError, match="no option seed"):
        attribute(model, x, "deconvnet", layer=1, feature=2, seed="max")  # one name per option
    with pytest.raises(ParameterError, match="seeding='max' applies to a feature map"):
        attribute(model, x, "gradient", class_index=0, seeding="max")
