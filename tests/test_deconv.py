"""Deconvolution: values against an independent numpy/scipy reference, hand-worked cases, rules, bad input."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from definitions import feature_gradient  # noqa: E402
import reference_deconv as reference  # noqa: E402
from auralisation.audio import AudioConfig  # noqa: E402
from auralisation.deconv import Deconvolver, deconvolve  # noqa: E402
from auralisation.deconv.core import _cached  # noqa: E402
from auralisation.deconv.rules import ruled_activation  # noqa: E402
from auralisation.methods.target import Scorer, Target, logits_of  # noqa: E402
from auralisation.errors import ModelError, ParameterError  # noqa: E402
from auralisation.models import MagnitudeScaling, choi2016  # noqa: E402

RULES = ("deconvnet", "guided", "gradient")
SHAPE = (17, 13)  # odd: each pooling drops a row and a column


def random_blocks(n_blocks: int, seed: int, *, bias: bool = False, channels=(4, 5, 6)) -> list[reference.Block]:
    """A random network of ``n_blocks`` 3x3 conv + ReLU + 2x2 pool blocks (weights exactly float32)."""
    rng = np.random.default_rng(seed)
    blocks, previous = [], 1
    for out in channels[:n_blocks]:
        kernel = (rng.standard_normal((3, 3, previous, out)) / np.sqrt(9 * previous)).astype(np.float32)
        b = (0.1 * rng.standard_normal(out)).astype(np.float32) if bias else None
        blocks.append(reference.Block(kernel, b))
        previous = out
    return blocks


def keras_model(
    blocks: list[reference.Block], shape=SHAPE, *, spelling: str = "conv", scaling: str | None = None
) -> keras.Model:
    """The Keras twin of ``blocks``; ``spelling`` is how the ReLU is written ("conv", "activation", "relu")."""
    inputs = keras.Input((*shape, 1), name="spectrogram")
    x = MagnitudeScaling(scaling, name="scaling")(inputs) if scaling else inputs
    for i, block in enumerate(blocks, start=1):
        conv = keras.layers.Conv2D(
            block.kernel.shape[3], 3, padding="same", use_bias=block.bias is not None,
            activation="relu" if spelling == "conv" else None, name=f"conv{i}",
        )
        x = conv(x)
        conv.set_weights([block.kernel] + ([block.bias] if block.bias is not None else []))
        if spelling == "activation":
            x = keras.layers.Activation("relu", name=f"act{i}")(x)
        elif spelling == "relu":
            x = keras.layers.ReLU(name=f"relu{i}")(x)
        if block.pool:
            x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="twin")


def spectrogram(seed: int = 0, shape=SHAPE) -> np.ndarray:
    """A random non-negative 'magnitude spectrogram', exactly float32."""
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float = 1e-4) -> None:
    """Largest difference below ``tolerance`` of the largest value (and the expected values not all zero)."""
    scale = np.max(np.abs(expected))
    assert scale > 0
    assert np.max(np.abs(actual - expected)) < tolerance * scale


# --- the rules, on a known input through one ReLU -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("deconvnet", [1, 1, 0, 0, 2]), ("guided", [0, 0, 0, 0, 2]), ("gradient", [0, 0, 0, -1, 2])],
)
def test_rule_truth_table(rule: str, expected: list[float]) -> None:
    x = tf.constant([-1.0, 0.0, -2.0, 2.0, 3.0])
    dy = tf.constant([1.0, 1.0, -1.0, -1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = ruled_activation(tf.nn.relu, rule, "rectifier")(x)
    np.testing.assert_array_equal(y.numpy(), [0, 0, 0, 2, 3])
    np.testing.assert_array_equal(tape.gradient(y, x, output_gradients=dy).numpy(), expected)


# --- against the independent reference ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twins() -> dict[int, tuple[list[reference.Block], keras.Model]]:
    """Random bias-free networks of 1, 2 and 3 blocks with their Keras twins."""
    return {n: (blocks := random_blocks(n, seed=n), keras_model(blocks)) for n in (1, 2, 3)}


@pytest.mark.parametrize("n_blocks", [1, 2, 3])
def test_deconvnet_matches_reference(twins, n_blocks: int) -> None:
    blocks, model = twins[n_blocks]
    S = spectrogram(n_blocks)
    D = deconvolve(model, S, layer=n_blocks)
    assert D.shape == (blocks[-1].kernel.shape[3], *SHAPE) and D.dtype == np.float32
    assert_close(D, np.stack([reference.deconvolve(S, blocks, k) for k in range(D.shape[0])]))


@pytest.mark.parametrize("rule", RULES)
def test_unfused_transposed_convolutions_match_reference(twins, rule: str, monkeypatch) -> None:
    """With the fused unpool-and-convolve step switched off, the plain transposed convolutions give the same."""
    monkeypatch.setattr("auralisation.deconv.fast.FUSED_WEIGHTS_BUDGET", 0)
    blocks, model = twins[3]
    S = spectrogram(12)
    fast = Deconvolver(model, rule).deconvolve(S, 3)
    assert_close(fast, np.stack([reference.deconvolve(S, blocks, k, rule=rule) for k in range(fast.shape[0])]))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seeding", ["map", "max"])
def test_rules_and_seedings_match_reference_both_methods(twins, rule: str, seeding: str) -> None:
    blocks, model = twins[3]
    S = spectrogram(7)
    deconvolver = Deconvolver(model, rule)
    fast = deconvolver.deconvolve(S, 3, seeding=seeding)
    tape = deconvolver.deconvolve(S, 3, seeding=seeding, engine="tape")
    expected = np.stack([reference.deconvolve(S, blocks, k, seeding=seeding, rule=rule) for k in range(fast.shape[0])])
    assert_close(fast, expected)
    assert_close(tape, expected)


def test_biases_act_only_through_the_forward_pass() -> None:
    blocks = random_blocks(2, seed=11, bias=True)
    S = spectrogram(3)
    D = deconvolve(keras_model(blocks), S, layer=2)
    assert_close(D, np.stack([reference.deconvolve(S, blocks, k) for k in range(D.shape[0])]))


def test_log_scaling_is_passed_as_identity() -> None:
    """With a log1p scaling layer, D is the reference deconvolution of log1p(S): the scaling's gradient is skipped."""
    blocks = random_blocks(2, seed=5)
    S = 10 * spectrogram(4)
    D = deconvolve(keras_model(blocks, scaling="log"), S, layer=2, features=[1])
    assert_close(D[0], reference.deconvolve(np.log1p(S).astype(np.float32), blocks, 1))


# --- worked by hand --------------------------------------------------------------------------------------------------


def identity_pool_model() -> keras.Model:
    """A 1x1 convolution with weight 1 (so A = maxpool(relu(S))), then a 2x2 pooling."""
    inputs = keras.Input((4, 4, 1))
    conv = keras.layers.Conv2D(1, 1, activation="relu", use_bias=False, name="conv")
    x = keras.layers.MaxPooling2D(2, name="pool")(conv(inputs))
    conv.set_weights([np.ones((1, 1, 1, 1), np.float32)])
    return keras.Model(inputs, x)


HAND_INPUT = np.array([[1, 2, 0, 0], [3, 0, 0, 1], [0, 0, 5, 0], [0, 4, 0, 0]], np.float32)


@pytest.mark.parametrize(
    ("seeding", "expected"),
    [
        # A = [[3, 1], [4, 5]]: the whole map goes back to the four switches
        ("map", [[0, 0, 0, 0], [3, 0, 0, 1], [0, 0, 5, 0], [0, 4, 0, 0]]),
        # only the strongest activation (5, at row 2, column 2) goes back
        ("max", [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 5, 0], [0, 0, 0, 0]]),
    ],
)
def test_map_and_max_seeding_by_hand(seeding: str, expected: list[list[float]]) -> None:
    D = deconvolve(identity_pool_model(), HAND_INPUT, layer="pool", seeding=seeding)
    np.testing.assert_allclose(D[0], expected, atol=1e-6)


def test_one_convolution_by_hand() -> None:
    """Kernel 2 at the top-left tap: A[i, j] = 2 S[i-1, j-1], so D[i, j] = 2 A[i+1, j+1] = 4 S[i, j] inside."""
    inputs = keras.Input((5, 6, 1))
    conv = keras.layers.Conv2D(1, 3, padding="same", activation="relu", use_bias=False, name="conv")
    model = keras.Model(inputs, conv(inputs))
    kernel = np.zeros((3, 3, 1, 1), np.float32)
    kernel[0, 0] = 2.0
    conv.set_weights([kernel])
    S = spectrogram(9, (5, 6))
    expected = 4 * S
    expected[-1, :] = 0
    expected[:, -1] = 0
    assert Deconvolver(model).layer_names == ["conv"]
    np.testing.assert_allclose(deconvolve(model, S, layer=1)[0], expected, rtol=1e-6)


# --- properties -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["deconvnet", "guided"])
def test_three_relu_spellings_agree(rule: str) -> None:
    blocks = random_blocks(2, seed=3)
    S = spectrogram(5)
    results = [deconvolve(keras_model(blocks, spelling=s), S, layer=2, rule=rule) for s in ("conv", "activation", "relu")]
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=1e-5, atol=1e-7)
    assert np.max(np.abs(results[0])) > 0


def test_sequential_model_gives_the_same_as_functional(twins) -> None:
    blocks, model = twins[2]
    layers = []
    for block in blocks:
        conv = keras.layers.Conv2D(block.kernel.shape[3], 3, padding="same", activation="relu", use_bias=False)
        layers += [conv, keras.layers.MaxPooling2D(2)]
    sequential = keras.Sequential([keras.Input((*SHAPE, 1)), *layers])
    sequential.set_weights([b.kernel for b in blocks])
    S = spectrogram(4)
    assert Deconvolver(sequential).layer_names == [sequential.layers[1].name, sequential.layers[3].name]
    assert_close(deconvolve(sequential, S, layer=2), deconvolve(model, S, layer=2), 1e-6)


def test_user_model_is_not_modified(twins) -> None:
    _, model = twins[2]
    S = spectrogram(8)
    before = model(S[None, ..., None]).numpy()
    weights = [w.copy() for w in model.get_weights()]
    for rule in RULES:
        deconvolve(model, S, layer=2, rule=rule)
    np.testing.assert_array_equal(model(S[None, ..., None]).numpy(), before)
    for w, w0 in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(w, w0)
    assert [type(layer).__name__ for layer in model.layers][2] == "MaxPooling2D"
    assert model.get_layer("conv1").activation is keras.activations.relu
    assert not any("call" in layer.__dict__ for layer in model.layers)


def test_feature_sensitive_to_one_band_deconvolves_to_that_band() -> None:
    """Feature 0 (3x3 box filter, bias -5) fires only where the bins hold energy 1 (bins 40-60); feature 1 fires
    everywhere. D of feature 0 must lie in bins 40-60 (38-62 with the kernel's reach), that of feature 1 everywhere."""
    S = np.full((101, 31), 0.05, np.float32)
    S[40:61] = 1.0
    S += 0.01 * np.random.default_rng(0).random(S.shape).astype(np.float32)
    inputs = keras.Input((*S.shape, 1))
    conv1 = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv1")
    conv2 = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv2")
    x = keras.layers.MaxPooling2D(2, name="pool1")(conv1(inputs))
    x = keras.layers.MaxPooling2D(2, name="pool2")(conv2(x))
    model = keras.Model(inputs, x)
    conv1.set_weights([np.ones((3, 3, 1, 2), np.float32), np.array([-5.0, 0.0], np.float32)])
    identity = np.zeros((3, 3, 2, 2), np.float32)
    identity[1, 1] = np.eye(2)
    conv2.set_weights([identity, np.zeros(2, np.float32)])
    D = deconvolve(model, S, layer=2)
    energy = D**2
    band = energy[:, 38:63].sum(axis=(1, 2)) / energy.sum(axis=(1, 2))
    assert band[0] > 0.999
    outside = np.r_[0:36, 65:101]
    assert np.all(energy[0, outside] == 0)
    assert np.all(energy[1, outside].sum(axis=1) > 0)  # feature 1 reaches every bin
    rows = np.nonzero(energy[0].sum(axis=1) > 1e-3 * energy[0].sum(axis=1).max())[0]
    assert 38 <= rows.min() <= 42 and 58 <= rows.max() <= 62


def test_gradient_rule_is_the_plain_gradient_even_with_tanh() -> None:
    """Under the gradient rule the result is d/dS sum(stop_gradient(A_k) A_k), computed here on the Keras model."""
    rng = np.random.default_rng(2)
    inputs = keras.Input((*SHAPE, 1))
    x = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv2")(x)
    model = keras.Model(inputs, x)
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()])
    S = spectrogram(6)
    D = deconvolve(model, S, layer="conv2", rule="gradient")
    for k in range(2):
        assert_close(D[k], feature_gradient(model, S, k), 1e-5)
    # tanh is no rectifier: it keeps its ordinary gradient under every rule, so only conv2's ReLU is ruled
    deconvolver = Deconvolver(model, "deconvnet")
    assert_close(deconvolver.deconvolve(S, "conv2"), deconvolver.deconvolve(S, "conv2", engine="tape"), 1e-5)


def general_model(kind: str) -> keras.Model:
    """Small models exercising the less common layer settings."""
    inputs = keras.Input((*SHAPE, 1))
    if kind == "batchnorm":
        x = keras.layers.Conv2D(4, 3, padding="same", name="conv1")(inputs)
        x = keras.layers.BatchNormalization(name="bn1")(x)
        x = keras.layers.ReLU(name="relu1")(x)
        x = keras.layers.MaxPooling2D(2, name="pool1")(x)
        x = keras.layers.Dropout(0.5, name="drop")(x)
        x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv2")(x)
        x = keras.layers.MaxPooling2D(2, name="pool2")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(5, activation="relu", name="dense1")(x)
    elif kind == "strided":
        x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv1")(inputs)
        x = keras.layers.MaxPooling2D(3, padding="same", name="pool1")(x)
        x = keras.layers.Conv2D(3, 2, dilation_rate=2, padding="valid", activation="relu", name="conv2")(x)
    elif kind == "same_pooling":
        x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inputs)
        x = keras.layers.MaxPooling2D(2, padding="same", name="pool1")(x)
        x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv2")(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name="pool2")(x)
    elif kind == "dilated":
        x = keras.layers.Conv2D(4, (3, 5), dilation_rate=(2, 1), padding="valid", activation="relu", name="conv1")(inputs)
        x = keras.layers.MaxPooling2D(2, name="pool1")(x)
        x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv2")(x)
        x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    elif kind == "overlapping":
        x = keras.layers.Conv2D(4, (3, 5), padding="valid", activation="relu", name="conv1")(inputs)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
        x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv2")(x)
        x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    elif kind in ("vgg", "vgg_dilated"):  # musicnn's VGG: BN, windows 1 x 4 with strides 2 x 2, more filters than taps
        x = keras.layers.BatchNormalization(name="bn0")(inputs)
        if kind == "vgg":
            x = keras.layers.Conv2D(12, 3, padding="same", activation="relu", name="conv1")(x)
        else:
            x = keras.layers.Conv2D(12, (3, 2), dilation_rate=(1, 2), activation="relu", name="conv1")(x)
        x = keras.layers.BatchNormalization(name="bn1")(x)
        x = keras.layers.MaxPooling2D((1, 4), strides=2, name="pool1")(x)
        x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv2")(x)
        x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    elif kind == "gapped":  # windows 2 x 2 with strides 3 x 2: rows between the windows get no signal
        x = keras.layers.Conv2D(12, 3, padding="same", activation="relu", name="conv1")(inputs)
        x = keras.layers.MaxPooling2D(2, strides=(3, 2), name="pool1")(x)
        x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv2")(x)
        x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    model = keras.Model(inputs, x, name=kind)
    rng = np.random.default_rng(4)
    model.set_weights([rng.random(w.shape).astype(np.float32) + 0.5 if "variance" in w.path else
                       rng.standard_normal(w.shape).astype(np.float32) for w in model.weights])
    return model


@pytest.mark.parametrize(
    ("kind", "layer"),
    [("batchnorm", 2), ("batchnorm", "dense1"), ("strided", "conv2"), ("same_pooling", 2), ("dilated", 2),
     ("overlapping", 2), ("vgg", 1), ("vgg", 2), ("vgg_dilated", 2),
     ("gapped", 2)],
)
@pytest.mark.parametrize("rule", ["deconvnet", "guided"])
def test_shared_forward_equals_tape_on_general_models(kind: str, layer, rule: str, monkeypatch) -> None:
    model = general_model(kind)
    deconvolver = Deconvolver(model, rule)
    S = spectrogram(1)
    fast = deconvolver.deconvolve(S, layer)
    tape = deconvolver.deconvolve(S, layer, engine="tape")
    assert_close(fast, tape, 1e-5)
    if kind in ("same_pooling", "dilated"):  # again with plain transposed convolutions instead of the fused step
        monkeypatch.setattr("auralisation.deconv.fast.FUSED_WEIGHTS_BUDGET", 0)
        assert_close(Deconvolver(model, rule).deconvolve(S, layer), tape, 1e-5)
    if kind in ("overlapping", "vgg", "vgg_dilated", "gapped"):  # overlapping windows: no fall-back to the tape
        assert_close(deconvolver.deconvolve(S, layer, engine="fast"), tape, 1e-5)


def test_batch_of_clips_and_feature_selection(twins) -> None:
    _, model = twins[2]
    S = np.stack([spectrogram(1), spectrogram(2)])
    D = deconvolve(model, S[..., None], layer="pool2", features=[4, 0])
    assert D.shape == (2, 2, *SHAPE)
    for i in range(2):
        single = deconvolve(model, S[i], layer=2)
        assert_close(D[i], single[[4, 0]], 1e-5)
    every = deconvolve(model, S[0], 2)
    strongest = int(np.argmax(np.abs(every).max(axis=(1, 2))))
    assert_close(deconvolve(model, S[0], 2, features=strongest)[0], every[strongest], 1e-5)


def test_deconvolver_small_batches_and_cache(twins) -> None:
    _, model = twins[2]
    S = spectrogram(3)
    whole = Deconvolver(model).deconvolve(S, 2)
    assert_close(Deconvolver(model, batch_size=2).deconvolve(S, 2), whole, 1e-5)
    assert _cached(model, "deconvnet") is _cached(model, "deconvnet")
    assert _cached(model, "guided") is not _cached(model, "deconvnet")


def test_choi2016_layers_features_and_activations() -> None:
    config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)  # 32 bins x 35 frames
    model = choi2016(config, n_classes=2, width=3, seed=0)
    deconvolver = Deconvolver(model)
    assert deconvolver.layer_names == [f"pool{i}" for i in range(1, 6)]
    assert deconvolver.n_features(3) == 3 and deconvolver.n_features("dense1") == 512
    S = spectrogram(0, config.input_shape[:2])
    for block in (1, 5):
        name = f"pool{block}"
        expected = keras.Model(model.inputs[0], model.get_layer(name).output)(S[None, ..., None]).numpy()[0]
        np.testing.assert_allclose(deconvolver.activations(S, block), np.moveaxis(expected, -1, 0), rtol=1e-5)
    assert deconvolver.deconvolve(S, 5, [2]).shape == (1, *config.input_shape[:2])


# --- bad input ------------------------------------------------------------------------------------------------------


def test_bad_layer_feature_and_shape_name_the_valid_range(twins) -> None:
    _, model = twins[2]
    S = spectrogram(0)
    with pytest.raises(ModelError, match=r"blocks 1\.\.2"):
        deconvolve(model, S, layer=3)
    with pytest.raises(ModelError, match=r"blocks 1\.\.2"):
        deconvolve(model, S, layer=0)
    with pytest.raises(ModelError, match="no layer 'nope'"):
        deconvolve(model, S, layer="nope")
    with pytest.raises(ModelError, match="no layer 'spectrogram'"):
        deconvolve(model, S, layer="spectrogram")
    with pytest.raises(ModelError, match=r"features 0\.\.4; feature 5"):
        deconvolve(model, S, layer=2, features=[1, 5])
    with pytest.raises(ModelError, match=r"features 0\.\.4; feature -1"):
        deconvolve(model, S, layer=2, features=-1)
    with pytest.raises(ModelError, match=r"does not fit.*17 x 13"):
        deconvolve(model, np.zeros((13, 17), np.float32), layer=1)
    with pytest.raises(ModelError, match="NaN"):
        deconvolve(model, np.full(SHAPE, np.nan, np.float32), layer=1)
    with pytest.raises(ParameterError, match="unknown rule"):
        deconvolve(model, S, layer=1, rule="lrp")
    with pytest.raises(ParameterError, match="unknown seeding 'mean'"):
        deconvolve(model, S, layer=1, seeding="mean")
    with pytest.raises(ParameterError, match="engine must be"):
        Deconvolver(model).deconvolve(S, 1, engine="slow")
    with pytest.raises(ParameterError, match="batch_size must be at least 1"):
        Deconvolver(model, batch_size=0)


def test_logits_are_the_input_of_the_final_softmax() -> None:
    config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)  # 32 bins x 35 frames
    model = choi2016(config, n_classes=3, width=3, seed=0)
    x = np.random.default_rng(0).random((2, *config.input_shape)).astype(np.float32)
    # The logits by Keras: the last dense layer's weights on the layer below it.
    hidden = np.asarray(keras.Model(model.inputs, model.get_layer("dropout2").output)([x]))
    kernel, bias = model.get_layer("output").get_weights()
    network = Deconvolver(model).network
    with network.ruled() as recording:
        output = model(tf.constant(x), training=False)
    np.testing.assert_allclose(logits_of(recording, output).numpy(), hidden @ kernel + bias, rtol=1e-5, atol=1e-6)
    scorer = Scorer(Deconvolver(model), Target(2))
    np.testing.assert_allclose(scorer.scores(x[..., 0]), (hidden @ kernel + bias)[:, 2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scorer.scores(x[..., 0], probability=True), np.asarray(model(x))[:, 2], rtol=1e-5)


def test_check_spectrograms_batches_one_or_many(twins) -> None:
    from auralisation.deconv import check_spectrograms

    chain = Deconvolver(twins[1][1]).network
    S = spectrogram(0)
    for given in (S, S[..., None]):
        batch, single = check_spectrograms(chain, given)
        assert single and batch.shape == (1, *SHAPE, 1) and batch.dtype == np.float32
        np.testing.assert_array_equal(batch[0, ..., 0], S)
    for given in (np.stack([S, 2 * S]), np.stack([S, 2 * S])[..., None]):
        batch, single = check_spectrograms(chain, given)
        assert not single and batch.shape == (2, *SHAPE, 1)
        np.testing.assert_array_equal(batch[1, ..., 0], 2 * S)
    with pytest.raises(ModelError, match=r"does not fit.*17 x 13"):
        check_spectrograms(chain, np.zeros((13, 17)))
    with pytest.raises(ModelError, match="NaN"):
        check_spectrograms(chain, np.full(SHAPE, np.inf))
