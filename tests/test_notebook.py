"""The notebooks' shared helper: the model or how to make it, example excerpts, features by strength."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest

from auralisation.audio import AudioConfig
from auralisation.deconv import Deconvolver
from auralisation.errors import DatasetError, ModelError, ParameterError
from auralisation.models import choi2016
from auralisation.notebook import example_excerpts, strongest_features, trained_model
from auralisation.paths import project_paths


def test_missing_model_says_how_to_make_it(tmp_path: Path) -> None:
    paths = dataclasses.replace(project_paths(fast=True), models=tmp_path)
    with pytest.raises(ModelError, match="no trained choi2017 model; run notebook 01 first"):
        trained_model("choi2017", paths)


def test_example_excerpts_per_label_in_scan_order(audio_folder: Path, config: AudioConfig) -> None:
    excerpts = example_excerpts(audio_folder, config, per_label=2)
    # three labels of three 9 s tracks: the first track's two 4 s excerpts of each label
    assert [(e.label, e.path.name, e.offset) for e in excerpts] == [
        (label, f"{label}.00000.wav", offset) for label in ("blues", "jazz", "rock") for offset in (0.0, 4.0)
    ]
    assert [e.label for e in example_excerpts(audio_folder, config, labels=["rock"])] == ["rock"]


def test_example_excerpts_bad_input(audio_folder: Path, config: AudioConfig) -> None:
    with pytest.raises(DatasetError, match="no label metal; its labels are blues, jazz, rock"):
        example_excerpts(audio_folder, config, labels=["metal"])
    with pytest.raises(ParameterError, match="per_label must be at least 1"):
        example_excerpts(audio_folder, config, per_label=0)


def test_strongest_features_rank_by_the_maximum_of_each_map() -> None:
    config = AudioConfig(duration=1.0)
    model = choi2016(config, n_classes=2, width=4, seed=0)
    S = np.random.default_rng(0).random((config.n_bins, config.n_frames)).astype(np.float32)
    # independent: the block's output through a Keras sub-model, maxima by hand
    block = Deconvolver(model).layer_name(2)
    maps = keras.Model(model.inputs, model.get_layer(block).output)(S[None, ..., None]).numpy()[0]
    maxima = maps.max(axis=(0, 1))
    features, strengths = strongest_features(Deconvolver(model), S, 2, top=3)
    assert list(features) == list(np.argsort(-maxima)[:3])
    np.testing.assert_allclose(strengths, np.sort(maxima)[::-1][:3], rtol=1e-5)
