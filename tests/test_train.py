"""Tests of auralisation.io, auralisation.training, the train command, auralisation.evaluate and
auralisation.baseline on tiny generated datasets."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import librosa
import numpy as np
import pytest
import soundfile as sf

from auralisation.audio import AudioConfig, magnitude
from auralisation.baseline import mfcc_statistics
from auralisation.errors import AuralisationError, DatasetError, ModelError
from auralisation.evaluate import evaluate_predictions, format_scores
from auralisation import plotting
from auralisation.models import choi2016
from auralisation.cli.train import add_train_arguments, run_train
from auralisation.io import check_compatible, load_model, save_model
from auralisation.training import (
    CHECKPOINT_FILE,
    DEFAULT_SCALING,
    HISTORY_FILE,
    METRICS_FILE,
    RESUME_FILE,
    TrainSettings,
    compile_model,
    evaluate_trained,
    fit,
    prepare_data,
    train_and_evaluate,
)

#: 0.5 s excerpts, 33 bins x 87 frames: small enough for fast training, large enough for five poolings.
TINY = AudioConfig(duration=0.5, n_fft=64, hop_length=64)

#: Each class is a tone in its own frequency band (Hz), so a working classifier separates them easily.
BANDS = {"high": (3000.0, 4000.0), "low": (150.0, 300.0), "mid": (900.0, 1400.0)}

SETTINGS = TrainSettings(epochs=6, batch_size=8, width=6, learning_rate=1e-3, patience=10, seed=0)


def write_tracks(root: Path, *, tracks: int, seconds: float, sr: int, fmt: str = "WAV", gtzan: bool = False) -> Path:
    """Write ``tracks`` noisy tones per class of :data:`BANDS` as ``root/<label>/<label>.000NN.<ext>``."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    for label, (low, high) in BANDS.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for k in range(tracks):
            y = 0.4 * np.sin(2 * np.pi * rng.uniform(low, high) * t) + 0.02 * rng.standard_normal(len(t))
            name = f"{label}.{k:05d}.{'au' if gtzan else 'wav'}"
            sf.write(root / label / name, y.astype(np.float32), sr, format=fmt, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Three classes x five 2-second tracks: 3/1/1 tracks per class in train/validation/test, 4 excerpts each."""
    root = write_tracks(tmp_path_factory.mktemp("tones"), tracks=5, seconds=2.0, sr=11025)
    return prepare_data(root, TINY, tmp_path_factory.mktemp("cache"), seed=0)


@pytest.fixture(scope="module")
def result(data, tmp_path_factory):
    """One full training run (fit, save, evaluate, baseline) shared by several tests."""
    return train_and_evaluate(data, tmp_path_factory.mktemp("models") / "tones", SETTINGS, verbose=0)


def train_loss(model, data) -> float:
    return float(model.evaluate(data.dataset("train", batch_size=8), verbose=0)[0])


# ----------------------------------------------------------------------------------------------------------------
# Training


def test_prepared_data_counts_and_split_by_track(data):
    counts = data.counts()
    assert data.classes == ["high", "low", "mid"]
    assert counts == {
        "train": {"high": 12, "low": 12, "mid": 12},
        "validation": {"high": 4, "low": 4, "mid": 4},
        "test": {"high": 4, "low": 4, "mid": 4},
    }
    tracks = [{e.track for e in data.split(name)} for name in ("train", "validation", "test")]
    assert not (tracks[0] & tracks[1] or tracks[0] & tracks[2] or tracks[1] & tracks[2])


def test_training_lowers_the_loss_and_learns_the_classes(data, result):
    untrained = compile_model(choi2016(TINY, 3, width=SETTINGS.width, seed=SETTINGS.seed), SETTINGS)
    before, after = train_loss(untrained, data), train_loss(result.trained.model, data)
    assert after < 0.5 * before, (before, after)
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.evaluation.accuracy > 0.9  # three clearly separated tone bands; chance is 1/3


def test_run_writes_model_history_metrics_and_removes_checkpoint(result):
    folder = result.folder
    assert {p.name for p in folder.iterdir()} == {
        "model.keras", "config.json", "classes.json", "history.json", "metrics.json", "splits.json", "environment.json"
    }
    assert not (folder / CHECKPOINT_FILE).exists()
    assert json.loads((folder / "environment.json").read_text())["packages"]["keras"] == keras.__version__
    history = json.loads((folder / HISTORY_FILE).read_text())
    assert history.keys() == result.history.keys()
    for key, values in history.items():
        np.testing.assert_allclose(values, result.history[key])
    assert len(history["val_loss"]) == SETTINGS.epochs and len(history["seconds"]) == SETTINGS.epochs
    metrics = json.loads((folder / METRICS_FILE).read_text())
    assert metrics["cnn"]["accuracy"] == pytest.approx(result.evaluation.accuracy)
    assert metrics["cnn"]["excerpts"] == 12 and metrics["cnn"]["tracks"] == 3
    assert np.sum(metrics["cnn"]["confusion"]) == 12
    assert metrics["baseline"]["accuracy"] == pytest.approx(result.baseline.accuracy)


def test_early_stopping_restores_the_best_weights(data, tmp_path):
    """With patience 1 the run stops early; the weights it leaves give the best epoch's validation loss."""
    model = choi2016(TINY, 3, width=4, seed=3)
    settings = dataclasses.replace(SETTINGS, epochs=12, patience=1, learning_rate=3e-2)
    history = fit(model, data, settings, out=tmp_path, verbose=0)
    assert len(history["val_loss"]) < settings.epochs  # a large step size makes the validation loss rise soon
    assert int(np.argmin(history["val_loss"])) < len(history["val_loss"]) - 1
    val_loss = float(model.evaluate(data.dataset("validation", batch_size=8), verbose=0)[0])
    assert val_loss == pytest.approx(min(history["val_loss"]), rel=1e-4)
    checkpoint = keras.saving.load_model(tmp_path / CHECKPOINT_FILE, safe_mode=True)
    np.testing.assert_allclose(checkpoint.get_layer("output").kernel, model.get_layer("output").kernel)


def test_same_seed_gives_the_same_first_epoch_loss(data):
    settings = dataclasses.replace(SETTINGS, epochs=1)
    runs = []
    for seed in (5, 5, 6):
        model = choi2016(TINY, 3, width=4, seed=seed)
        initial = [w.copy() for w in model.get_weights()]
        runs.append((initial, fit(model, data, dataclasses.replace(settings, seed=seed), verbose=0)["loss"][0]))
    (w1, loss1), (w2, loss2), (w3, loss3) = runs
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert loss1 == pytest.approx(loss2, rel=1e-5)
    assert loss3 != pytest.approx(loss1, rel=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# Saving and loading


def test_save_load_gives_identical_predictions(result, data, tmp_path):
    trained = load_model(result.folder)
    assert trained.classes == data.classes and trained.config == TINY
    x = np.random.default_rng(1).gamma(1.0, 1.0, size=(5, *TINY.input_shape)).astype("float32")
    np.testing.assert_array_equal(trained.model.predict(x, verbose=0), result.trained.model.predict(x, verbose=0))
    again = load_model(save_model(tmp_path / "copy", trained.model, trained.config, trained.classes))
    np.testing.assert_array_equal(again.model.predict(x, verbose=0), trained.model.predict(x, verbose=0))


def test_save_over_a_model_is_atomic_and_keeps_other_files(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    first = choi2016(TINY, 3, width=2, seed=1)
    second = choi2016(TINY, 3, width=2, seed=2)
    x = np.ones((1, *TINY.input_shape), dtype="float32")
    save_model(folder, first, TINY, ["a", "b", "c"])
    (folder / "history.json").write_text("{}")

    def broken_save(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(AudioConfig, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_model(folder, second, TINY, ["x", "y", "z"])
    monkeypatch.undo()
    kept = load_model(folder)
    assert kept.classes == ["a", "b", "c"]
    np.testing.assert_array_equal(kept.model.predict(x, verbose=0), first.predict(x, verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging folder left behind

    save_model(folder, second, TINY, ["x", "y", "z"])
    replaced = load_model(folder)
    assert replaced.classes == ["x", "y", "z"] and (folder / "history.json").read_text() == "{}"
    np.testing.assert_array_equal(replaced.model.predict(x, verbose=0), second.predict(x, verbose=0))


def test_save_refuses_classes_or_config_that_do_not_fit_the_model(tmp_path):
    model = choi2016(TINY, 3, width=2, seed=0)
    with pytest.raises(ModelError, match="3 outputs but 2 class names"):
        save_model(tmp_path / "m", model, TINY, ["a", "b"])
    with pytest.raises(ModelError, match="inputs of shape"):
        save_model(tmp_path / "m", model, AudioConfig(), ["a", "b", "c"])
    with pytest.raises(ModelError, match="scaling"):
        save_model(tmp_path / "m", model, dataclasses.replace(TINY, scaling="log"), ["a", "b", "c"])
    assert not (tmp_path / "m").exists()


def test_load_refuses_what_is_not_a_saved_model(result, tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load_model(tmp_path / "missing")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "classes.json"):
        (broken / name).write_bytes((result.folder / name).read_bytes())
    with pytest.raises(ModelError, match="model.keras missing"):
        load_model(broken)
    (broken / "model.keras").write_text("this is not a zip archive")
    with pytest.raises(ModelError, match="not a Keras .keras archive"):
        load_model(broken)
    with zipfile.ZipFile(broken / "model.keras", "w") as archive:
        archive.writestr("readme.txt", "a zip, but no Keras model inside")
    with pytest.raises(ModelError, match="cannot be loaded as a Keras model"):
        load_model(broken)


def test_a_saved_model_refuses_data_with_other_classes_or_config(result, tmp_path):
    trained = load_model(result.folder)
    two_classes = tmp_path / "two"
    write_tracks(two_classes, tracks=3, seconds=1.0, sr=11025)
    (two_classes / "mid").rename(two_classes / "other")
    for path in (two_classes / "high").iterdir():
        path.unlink()
    (two_classes / "high").rmdir()
    other = prepare_data(two_classes, TINY, tmp_path / "cache")
    with pytest.raises(ModelError, match=r"knows 3 classes .* data has 2"):
        evaluate_trained(trained, other)
    with pytest.raises(ModelError, match="n_fft: model 64 vs data 128"):
        check_compatible(trained, trained.classes, dataclasses.replace(TINY, n_fft=128))


# ----------------------------------------------------------------------------------------------------------------
# Evaluation and baseline


def test_evaluation_of_a_hand_made_case():
    probabilities = np.array(
        [[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.5, 0.2, 0.3]]
    )
    labels = [0, 0, 1, 1, 2, 2]
    tracks = ["t1", "t1", "t2", "t2", "t3", "t4"]
    result = evaluate_predictions(probabilities, labels, tracks, ["a", "b", "c"])
    assert result.accuracy == pytest.approx(4 / 6)
    np.testing.assert_array_equal(result.confusion, [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    report = result.report()
    assert report["a"]["precision"] == pytest.approx(1 / 2) and report["a"]["recall"] == pytest.approx(1 / 2)
    assert report["b"]["precision"] == pytest.approx(2 / 3) and report["b"]["recall"] == pytest.approx(1.0)
    assert report["c"]["precision"] == pytest.approx(1.0) and report["c"]["recall"] == pytest.approx(1 / 2)
    tracks_level = result.track_level()
    assert tracks_level.tracks == ["t1", "t2", "t3", "t4"]
    np.testing.assert_allclose(tracks_level.probabilities[0], [0.55, 0.35, 0.1])
    assert result.track_accuracy == pytest.approx(3 / 4)
    np.testing.assert_array_equal(tracks_level.confusion, [[1, 0, 0], [0, 1, 0], [1, 0, 1]])
    table = format_scores({"CNN": result}).splitlines()
    assert table[1].split() == ["excerpts", "0.667"] and table[2].split() == ["tracks", "0.750"]
    assert [line.split() for line in table[3:]] == [["F1", "a", "0.500"], ["F1", "b", "0.800"], ["F1", "c", "0.667"]]
    summary = json.loads(json.dumps(result.summary()))
    assert summary["tracks"] == 4 and summary["track_confusion"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]


def test_evaluation_refuses_inconsistent_input():
    with pytest.raises(DatasetError, match="one label"):
        evaluate_predictions(np.eye(2), [0, 1], ["t", "t"], ["a", "b"]).track_level()
    with pytest.raises(DatasetError, match="must agree"):
        evaluate_predictions(np.eye(2), [0], ["t", "u"], ["a", "b"])
    with pytest.raises(DatasetError, match="shape"):
        evaluate_predictions(np.eye(3), [0, 1, 2], ["t", "u", "v"], ["a", "b"])


def test_mfcc_statistics_match_librosa_from_audio():
    config = AudioConfig()
    y = np.random.default_rng(0).standard_normal(config.n_samples).astype(np.float32) * 0.1
    mfcc = librosa.feature.mfcc(
        y=y, sr=config.sr, n_fft=config.n_fft, hop_length=config.hop_length, n_mels=40, n_mfcc=20
    )
    expected = np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])
    np.testing.assert_allclose(mfcc_statistics(magnitude(y, config), config), expected, rtol=1e-3, atol=1e-3)


def test_baseline_separates_tone_bands(result):
    assert result.baseline.accuracy == pytest.approx(1.0)
    assert result.baseline.classes == result.evaluation.classes
    assert result.baseline.tracks == result.evaluation.tracks


# ----------------------------------------------------------------------------------------------------------------
# The command line, GTZAN's layout, bad data


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return parser.parse_args(argv)


def test_cli_trains_on_a_gtzan_folder_of_au_files(tmp_path, capsys):
    """GTZAN's layout and format: genres/<genre>/<genre>.000NN.au, 22,050 Hz 16-bit; the paper's 4 s excerpts."""
    genres = write_tracks(tmp_path / "gtzan" / "genres", tracks=3, seconds=4.2, sr=22050, fmt="AU", gtzan=True)
    assert sorted(p.name for p in (genres / "low").iterdir()) == ["low.00000.au", "low.00001.au", "low.00002.au"]
    out = tmp_path / "models" / "gtzan"
    args = parse(["--data", str(genres), "--out", str(out), "--fast", "--epochs", "1", "--cache", str(tmp_path / "c")])
    assert run_train(args) == 0
    printed = capsys.readouterr().out
    assert "test accuracy on 3 excerpts of 3 tracks" in printed
    header, excerpts, tracks = printed.splitlines()[-6:-3]
    assert header.split() == ["CNN", "baseline"]
    assert excerpts.startswith("excerpts") and tracks.startswith("tracks")
    trained = load_model(out)
    assert trained.classes == ["high", "low", "mid"] and trained.config == AudioConfig(scaling=DEFAULT_SCALING)
    assert trained.model.get_layer("conv1").filters == TrainSettings.for_mode(True).width
    assert len(json.loads((out / HISTORY_FILE).read_text())["loss"]) == 1

    assert run_train(parse(["--data", str(genres), "--out", str(out), "--evaluate-only", "--cache",
                            str(tmp_path / "c")])) == 0
    assert capsys.readouterr().out.splitlines()[-6].split() == ["model"]


def test_a_folder_with_one_class_is_refused(tmp_path):
    root = write_tracks(tmp_path / "one", tracks=3, seconds=1.0, sr=11025)
    for label in ("high", "mid"):
        for path in (root / label).iterdir():
            path.unlink()
        (root / label).rmdir()
    with pytest.raises(DatasetError, match="only one label folder"):
        run_train(parse(["--data", str(root), "--out", str(tmp_path / "m"), "--cache", str(tmp_path / "c")]))
    assert not (tmp_path / "m").exists()


def test_too_few_tracks_for_three_splits_is_refused(tmp_path):
    root = write_tracks(tmp_path / "few", tracks=1, seconds=1.0, sr=11025)
    with pytest.raises(DatasetError, match="split is empty"):
        prepare_data(root, TINY, tmp_path / "cache")


# ----------------------------------------------------------------------------------------------------------------
# Figures


def test_figures_show_the_values_they_are_given():
    confusion = np.array([[3, 1], [0, 4]])
    ax = plotting.confusion_matrix(confusion, ["blues", "rock"], normalize=True)
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0.0, 1.0]])
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "1.00"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["blues", "rock"]

    history = {"loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 0.9, 1.2], "accuracy": [0.1, 0.5, 0.8]}
    loss_ax, accuracy_ax = plotting.training_curves(history).axes
    training, validation, best = loss_ax.get_lines()
    np.testing.assert_array_equal(training.get_xydata(), [[1, 2.0], [2, 1.0], [3, 0.5]])
    np.testing.assert_array_equal(validation.get_ydata(), [2.1, 0.9, 1.2])
    assert best.get_xdata()[0] == 2 and len(accuracy_ax.get_lines()) == 2  # no val_accuracy: one curve + marker

    S = np.zeros((TINY.n_bins, TINY.n_frames), dtype=np.float32)
    S[4, :] = 1.0
    S[10, :] = 0.1
    ax = plotting.spectrogram(S, TINY, title="x")
    values = ax.collections[0].get_array().reshape(TINY.n_bins, TINY.n_frames)
    np.testing.assert_allclose(values[[4, 10, 0], 0], [0.0, -20.0, -80.0], atol=1e-4)  # dB below the peak


# ----------------------------------------------------------------------------------------------------------------
# Resuming a killed run, and the lock on a model folder

#: Trains SETTINGS on TINY data deterministically; with a stop epoch, waits (to be killed) once that epoch is saved.
_TRAIN_SCRIPT = """
import sys, time
from auralisation import training
from auralisation.audio import AudioConfig

root, out, cache, stop = sys.argv[1:5]
training.enable_determinism(0)
if stop != "none":
    save = training.Resume.on_epoch_end

    def save_then_wait(self, epoch, logs=None):
        save(self, epoch, logs)
        if epoch + 1 == int(stop):
            print("saved epoch", epoch + 1, flush=True)
            time.sleep(300)

    training.Resume.on_epoch_end = save_then_wait
settings = training.TrainSettings(epochs=6, batch_size=8, width=6, learning_rate=1e-3, patience=10, seed=0)
data = training.prepare_data(root, AudioConfig(duration=0.5, n_fft=64, hop_length=64), cache, seed=0)
training.train_and_evaluate(data, out, settings, verbose=0)
print("done", flush=True)
"""


def _train_process(root: Path, out: Path, cache: Path, stop: int | None):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-c", _TRAIN_SCRIPT, str(root), str(out), str(cache), str(stop or "none")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def test_a_run_killed_after_an_epoch_resumes_to_the_uninterrupted_history_and_weights(tmp_path):
    import signal

    root = write_tracks(tmp_path / "tones", tracks=5, seconds=2.0, sr=11025)
    whole = _train_process(root, tmp_path / "whole", tmp_path / "cache-whole", None)
    killed = _train_process(root, tmp_path / "resumed", tmp_path / "cache", stop=3)
    try:
        assert killed.stdout.readline().strip() == "saved epoch 3"
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL and not (tmp_path / "resumed" / "model.keras").exists()
    assert len(json.loads((tmp_path / "resumed" / HISTORY_FILE).read_text())["loss"]) == 3
    resumed = _train_process(root, tmp_path / "resumed", tmp_path / "cache", None)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0 and "resuming the interrupted run" in out and "at epoch 4 of 6" in out, out
    assert whole.communicate(timeout=600)[0].strip() == "done" and whole.returncode == 0

    histories = [json.loads((tmp_path / name / HISTORY_FILE).read_text()) for name in ("whole", "resumed")]
    for history in histories:
        history.pop("seconds")
    assert histories[0] == histories[1] and len(histories[0]["loss"]) == 6
    weights = [load_model(tmp_path / name).model.get_weights() for name in ("whole", "resumed")]
    for uninterrupted, after_resume in zip(*weights):
        np.testing.assert_array_equal(uninterrupted, after_resume)
    assert not (tmp_path / "resumed" / RESUME_FILE).exists()


def test_a_model_folder_or_cache_another_process_writes_is_refused(data, tmp_path):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from auralisation.fileio import exclusive\n"
         "with exclusive(sys.argv[1]):\n    print('held', flush=True); time.sleep(300)", str(tmp_path / "m")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AuralisationError, match=rf"model folder .*m is being written by process {holder.pid}"):
            train_and_evaluate(data, tmp_path / "m", SETTINGS, verbose=0)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    from auralisation.fileio import exclusive

    with exclusive(data.cache.directory), pytest.raises(AuralisationError, match="spectrogram cache .* being written"):
        train_and_evaluate(data, tmp_path / "other", SETTINGS, verbose=0)


def test_a_resume_file_of_other_settings_is_refused(data, tmp_path):
    other = dataclasses.replace(SETTINGS, learning_rate=0.1)
    np.savez(tmp_path / RESUME_FILE, state=np.array(json.dumps(
        {"settings": json.dumps(dataclasses.asdict(other), sort_keys=True), "epoch": 2, "stopped": False})))
    with pytest.raises(ModelError, match=r"resume.npz holds an interrupted run with other settings .*rate\": 0.1"):
        fit(choi2016(TINY, 3, width=2, seed=0), data, SETTINGS, out=tmp_path, verbose=0)


def test_a_run_killed_after_its_last_epoch_resumes_to_the_same_model_without_training(data, tmp_path, capsys):
    settings = dataclasses.replace(SETTINGS, epochs=2)
    first = choi2016(TINY, 3, width=2, seed=0)
    history = fit(first, data, settings, out=tmp_path, verbose=0)  # fit leaves resume.npz, as a kill before saving
    assert (tmp_path / RESUME_FILE).is_file()
    again = choi2016(TINY, 3, width=2, seed=5)
    assert fit(again, data, settings, out=tmp_path, verbose=0) == history
    assert "its training had ended" in capsys.readouterr().out
    for expected, restored in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(restored, expected)


def test_a_resume_file_of_other_data_is_refused(data, tmp_path):
    settings = dataclasses.replace(SETTINGS, epochs=1)
    fit(choi2016(TINY, 3, width=2, seed=0), data, settings, out=tmp_path, verbose=0)
    other = prepare_data(data.root, TINY, data.cache.directory.parent, seed=1)  # another split of the same folder
    with pytest.raises(ModelError, match="resume.npz holds an interrupted run on other data"):
        fit(choi2016(TINY, 3, width=2, seed=0), other, settings, out=tmp_path, verbose=0)
