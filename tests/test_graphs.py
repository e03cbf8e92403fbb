"""Deconvolution of graphs that are not chains, against the independent numpy reference (tests/reference_graph.py).

Residual blocks, parallel branches joined by Concatenate, a nested Sequential backbone, batch normalisation before
and after the ReLU, ELU, global pooling, non-square kernels and pools, overlapping pools, strides and dilation:
each small graph is built twice, as reference nodes and as a Keras model with the same weights, and every feature
of a layer is deconvolved by both engines under every rule.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from definitions import feature_gradient  # noqa: E402
import reference_graph as ref  # noqa: E402
from auralisation.deconv import Deconvolver, Network  # noqa: E402
from auralisation.errors import ModelError  # noqa: E402

SHAPE = (12, 10)
RULES = ("deconvnet", "guided", "gradient")


def conv(name: str, source: str, rng: np.random.Generator, c_in: int, c_out: int, size=(3, 3), **p) -> ref.Node:
    kernel = (rng.standard_normal((*size, c_in, c_out)) / np.sqrt(size[0] * size[1] * c_in)).astype(np.float32)
    bias = (0.1 * rng.standard_normal(c_out)).astype(np.float32)
    return ref.Node(name, "conv", (source,), {"kernel": kernel, "bias": bias, **p})


def bn(name: str, source: str, rng: np.random.Generator, channels: int) -> ref.Node:
    params = {
        "gamma": rng.uniform(0.5, 1.5, channels).astype(np.float32) * rng.choice([-1, 1], channels),
        "beta": (0.1 * rng.standard_normal(channels)).astype(np.float32),
        "mean": (0.1 * rng.standard_normal(channels)).astype(np.float32),
        "var": rng.uniform(0.5, 2.0, channels).astype(np.float32),
        "eps": 1e-3,
    }
    return ref.Node(name, "bn", (source,), params)


def node(name: str, op: str, *inputs: str, **params) -> ref.Node:
    return ref.Node(name, op, tuple(inputs), params)


def graphs() -> dict[str, list[ref.Node]]:
    """The reference graphs, by name."""
    rng = np.random.default_rng(0)
    out = {}
    out["residual"] = [
        conv("c1", "input", rng, 1, 4), bn("b1", "c1", rng, 4), node("r1", "relu", "b1"),
        conv("c2", "r1", rng, 4, 4), bn("b2", "c2", rng, 4), node("add", "add", "b2", "r1"),
        node("r2", "relu", "add"), node("p1", "maxpool", "r2", size=(2, 2)),
        conv("c3", "p1", rng, 4, 3), node("r3", "relu", "c3"), node("gap", "gap", "r3"),
    ]
    out["branches"] = [
        conv("ca", "input", rng, 1, 2, (7, 1)), node("ra", "relu", "ca"),
        conv("cb", "input", rng, 1, 2, (1, 5)), node("rb", "relu", "cb"),
        conv("cc", "input", rng, 1, 2), node("rc", "relu", "cc"),
        node("cat", "concat", "ra", "rb", "rc"), node("p1", "maxpool", "cat", size=(2, 3)),
        conv("c2", "p1", rng, 6, 3), node("r2", "relu", "c2"),
        node("p2", "maxpool", "r2", size=(3, 3), stride=(2, 2), padding="same"),
    ]
    out["bn_order"] = [
        conv("c1", "input", rng, 1, 3), node("r1", "relu", "c1"), bn("b1", "r1", rng, 3),
        node("p1", "maxpool", "b1", size=(2, 2)),
        conv("c2", "p1", rng, 3, 4), bn("b2", "c2", rng, 4), node("r2", "relu", "b2"),
        node("p2", "maxpool", "r2", size=(2, 2)),
    ]
    out["strided"] = [
        conv("c1", "input", rng, 1, 3, (3, 3), stride=(2, 2), padding="same"), node("r1", "relu", "c1"),
        conv("c2", "r1", rng, 3, 4, (3, 2), dilation=(2, 1), padding="valid"), node("r2", "relu", "c2"),
        node("p2", "maxpool", "r2", size=(1, 2)),
    ]
    out["elu"] = [
        conv("c1", "input", rng, 1, 3), bn("b1", "c1", rng, 3), node("e1", "elu", "b1"),
        node("p1", "maxpool", "e1", size=(2, 2)),
        conv("c2", "p1", rng, 3, 4, (2, 3), dilation=(1, 2)), bn("b2", "c2", rng, 4), node("e2", "elu", "b2"),
        node("p2", "maxpool", "e2", size=(3, 2)),
    ]
    return out


def keras_layer(n: ref.Node) -> keras.layers.Layer:
    """The Keras layer of a reference node (its weights are set after building)."""
    p = n.params
    if n.op == "conv":
        return keras.layers.Conv2D(
            p["kernel"].shape[3], p["kernel"].shape[:2], strides=p.get("stride", (1, 1)),
            dilation_rate=p.get("dilation", (1, 1)), padding=p.get("padding", "same"), name=n.name,
        )
    if n.op == "relu":
        return keras.layers.ReLU(name=n.name)
    if n.op == "elu":
        return keras.layers.Activation("elu", name=n.name)
    if n.op == "maxpool":
        return keras.layers.MaxPooling2D(p["size"], strides=p.get("stride"), padding=p.get("padding", "valid"),
                                         name=n.name)
    if n.op == "bn":
        return keras.layers.BatchNormalization(epsilon=p["eps"], name=n.name)
    if n.op == "add":
        return keras.layers.Add(name=n.name)
    if n.op == "concat":
        return keras.layers.Concatenate(name=n.name)
    if n.op == "gap":
        return keras.layers.GlobalAveragePooling2D(name=n.name)
    raise ValueError(n.op)


def set_weights(layer: keras.layers.Layer, n: ref.Node) -> None:
    p = n.params
    if n.op == "conv":
        layer.set_weights([p["kernel"], p["bias"]])
    elif n.op == "bn":
        layer.set_weights([p["gamma"], p["beta"], p["mean"], p["var"]])


def keras_twin(nodes: list[ref.Node]) -> keras.Model:
    """A functional Keras model computing the same as ``nodes``, with a small dense head."""
    tensors = {"input": keras.Input((*SHAPE, 1), name="spectrogram")}
    layers = {}
    for n in nodes:
        layers[n.name] = keras_layer(n)
        inputs = [tensors[i] for i in n.inputs]
        tensors[n.name] = layers[n.name](inputs if len(inputs) > 1 else inputs[0])
        set_weights(layers[n.name], n)
    top = tensors[nodes[-1].name]
    x = top if len(top.shape) == 2 else keras.layers.Flatten(name="flatten")(top)
    return keras.Model(tensors["input"], keras.layers.Dense(3, activation="softmax", name="output")(x))


def spectrogram(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(SHAPE).astype(np.float32)


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float = 1e-4) -> None:
    scale = np.max(np.abs(expected))
    assert scale > 0
    np.testing.assert_array_less(np.max(np.abs(actual - expected)), tolerance * scale)


GRAPHS = graphs()
#: The layer of each graph whose every feature is deconvolved.
DEEPEST = {"residual": "r3", "branches": "p2", "bn_order": "p2", "strided": "p2", "elu": "p2"}


@pytest.fixture(scope="module")
def twins() -> dict[str, keras.Model]:
    return {name: keras_twin(nodes) for name, nodes in GRAPHS.items()}


@pytest.mark.parametrize("name", list(GRAPHS))
@pytest.mark.parametrize("rule", RULES)
def test_graph_matches_reference_both_engines(twins, name: str, rule: str) -> None:
    nodes, model = GRAPHS[name], twins[name]
    layer = DEEPEST[name]
    S = spectrogram(len(name))
    deconvolver = Deconvolver(model, rule)
    fast = deconvolver.deconvolve(S, layer)
    tape = deconvolver.deconvolve(S, layer, engine="tape")
    expected = np.stack([ref.deconvolve(nodes, S[..., None], layer, k, rule=rule) for k in range(fast.shape[0])])
    assert_close(fast, expected)
    assert_close(tape, expected)
    assert name not in ("residual", "branches") or layer not in deconvolver._tape_only  # the shared walk ran


@pytest.mark.parametrize("name", ["residual", "branches"])
def test_lower_layers_and_max_seeding_match_reference(twins, name: str) -> None:
    nodes, model = GRAPHS[name], twins[name]
    S = spectrogram(3)
    layer = "p1"
    D = Deconvolver(model, "guided").deconvolve(S, layer, seeding="max")
    expected = np.stack([ref.deconvolve(nodes, S[..., None], layer, k, rule="guided", seeding="max")
                         for k in range(D.shape[0])])
    assert_close(D, expected)


def test_nested_sequential_backbone_by_path() -> None:
    rng = np.random.default_rng(5)
    nodes = [
        conv("conv1", "input", rng, 1, 3), node("relu1", "relu", "conv1"), node("pool1", "maxpool", "relu1", size=(2, 2)),
        conv("conv2", "pool1", rng, 3, 4), node("relu2", "relu", "conv2"), node("pool2", "maxpool", "relu2", size=(2, 2)),
    ]
    backbone = keras.Sequential([keras.Input((*SHAPE, 1))] + [keras_layer(n) for n in nodes], name="backbone")
    for layer, n in zip(backbone.layers, nodes):
        set_weights(layer, n)
    inputs = keras.Input((*SHAPE, 1))
    x = keras.layers.Flatten()(backbone(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    deconvolver = Deconvolver(model)
    assert deconvolver.layer_names == ["backbone/pool1", "backbone/pool2"]
    assert deconvolver.layer_name("pool2") == "backbone/pool2"  # a unique name inside a nested model is found
    S = spectrogram(9)
    for layer in ("backbone/pool2", 1):
        D = deconvolver.deconvolve(S, layer)
        name = deconvolver.layer_name(layer).split("/")[1]
        expected = np.stack([ref.deconvolve(nodes, S[..., None], name, k) for k in range(D.shape[0])])
        assert_close(D, expected)
        assert_close(deconvolver.deconvolve(S, layer, engine="tape"), expected)


def test_subclassed_model_is_explained_through_its_call() -> None:
    rng = np.random.default_rng(6)
    nodes = [conv("conv1", "input", rng, 1, 3), node("relu1", "relu", "conv1"),
             node("pool1", "maxpool", "relu1", size=(2, 2))]

    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__(name="subclassed")
            self.conv1 = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv1")
            self.pool1 = keras.layers.MaxPooling2D(2, name="pool1")
            self.head = keras.layers.Dense(2, name="head")

        def call(self, x):
            return self.head(keras.layers.Flatten()(self.pool1(self.conv1(x))))

    model = Net()
    model(np.zeros((1, *SHAPE, 1), np.float32))
    model.conv1.set_weights([nodes[0].params["kernel"], nodes[0].params["bias"]])
    S = spectrogram(2)
    D = Deconvolver(model, "guided").deconvolve(S, "pool1")
    expected = np.stack([ref.deconvolve(nodes, S[..., None], "pool1", k, rule="guided") for k in range(3)])
    assert_close(D, expected)


def test_squeeze_and_excitation_gate_keeps_its_gradient() -> None:
    """A sigmoid gate is no rectifier: under the gradient rule deconvolution equals TensorFlow's own gradient."""
    inputs = keras.Input((*SHAPE, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1",
                            kernel_initializer=keras.initializers.RandomNormal(seed=1),
                            bias_initializer=keras.initializers.Constant(0.2))(inputs)
    squeeze = keras.layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(x)
    gate = keras.layers.Dense(4, activation="sigmoid", name="gate")(squeeze)
    x = keras.layers.Multiply(name="excite")([x, gate])
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    model = keras.Model(inputs, x)
    S = spectrogram(4)
    D = Deconvolver(model, "gradient").deconvolve(S, "pool1")
    for k in range(4):
        assert_close(D[k], feature_gradient(model, S, k), 1e-5)
    guided = Deconvolver(model, "guided")
    assert_close(guided.deconvolve(S, "pool1"), guided.deconvolve(S, "pool1", engine="tape"), 1e-5)


@pytest.mark.parametrize("spelling", ["leaky_relu", "prelu", "gelu"])
def test_other_rectifiers_follow_the_written_rule(spelling: str) -> None:
    """deconvnet passes relu(dy); guided passes f'(x) relu(dy) with f' TensorFlow's own derivative."""
    x = tf.constant([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    dy = tf.constant([[1.0, -1.0, 2.0, -2.0, 3.0]])
    layer = {"leaky_relu": keras.layers.LeakyReLU(negative_slope=0.2),
             "prelu": keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.3)),
             "gelu": keras.layers.Activation("gelu")}[spelling]
    inputs = keras.Input((5,))
    model = keras.Model(inputs, layer(inputs))
    network = Network(model)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        plain = model(x)
        with network.ruled("deconvnet"):
            deconv = model(x)
        with network.ruled("guided"):
            guided = model(x)
    np.testing.assert_allclose(deconv.numpy(), plain.numpy(), rtol=1e-6)
    derivative = tape.gradient(plain, x).numpy()
    np.testing.assert_allclose(tape.gradient(deconv, x, output_gradients=dy).numpy(), np.maximum(dy, 0), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(guided, x, output_gradients=dy).numpy(),
                               derivative * np.maximum(dy, 0), rtol=1e-5, atol=1e-7)


# --- bad input --------------------------------------------------------------------------------------------------------


def test_unknown_layer_lists_the_closest_names(twins) -> None:
    with pytest.raises(ModelError, match=r"no layer 'p11'.*did you mean 'p1'"):
        Deconvolver(twins["residual"]).deconvolve(spectrogram(0), "p11")


def test_global_pooling_layer_has_no_map(twins) -> None:
    with pytest.raises(ModelError, match=r"'gap'.*global pooling.*no map.*below it such as"):
        Deconvolver(twins["residual"]).deconvolve(spectrogram(0), "gap")


def test_shared_layer_is_ambiguous() -> None:
    inputs = keras.Input((*SHAPE, 1))
    shared = keras.layers.Conv2D(1, 3, padding="same", activation="relu", name="shared")
    model = keras.Model(inputs, shared(shared(inputs)))
    with pytest.raises(ModelError, match="'shared' is called 2 times"):
        Deconvolver(model).deconvolve(spectrogram(0), "shared")


def test_recurrent_layer_on_the_way_down_warns() -> None:
    inputs = keras.Input((*SHAPE, 1))
    x = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Reshape((SHAPE[0], SHAPE[1] * 2), name="frames")(x)
    x = keras.layers.GRU(3, return_sequences=True, name="gru")(x)
    x = keras.layers.Reshape((SHAPE[0], 3, 1), name="back")(x)
    x = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv2")(x)
    model = keras.Model(inputs, x)
    with pytest.warns(UserWarning, match="'gru'.*ordinary gradient"):
        D = Deconvolver(model).deconvolve(spectrogram(0), "conv2")
    assert D.shape == (2, *SHAPE) and np.all(np.isfinite(D))


def test_model_with_two_inputs_is_refused() -> None:
    a, b = keras.Input((*SHAPE, 1)), keras.Input((*SHAPE, 1))
    with pytest.raises(ModelError, match="2 inputs"):
        Deconvolver(keras.Model([a, b], keras.layers.Add()([a, b])))
