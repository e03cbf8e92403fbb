"""``train --strategy mirrored``: training under ``tf.distribute.MirroredStrategy`` gives the model plain training
gives (one replica per local device; on a CPU-only machine one replica, so the two runs must agree)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from auralisation.audio import AudioConfig  # noqa: E402
from auralisation.errors import ParameterError  # noqa: E402
from auralisation.train import TrainSettings, load_model, make_strategy, prepare_data, train_and_evaluate  # noqa: E402

TINY = AudioConfig(duration=0.25, n_fft=64, hop_length=32)


def test_mirrored_training_equals_plain_training(audio_folder: Path, tmp_path: Path) -> None:
    # 9 excerpts per track (0.25 s every second of 9 s), one track per class and split: the training split is one
    # batch of 27, so the order the strategy feeds it in cannot matter; dropout draws its masks differently under it.
    settings = dataclasses.replace(TrainSettings.for_mode(True), epochs=3, width=4, hop=1.0, batch_size=27,
                                   dropout=0.0)
    data = prepare_data(audio_folder, TINY, tmp_path / "cache", hop=settings.hop, fractions=settings.fractions)
    results = {}
    for name in ("none", "mirrored"):
        keras.utils.set_random_seed(0)
        strategy = make_strategy(name)
        results[name] = train_and_evaluate(data, tmp_path / name, settings, verbose=0, strategy=strategy)
    mirrored = results["mirrored"]
    assert isinstance(mirrored.trained.model.distribute_strategy, tf.distribute.MirroredStrategy)
    np.testing.assert_allclose(mirrored.history["loss"], results["none"].history["loss"], rtol=1e-4)
    saved = load_model(tmp_path / "mirrored").model.get_weights()
    for plain, distributed in zip(load_model(tmp_path / "none").model.get_weights(), saved):
        np.testing.assert_allclose(distributed, plain, rtol=1e-4, atol=1e-6)
    assert len(data.splits.train) == 27 and len(mirrored.history["loss"]) == 3
    assert mirrored.evaluation.labels.size == len(data.splits.test)


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ParameterError, match="choose one of none, mirrored"):
        make_strategy("multiworker")
