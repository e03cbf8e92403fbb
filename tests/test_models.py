"""Tests of auralisation.models: the paper's layer sizes, the scaling layer, seeding, bad options."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
from scipy.signal import correlate2d

from auralisation.audio import AudioConfig
from auralisation.errors import ModelError, ParameterError
from auralisation.models import MagnitudeScaling, choi2016, map_sizes

#: A small config whose spectrogram (33 x 87) survives five poolings: 16x43, 8x21, 4x10, 2x5, 1x2.
TINY = AudioConfig(duration=0.5, n_fft=64, hop_length=64)

PAPER_MAPS = [(128, 86), (64, 43), (32, 21), (16, 10), (8, 5)]


def test_map_sizes_at_every_layer_match_the_paper():
    model = choi2016(AudioConfig(), n_classes=10, seed=0)
    assert model.input_shape == (None, 257, 173, 1)
    assert model.get_layer("scaling").output.shape[1:] == (257, 173, 1)
    conv_inputs = [(257, 173)] + PAPER_MAPS[:-1]
    for block in range(1, 6):
        assert model.get_layer(f"conv{block}").output.shape[1:] == (*conv_inputs[block - 1], 64)
        assert model.get_layer(f"pool{block}").output.shape[1:] == (*PAPER_MAPS[block - 1], 64)
    assert model.get_layer("flatten").output.shape[1:] == (8 * 5 * 64,)
    assert model.get_layer("dense1").units == 512 and model.get_layer("dense2").units == 256
    assert model.get_layer("dropout1").rate == model.get_layer("dropout2").rate == 0.5
    assert model.output_shape == (None, 10)
    assert map_sizes(AudioConfig()) == PAPER_MAPS


def test_conv_blocks_are_3x3_same_relu_and_2x2_pools():
    model = choi2016(AudioConfig(), n_classes=3, width=8, seed=0)
    for block in range(1, 6):
        conv = model.get_layer(f"conv{block}")
        pool = model.get_layer(f"pool{block}")
        assert (conv.kernel_size, conv.padding, conv.activation.__name__) == ((3, 3), "same", "relu")
        assert (pool.pool_size, pool.strides, pool.padding) == ((2, 2), (2, 2), "valid")
    assert model.get_layer("output").activation.__name__ == "softmax"


def test_batch_norm_layout_and_width():
    model = choi2016(TINY, n_classes=3, width=5, batch_norm=True, seed=0)
    names = [layer.name for layer in model.layers]
    for block in range(1, 6):
        conv = model.get_layer(f"conv{block}")
        assert conv.filters == 5 and conv.activation.__name__ == "linear"
        i = names.index(f"conv{block}")
        assert names[i + 1 : i + 4] == [f"bn{block}", f"relu{block}", f"pool{block}"]
        assert isinstance(model.get_layer(f"relu{block}"), keras.layers.ReLU)
    assert model.get_layer("pool5").output.shape[1:] == (1, 2, 5)


@pytest.mark.parametrize("scaling", ["log", "linear"])
def test_first_block_applies_the_scaling_then_a_3x3_convolution(scaling):
    """conv1's output equals an independent scipy computation on compress(S): the scaling sits inside the model."""
    config = AudioConfig(duration=0.5, n_fft=64, hop_length=64, scaling=scaling)
    model = choi2016(config, n_classes=2, width=3, seed=1)
    conv1 = model.get_layer("conv1")
    conv1.bias.assign(np.array([0.1, -0.2, 0.0], dtype="float32"))
    S = np.random.default_rng(0).gamma(1.0, 2.0, size=config.input_shape[:2]).astype("float32")
    probe = keras.Model(model.input, conv1.output)
    got = np.asarray(probe(S[None, ..., None]))[0]
    kernel, bias = (np.asarray(w) for w in conv1.get_weights())
    scaled = np.log1p(S) if scaling == "log" else S
    for k in range(3):
        expected = np.maximum(correlate2d(scaled, kernel[:, :, 0, k], mode="same") + bias[k], 0.0)
        np.testing.assert_allclose(got[..., k], expected, rtol=1e-4, atol=1e-5)


def test_magnitude_scaling_values_and_round_trip():
    S = np.array([[0.0, 1.0, 10.0]], dtype="float32")
    np.testing.assert_allclose(np.asarray(MagnitudeScaling("log")(S)), np.log1p(S), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(MagnitudeScaling("linear")(S)), S)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(MagnitudeScaling("linear")))
    assert isinstance(clone, MagnitudeScaling) and clone.scaling == "linear"
    with pytest.raises(ModelError, match="scaling"):
        MagnitudeScaling("cubic")


def test_same_seed_same_initial_weights_other_seed_other_weights():
    first = choi2016(TINY, n_classes=3, width=4, seed=7).get_weights()
    again = choi2016(TINY, n_classes=3, width=4, seed=7).get_weights()
    other = choi2016(TINY, n_classes=3, width=4, seed=8).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    kernels = [i for i, w in enumerate(first) if w.ndim > 1]
    assert all(not np.array_equal(first[i], other[i]) for i in kernels)
    # within one model, two layers of equal shape must not share their initial kernel
    model = choi2016(TINY, n_classes=3, width=4, seed=7)
    assert not np.array_equal(model.get_layer("conv2").kernel, model.get_layer("conv3").kernel)


@pytest.mark.parametrize(
    ("config", "kwargs", "error", "match"),
    [
        (TINY, {"n_classes": 1}, ParameterError, "at least 2 classes"),
        (TINY, {"n_classes": 3, "width": 0}, ParameterError, "width"),
        (TINY, {"n_classes": 3, "dropout": 1.0}, ParameterError, "dropout"),
        (AudioConfig(duration=0.5, n_fft=64, hop_length=256), {"n_classes": 3}, ModelError, "too small"),
    ],
)
def test_bad_options_raise_parameter_or_model_error(config, kwargs, error, match):
    with pytest.raises(error, match=match):
        choi2016(config, **kwargs)
