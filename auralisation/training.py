"""Training the CNN: data preparation, fitting, and a whole run with its scores.

A training run (:func:`train_and_evaluate`) builds :func:`auralisation.models.choi2016` (or ``choi2017``), fits it
with Keras on the spectrogram cache (early stopping on the validation loss, the best weights restored, the best
model checkpointed and the history written after every epoch), saves it with :func:`auralisation.io.save_model`
(its :class:`~auralisation.audio.AudioConfig` and class names beside it), and scores it on the test split beside an
MFCC + logistic-regression baseline. The run adds to the model folder::

        history.json     the training history, one entry per epoch
        metrics.json     test scores of the model and of the baseline
        splits.json      the excerpts of each split
        environment.json what it ran with (:func:`auralisation.provenance.environment`)

Examples
--------
>>> TrainSettings.for_mode(fast=True).width
16
>>> data = prepare_data("data/default", ARCH_CONFIGS["choi2016"], "cache")         # doctest: +SKIP
>>> result = train_and_evaluate(data, "models/choi2016", TrainSettings())          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Literal

import keras
import numpy as np

from .audio import AudioConfig, FrontEnd
from .baseline import baseline
from .choices import STRATEGIES
from .data import Excerpt, SpectrogramCache, Splits, make_dataset, scan_folder, split_by_track
from .errors import DatasetError, ModelError, ParameterError
from .evaluate import Evaluation, evaluate_model
from .fileio import atomic_path, atomic_write_text, exclusive
from .io import check_compatible, save_model
from .models import ARCHITECTURES, TrainedModel
from .provenance import record_environment

__all__ = [
    "ARCH_CONFIGS",
    "PreparedData",
    "TrainResult",
    "TrainSettings",
    "Resume",
    "build_model",
    "enable_determinism",
    "evaluate_trained",
    "fit",
    "prepare_data",
    "train_and_evaluate",
]

HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
SPLITS_FILE = "splits.json"
CHECKPOINT_FILE = "checkpoint.keras"
#: Written after every epoch while a run trains, removed once the model is saved: what a killed run resumes from.
RESUME_FILE = "resume.npz"

SPLIT_NAMES = ("train", "validation", "test")

#: Magnitude scaling of the models this module trains by default. The paper leaves it open (the authors' code feeds
#: the linear magnitude to the deconvolution; a comment says log amplitude), so linear it is; ``--scaling log``
#: trains the other. Which trains better on the current default data has not been measured.
DEFAULT_SCALING: Literal["log", "linear"] = "linear"

#: The audio config each architecture is trained with by default: the paper's linear magnitude for ``choi2016``;
#: for ``choi2017`` 96 mel bands in decibels, as Choi et al. (2017) computed with kapre (magnitude mel here, whose
#: decibels are the power mel's, see :class:`auralisation.audio.AudioConfig`).
ARCH_CONFIGS: dict[str, AudioConfig] = {
    "choi2016": AudioConfig(scaling=DEFAULT_SCALING),
    "choi2017": AudioConfig(scaling="db", frontend=FrontEnd(filterbank="mel", n_mels=96)),
}


# ----------------------------------------------------------------------------------------------------------------
# Data


@dataclasses.dataclass
class PreparedData:
    """A dataset scanned, split by track, and backed by a spectrogram cache.

    Attributes
    ----------
    root : pathlib.Path
        The dataset folder.
    classes : list of str
        Class names (sorted label folders).
    splits : Splits
        Training, validation and test excerpts.
    cache : SpectrogramCache
        Where the spectrograms come from; ``cache.config`` is the data's config.
    """

    root: Path
    classes: list[str]
    splits: Splits
    cache: SpectrogramCache

    @property
    def config(self) -> AudioConfig:
        """The audio config the spectrograms are made with."""
        return self.cache.config

    def split(self, name: Literal["train", "validation", "test"]) -> list[Excerpt]:
        """The excerpts of one split by name."""
        if name not in SPLIT_NAMES:
            raise DatasetError(f"unknown split {name!r}; choose one of {SPLIT_NAMES}")
        return getattr(self.splits, name)

    def dataset(self, name: Literal["train", "validation", "test"], **kwargs: Any) -> Any:
        """``make_dataset`` of one split (keyword arguments as for :func:`auralisation.data.make_dataset`)."""
        return make_dataset(self.split(name), self.classes, self.cache, **kwargs)

    def counts(self) -> dict[str, dict[str, int]]:
        """Excerpts per class in each split, ``{split: {class: count}}``."""
        return {
            name: {label: sum(e.label == label for e in self.split(name)) for label in self.classes}
            for name in SPLIT_NAMES
        }


def prepare_data(
    root: str | os.PathLike[str],
    config: AudioConfig,
    cache_folder: str | os.PathLike[str],
    *,
    hop: float | None = None,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> PreparedData:
    """Scan ``root``, split it by track and attach a spectrogram cache in ``cache_folder``.

    Raises
    ------
    DatasetError
        From :func:`~auralisation.data.scan_folder` (missing folder, one class...), or a split left empty (too
        few tracks).
    """
    classes, excerpts = scan_folder(root, config, hop=hop)
    splits = split_by_track(excerpts, fractions=fractions, seed=seed)
    for name in SPLIT_NAMES:
        if not getattr(splits, name):
            raise DatasetError(
                f"{root}: the {name} split is empty; each class needs at least 3 tracks for a train/validation/"
                "test split: add tracks"
            )
    return PreparedData(Path(root), classes, splits, SpectrogramCache(cache_folder, config))


# ----------------------------------------------------------------------------------------------------------------
# Fitting


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """How to train: model options, optimiser, epochs, data split.

    Attributes
    ----------
    epochs : int
        Most epochs to train (early stopping may end sooner).
    batch_size : int
        Examples per step.
    patience : int
        Epochs without a lower validation loss before training stops (the best weights are then restored).
    optimizer : {"rmsprop", "adam"}
        RMSprop is the authors' template's choice (no comparison with Adam on the current default data is
        recorded).
    learning_rate : float
        5e-4 in the authors' template.
    arch : {"choi2016", "choi2017"}
        The architecture (:data:`auralisation.models.ARCHITECTURES`).
    width, batch_norm, dropout
        Passed to the architecture (``batch_norm`` to ``choi2016`` only: ``choi2017`` always has it).
    hop : float or None
        Seconds between excerpt starts (``None``: no overlap).
    fractions : (float, float, float)
        Shares of each class's tracks for training, validation and test.
    seed : int
        Seeds the weights, the dropout, the shuffle and the split.
    """

    arch: Literal["choi2016", "choi2017"] = "choi2016"
    epochs: int = 30
    batch_size: int = 32
    patience: int = 5
    optimizer: Literal["rmsprop", "adam"] = "rmsprop"
    learning_rate: float = 5e-4
    width: int = 64
    batch_norm: bool = False
    dropout: float = 0.5
    hop: float | None = None
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    seed: int = 0

    @classmethod
    def for_mode(cls, fast: bool, arch: Literal["choi2016", "choi2017"] = "choi2016") -> "TrainSettings":
        """The notebook's and CLI's settings for ``arch``.

        ``choi2016``: the paper's model in full mode; in fast mode a narrow one (16 filters) for 15 short epochs
        (batches of 8, learning rate 1e-3), to try the pipeline out on a tiny dataset. ``choi2017``: 32 filters
        and Adam at 1e-3 (the optimiser of Choi et al. 2017) for up to 30 epochs; in fast mode 8 filters.
        """
        if arch not in ARCHITECTURES:
            raise ModelError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
        if arch == "choi2017":
            if fast:
                return cls(arch=arch, epochs=15, batch_size=8, optimizer="adam", learning_rate=1e-3, width=8,
                           patience=4)
            return cls(arch=arch, epochs=30, optimizer="adam", learning_rate=1e-3, width=32, patience=5)
        if fast:
            return cls(epochs=15, batch_size=8, learning_rate=1e-3, width=16, patience=4)
        return cls(epochs=16, patience=4)


def compile_model(model: keras.Model, settings: TrainSettings) -> keras.Model:
    """Compile ``model`` for classification (sparse cross-entropy, accuracy) with ``settings``' optimiser."""
    optimizers = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}
    if settings.optimizer not in optimizers:
        raise ParameterError(f"unknown optimizer {settings.optimizer!r}; choose one of {sorted(optimizers)}")
    model.compile(
        optimizer=optimizers[settings.optimizer](learning_rate=settings.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model to a ``.keras`` file, atomically, whenever the validation loss reaches a new low."""

    def __init__(self, path: Path, monitor: str = "val_loss") -> None:
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = math.inf

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Save if ``logs[monitor]`` improved."""
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best = float(value)
            with atomic_path(self.path) as tmp:
                self.model.save(tmp)


class HistoryWriter(keras.callbacks.Callback):
    """Write the training history (every logged metric and the epoch's seconds) to JSON after each epoch."""

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path
        self.history: dict[str, list[float]] = {}
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Start the epoch's clock."""
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Append the epoch's metrics and write the file."""
        entries = {**(logs or {}), "seconds": time.perf_counter() - self._started}
        for key, value in entries.items():
            self.history.setdefault(key, []).append(float(value))
        if self.path is not None:
            atomic_write_text(self.path, json.dumps(self.history, indent=2) + "\n")


class Resume(keras.callbacks.Callback):
    """After every epoch, save all a killed run needs to go on to one file, atomically; restore it at the start.

    The file (:data:`RESUME_FILE`) holds the model's variables (the dropout's seed state included), the
    optimiser's, and the state of the other callbacks: early stopping's count, best loss and best weights, the best
    checkpoint's loss and the history. A run started again with the same settings on the same data restores them
    and continues at the next epoch (:attr:`initial_epoch`), where :func:`fit` gives it that epoch's shuffle.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    settings : TrainSettings
    data : str
        What identifies the training data (:func:`fit` gives a digest of the classes, the audio config and the
        splits).
    early_stopping, checkpoint, history
        The run's other callbacks, whose state is saved and restored.

    Raises
    ------
    ModelError
        The file was written by a run with other settings or on other data.
    """

    def __init__(self, path: Path, settings: TrainSettings, data: str, early_stopping: keras.callbacks.EarlyStopping,
                 checkpoint: BestCheckpoint | None, history: HistoryWriter) -> None:
        super().__init__()
        self.path = Path(path)
        self.settings = settings
        self.early_stopping, self.checkpoint, self.history = early_stopping, checkpoint, history
        self._key = json.dumps(dataclasses.asdict(settings), sort_keys=True)
        self._data = data
        self.saved = self._read()

    def _read(self) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        if not self.path.is_file():
            return None
        with np.load(self.path) as archive:
            arrays = {name: archive[name] for name in archive.files}
        state = json.loads(str(arrays.pop("state")))
        if state["settings"] != self._key:
            raise ModelError(
                f"{self.path} holds an interrupted run with other settings ({state['settings']}); train with those "
                "settings to resume it, or delete the file to start again"
            )
        if state.get("data") != self._data:
            raise ModelError(
                f"{self.path} holds an interrupted run on other data (other classes, audio config or split); train "
                "on that data to resume it, or delete the file to start again"
            )
        return state, arrays

    @property
    def initial_epoch(self) -> int:
        """The epoch to start at: 0 for a new run, else the epoch after the last saved one (none left if stopped)."""
        if self.saved is None:
            return 0
        state = self.saved[0]
        return self.settings.epochs if state["stopped"] else int(state["epoch"])

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Restore the saved state (after the other callbacks have reset theirs)."""
        if self.saved is None:
            return
        state, arrays = self.saved
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        for prefix, variables in (("model", self.model.variables), ("optimizer", optimizer.variables)):
            for index, variable in enumerate(variables):
                variable.assign(arrays[f"{prefix}_{index:04d}"])
        stopping = state["early_stopping"]
        self.early_stopping.wait = stopping["wait"]
        self.early_stopping.best = stopping["best"]
        self.early_stopping.best_epoch = stopping["best_epoch"]
        self.early_stopping.stopped_epoch = stopping["stopped_epoch"]
        best = sorted(name for name in arrays if name.startswith("best_"))
        self.early_stopping.best_weights = [arrays[name] for name in best] if best else None
        if self.checkpoint is not None:
            self.checkpoint.best = state["checkpoint_best"]
        self.history.history = state["history"]

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Save the state after this epoch (the other callbacks have done theirs)."""
        stopping = self.early_stopping
        state = {
            "settings": self._key,
            "data": self._data,
            "epoch": epoch + 1,
            "stopped": bool(self.model.stop_training),
            "history": self.history.history,
            "early_stopping": {"wait": stopping.wait, "best": stopping.best, "best_epoch": stopping.best_epoch,
                               "stopped_epoch": stopping.stopped_epoch},
            "checkpoint_best": None if self.checkpoint is None else self.checkpoint.best,
        }
        arrays = {f"model_{i:04d}": np.asarray(v) for i, v in enumerate(self.model.variables)}
        arrays.update({f"optimizer_{i:04d}": np.asarray(v) for i, v in enumerate(self.model.optimizer.variables)})
        arrays.update({f"best_{i:04d}": w for i, w in enumerate(stopping.best_weights or [])})
        with atomic_path(self.path) as tmp:
            np.savez(tmp, state=np.array(json.dumps(state)), **arrays)


def _scope(strategy: Any) -> contextlib.AbstractContextManager[Any]:
    """The scope of a ``tf.distribute`` strategy, or a context that does nothing for None."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def fit(
    model: keras.Model,
    data: PreparedData,
    settings: TrainSettings,
    *,
    out: str | os.PathLike[str] | None = None,
    verbose: int | str = "auto",
    strategy: Any = None,
) -> dict[str, list[float]]:
    """Compile and train ``model`` on ``data``'s training split, validating on its validation split.

    Training stops after ``settings.patience`` epochs without a lower validation loss, and the weights of the
    best epoch are restored. With ``out``, the best model is checkpointed to ``out/checkpoint.keras``, the
    history written to ``out/history.json``, and the whole state to ``out/resume.npz`` (:class:`Resume`) after
    every epoch: a run killed and started again with the same settings goes on from its last epoch, and ends
    with the history and weights the uninterrupted run would have had (where TensorFlow is deterministic: see
    :func:`enable_determinism`).

    Parameters
    ----------
    model : keras.Model
        Usually :func:`auralisation.models.choi2016`; compiled here.
    data : PreparedData
    settings : TrainSettings
    out : path-like, optional
        Folder for the checkpoint and the history.
    verbose : int or "auto"
        Keras's progress output (1: a progress bar, 2: one line per epoch, 0: silent).
    strategy : tf.distribute.Strategy, optional
        The strategy ``model`` was built under (:func:`make_strategy`); the model is compiled under it too.

    Returns
    -------
    dict
        Per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and ``seconds``.

    Raises
    ------
    ModelError
        The loss became NaN (lower the learning rate).
    """
    with _scope(strategy):
        compile_model(model, settings)
    history = HistoryWriter(None if out is None else Path(out) / HISTORY_FILE)
    stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience, restore_best_weights=True)
    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN(), stopping, history]
    initial_epoch = 0
    if out is not None:
        checkpoint = BestCheckpoint(Path(out) / CHECKPOINT_FILE)
        identity = json.dumps([data.classes, data.config.to_json(), splits_record(data.splits)], sort_keys=True)
        resume = Resume(Path(out) / RESUME_FILE, settings, hashlib.sha256(identity.encode()).hexdigest(), stopping,
                        checkpoint, history)
        callbacks += [checkpoint, resume]
        initial_epoch = resume.initial_epoch
        if initial_epoch >= settings.epochs:
            print(f"resuming the interrupted run in {out}: its training had ended; saving and scoring it")
        elif initial_epoch:
            print(f"resuming the interrupted run in {out} at epoch {initial_epoch + 1} of {settings.epochs}")
    # Epoch e's shuffle depends on (seed, e) only, so a resumed run sees the batches of the uninterrupted one. A run
    # stopped before it was killed trains no epoch (initial_epoch = epochs): the dataset just has to be valid.
    epochs = range(min(initial_epoch, settings.epochs - 1), settings.epochs)
    train = data.dataset("train", batch_size=settings.batch_size, shuffle=True, seed=settings.seed, epochs=epochs)
    model.fit(
        train,
        validation_data=data.dataset("validation", batch_size=settings.batch_size),
        epochs=settings.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=math.ceil(len(data.splits.train) / settings.batch_size),
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself, with settings.seed
        verbose=verbose,
    )
    if any(not math.isfinite(value) for value in history.history.get("loss", [])):
        raise ModelError(
            f"training diverged (the loss became NaN) with {settings.optimizer} at learning rate "
            f"{settings.learning_rate}; lower the learning rate or turn on batch_norm"
        )
    return history.history


# ----------------------------------------------------------------------------------------------------------------
# A whole run


@dataclasses.dataclass
class TrainResult:
    """What :func:`train_and_evaluate` produced."""

    trained: TrainedModel
    history: dict[str, list[float]]
    evaluation: Evaluation
    baseline: Evaluation
    folder: Path


def build_model(data: PreparedData, settings: TrainSettings) -> keras.Model:
    """``settings.arch`` (:data:`~auralisation.models.ARCHITECTURES`) for ``data``'s config and classes.

    Raises
    ------
    ModelError
        An unknown architecture, or a config whose model input the training data cannot give (training reads
        linear magnitude spectrograms, so the model must take them: ``frontend.input="magnitude"``).
    """
    if settings.arch not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {settings.arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if data.config.frontend.input != "magnitude":
        raise ModelError(
            f"training reads linear magnitude spectrograms, but the config's front end takes the "
            f"{data.config.frontend.input}; train with frontend.input='magnitude' (a filterbank then sits inside "
            "the model)"
        )
    options: dict[str, Any] = {"width": settings.width, "dropout": settings.dropout, "seed": settings.seed}
    if settings.arch == "choi2016":
        options["batch_norm"] = settings.batch_norm
    return ARCHITECTURES[settings.arch](data.config, len(data.classes), **options)


def train_and_evaluate(
    data: PreparedData,
    out: str | os.PathLike[str],
    settings: TrainSettings,
    *,
    model: keras.Model | None = None,
    verbose: int | str = "auto",
    strategy: Any = None,
) -> TrainResult:
    """Fit, save and score a model, and the MFCC baseline on the same split.

    Parameters
    ----------
    data : PreparedData
    out : path-like
        The model folder to write (see the module's docstring); the checkpoint is removed once the model is saved,
        the resume file (:class:`Resume`) once the run is complete. A run killed part-way and started again with
        the same settings resumes from its last epoch.
    settings : TrainSettings
    model : keras.Model, optional
        The model to train; :func:`build_model` by default.
    verbose : int or "auto"
        Keras's progress output.
    strategy : tf.distribute.Strategy, optional
        Train under this strategy (:func:`make_strategy`): the model is built and compiled in its scope.

    Raises
    ------
    AuralisationError
        Another process is writing the model folder or the spectrogram cache
        (:func:`auralisation.fileio.exclusive`).
    """
    out = Path(out)
    with exclusive(out, "model folder"), exclusive(data.cache.directory, "spectrogram cache"):
        return _train_and_evaluate(data, out, settings, model=model, verbose=verbose, strategy=strategy)


def _train_and_evaluate(data: PreparedData, out: Path, settings: TrainSettings, *, model: keras.Model | None,
                        verbose: int | str, strategy: Any) -> TrainResult:
    """:func:`train_and_evaluate` once it holds the model folder and the cache."""
    if model is None:
        with _scope(strategy):
            model = build_model(data, settings)
    history = fit(model, data, settings, out=out, verbose=verbose, strategy=strategy)
    save_model(out, model, data.config, data.classes)
    (out / CHECKPOINT_FILE).unlink(missing_ok=True)
    evaluation = evaluate_model(model, data.splits.test, data.classes, data.cache, batch_size=settings.batch_size)
    reference = baseline(data.splits.train, data.splits.test, data.classes, data.cache, seed=settings.seed)
    metrics = {
        "settings": dataclasses.asdict(settings),
        "cnn": evaluation.summary(),
        "baseline": {"method": "MFCC means and standard deviations, logistic regression", **reference.summary()},
    }
    atomic_write_text(out / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
    atomic_write_text(out / SPLITS_FILE, json.dumps(splits_record(data.splits), indent=2) + "\n")
    record_environment(out)
    (out / RESUME_FILE).unlink(missing_ok=True)
    return TrainResult(TrainedModel(model, data.config, data.classes), history, evaluation, reference, out)


def splits_record(splits: Splits) -> dict[str, list[dict[str, Any]]]:
    """The excerpts of each split as ``splits.json`` stores them: path, label and offset."""
    return {
        name: [{"path": str(e.path), "label": e.label, "offset": e.offset} for e in getattr(splits, name)]
        for name in SPLIT_NAMES
    }


def evaluate_trained(trained: TrainedModel, data: PreparedData, *, batch_size: int = 32) -> Evaluation:
    """Score a saved model on ``data``'s test split, refusing data whose classes or config differ from its own."""
    check_compatible(trained, data.classes, data.config)
    return evaluate_model(trained.model, data.splits.test, data.classes, data.cache, batch_size=batch_size)


def enable_determinism(seed: int) -> None:
    """Make this process's training repeatable: seed Python, NumPy and TensorFlow, and make TF's ops deterministic.

    ``tf.config.experimental.enable_op_determinism`` holds for the rest of the process (it cannot be undone) and
    makes some ops slower; without it, TensorFlow on a multi-core CPU may sum in a different order from run to run.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def make_strategy(name: Literal["none", "mirrored"]) -> Any:
    """The ``tf.distribute`` strategy called ``name``: None, or a ``MirroredStrategy`` over the local devices.

    Raises
    ------
    ParameterError
        An unknown name.
    """
    if name not in STRATEGIES:
        raise ParameterError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "none":
        return None
    import tensorflow as tf

    return tf.distribute.MirroredStrategy()
