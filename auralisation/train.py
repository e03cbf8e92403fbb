"""Training, saving and loading the CNN, and the ``auralisation train`` command.

A training run (:func:`train_and_evaluate`) builds :func:`auralisation.models.choi2016` (or ``choi2017``), fits it
with Keras on the spectrogram cache (early stopping on the validation loss, the best weights restored, the best
model checkpointed and the history written after every epoch), saves it with its
:class:`~auralisation.audio.AudioConfig` and class names, and scores it on the test split beside an MFCC + logistic-
regression baseline.

A saved model is a folder::

    models/choi2016/
        model.keras      the Keras model (architecture, weights, optimiser state)
        config.json      the AudioConfig its inputs were made with
        classes.json     class names, in output order
        history.json     the training history, one entry per epoch
        metrics.json     test scores of the model and of the baseline
        splits.json      the excerpts of each split

Examples
--------
>>> from auralisation.train import load_model
>>> trained = load_model("models/choi2016")                     # doctest: +SKIP
>>> trained.model.predict(spectrograms)                          # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import keras

from .audio import AudioConfig, FrontEnd
from .baseline import baseline
from .data import Excerpt, SpectrogramCache, Splits, make_dataset, scan_folder, split_by_track
from .errors import DatasetError, ModelError, ParameterError
from .evaluate import Evaluation, evaluate_model, format_scores
from .fileio import atomic_path, atomic_write_text
from .frontends import Filterbank, check_front_end, front_end_of
from .models import ARCHITECTURES, MagnitudeScaling
from .paths import project_paths

__all__ = [
    "ARCH_CONFIGS",
    "DEFAULT_SCALING",
    "PreparedData",
    "TrainResult",
    "TrainSettings",
    "TrainedModel",
    "add_model_arguments",
    "add_train_arguments",
    "build_model",
    "check_compatible",
    "compile_model",
    "evaluate_trained",
    "fit",
    "load_model",
    "model_from_arguments",
    "make_strategy",
    "prepare_data",
    "run_train",
    "save_model",
    "train_and_evaluate",
]

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
CLASSES_FILE = "classes.json"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
SPLITS_FILE = "splits.json"
CHECKPOINT_FILE = "checkpoint.keras"

#: The files :func:`save_model` writes; anything else in a model folder is kept when it is saved over.
MODEL_FILES = (MODEL_FILE, CONFIG_FILE, CLASSES_FILE)

SPLIT_NAMES = ("train", "validation", "test")

#: Magnitude scaling of the models this module trains by default. The paper leaves it open (the authors' code feeds
#: the linear magnitude to the deconvolution; a comment says log amplitude). On the bundled default dataset, with the
#: same seed and 14 epochs, linear magnitude reached 100% test accuracy (144 excerpts) and log(1 + |X|) 94.4%, and
#: linear learned faster from the first epochs, so linear it is; ``--scaling log`` trains the other.
DEFAULT_SCALING: Literal["log", "linear"] = "linear"

#: The audio config each architecture is trained with by default: the paper's linear magnitude for ``choi2016``;
#: for ``choi2017`` 96 mel bands in decibels, as Choi et al. (2017) computed with kapre (magnitude mel here, whose
#: decibels are the power mel's, see :class:`auralisation.audio.AudioConfig`).
ARCH_CONFIGS: dict[str, AudioConfig] = {
    "choi2016": AudioConfig(scaling=DEFAULT_SCALING),
    "choi2017": AudioConfig(scaling="db", frontend=FrontEnd(filterbank="mel", n_mels=96)),
}


# ----------------------------------------------------------------------------------------------------------------
# Saving and loading


@dataclasses.dataclass
class TrainedModel:
    """A model with what it takes to use it: the config its inputs were made with and its class names."""

    model: keras.Model
    config: AudioConfig
    classes: list[str]


def save_model(
    folder: str | os.PathLike[str], model: keras.Model, config: AudioConfig, classes: Sequence[str]
) -> Path:
    """Save ``model`` with its config and class names: ``folder/model.keras``, ``config.json``, ``classes.json``.

    The three files are written into a temporary folder beside ``folder`` and swapped in by renaming, so a crash
    never leaves a half-written model, nor a model beside another model's config, over a good one. Other files
    already in ``folder`` (a training history, say) are kept.

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    ModelError
        ``classes`` does not match the model's outputs, the config does not match its input, or ``folder`` is an
        existing file.
    """
    folder = Path(folder)
    _check_model(model, config, list(classes), source="the model to save")
    if folder.exists() and not folder.is_dir():
        raise ModelError(f"{folder}: exists and is not a folder; choose another place to save the model")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        model.save(staging / MODEL_FILE)
        config.save(staging / CONFIG_FILE)
        atomic_write_text(staging / CLASSES_FILE, json.dumps(list(classes), indent=2) + "\n")
        _swap_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _swap_folder(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder``, moving over the files of an existing ``folder`` that it lacks."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    retired = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(folder, retired)
    os.replace(staging, folder)
    for entry in retired.iterdir():
        if entry.name not in MODEL_FILES:
            os.replace(entry, folder / entry.name)
    shutil.rmtree(retired, ignore_errors=True)


def load_model(path: str | os.PathLike[str], *, config: AudioConfig | None = None) -> TrainedModel:
    """Load a model folder saved by :func:`save_model`, or a user's own ``.keras`` file (Keras safe mode).

    Parameters
    ----------
    path : path-like
        A model folder (``model.keras``, ``config.json``, ``classes.json``), ``model.keras`` inside one, or any
        ``.keras`` file. A lone file's audio settings are ``config``, else a ``config.json`` beside it, else the
        defaults; its class names are a ``classes.json`` beside it, else ``class 0``, ``class 1``...
    config : AudioConfig, optional
        The audio settings a lone ``.keras`` file's inputs were made with (ignored for a model folder, which
        carries its own).

    Raises
    ------
    ModelError
        The folder or one of its files is missing, the file is not a Keras archive, or the model, config and
        classes disagree with one another (for a lone file: which audio settings would fit its input).
    """
    path = Path(path)
    if path.suffix == ".keras" and path.is_file():
        beside = path.parent
        if path.name == MODEL_FILE and all((beside / name).is_file() for name in MODEL_FILES):
            return load_model(beside)
        return _load_keras_file(path, config)
    folder = path
    if not folder.is_dir():
        raise ModelError(
            f"{folder}: no such model folder or .keras file; train one with `auralisation train --data DIR --out "
            f"{folder}`, or give the path of a .keras file"
        )
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelError(
            f"{folder}: not a saved model, {', '.join(missing)} missing; a saved model folder holds "
            f"{', '.join(MODEL_FILES)} (written by save_model)"
        )
    model = _read_keras(folder / MODEL_FILE)
    try:
        config = AudioConfig.load(folder / CONFIG_FILE)
    except ValueError as error:
        raise ModelError(str(error)) from error
    classes = _read_classes(folder / CLASSES_FILE)
    _check_model(model, config, classes, source=str(folder))
    return TrainedModel(model, config, classes)


def _read_keras(path: Path) -> keras.Model:
    """The Keras model in the archive ``path`` (safe mode, this package's layers known)."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras .keras archive (not a zip file); save the model again")
    try:
        return keras.saving.load_model(
            path, custom_objects={"MagnitudeScaling": MagnitudeScaling, "Filterbank": Filterbank}, safe_mode=True
        )
    except Exception as error:  # Keras raises many types for a damaged archive or an unknown layer.
        raise ModelError(
            f"{path}: cannot be loaded as a Keras model ({error}); if it uses custom layers, register them with "
            "@keras.saving.register_keras_serializable in the code that loads it, or save the model again"
        ) from error


def _load_keras_file(path: Path, config: AudioConfig | None) -> TrainedModel:
    """A lone ``.keras`` file with its audio settings (given, beside it, or the defaults)."""
    model = _read_keras(path)
    beside = path.parent / CONFIG_FILE
    if config is None and beside.is_file():
        try:
            config = AudioConfig.load(beside)
        except ValueError as error:
            raise ModelError(str(error)) from error
    elif config is not None or not beside.is_file():
        # settings from options or defaults: the model's own scaling layer, if it has one, says how it compresses
        # and its front-end layers (a filterbank, an STFT layer on the waveform) what it hears
        scaling = [layer.scaling for layer in model.layers if isinstance(layer, MagnitudeScaling)]
        front = front_end_of(model)
        config = dataclasses.replace(config or AudioConfig(), **({"scaling": scaling[0]} if scaling else {}),
                                     **({"frontend": front} if front is not None else {}))
    classes_file = path.parent / CLASSES_FILE
    classes = _read_classes(classes_file) if classes_file.is_file() else [
        f"class {i}" for i in range(int(model.output_shape[-1]))
    ]
    _check_model(model, config, classes, source=str(path))
    return TrainedModel(model, config, classes)


def _read_classes(path: Path) -> list[str]:
    try:
        classes = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelError(f"{path}: not valid JSON ({error}); it should be a list of class names") from error
    if not isinstance(classes, list) or not all(isinstance(name, str) for name in classes):
        raise ModelError(f"{path}: should hold a JSON list of class names, found {type(classes).__name__}")
    return classes


def _check_model(model: keras.Model, config: AudioConfig, classes: list[str], *, source: str) -> None:
    """:class:`ModelError` unless the model's input, front end, scaling layer and outputs agree with config and
    classes."""
    if tuple(model.input_shape[1:]) != tuple(config.input_shape):
        settings = ", ".join(f"{name}={getattr(config, name)}" for name in ("sr", "n_fft", "hop_length", "duration"))
        raise ModelError(
            f"{source}: the model takes inputs of shape {tuple(model.input_shape[1:])} but the audio settings "
            f"({settings}) give {config.input_shape}; give the settings its inputs were made with (--sr, --n-fft, "
            "--hop-length, --duration, or --config FILE), or save the model with the config it was trained with"
        )
    if model.output_shape[-1] != len(classes):
        raise ModelError(
            f"{source}: the model has {model.output_shape[-1]} outputs but {len(classes)} class names were given "
            f"({classes}); save it with the classes it was trained on"
        )
    scaling = [layer.scaling for layer in model.layers if isinstance(layer, MagnitudeScaling)]
    if scaling and scaling[0] != config.scaling:
        raise ModelError(
            f"{source}: the model's scaling layer applies {scaling[0]!r} but its config says {config.scaling!r}; "
            "save the model with the config it was trained with"
        )
    check_front_end(model, config, source=source)


def check_compatible(trained: TrainedModel, classes: Sequence[str], config: AudioConfig) -> None:
    """Refuse data whose classes or audio config differ from a saved model's.

    Raises
    ------
    ModelError
        Naming the classes or the config fields that differ.
    """
    if list(classes) != list(trained.classes):
        raise ModelError(
            f"the model knows {len(trained.classes)} classes {trained.classes} but the data has {len(classes)} "
            f"{list(classes)}; use data with the model's classes, or train a new model on this data"
        )
    ours, theirs = trained.config.to_dict(), config.to_dict()
    differing = {name: (ours[name], theirs[name]) for name in ours if ours[name] != theirs[name]}
    if differing:
        details = ", ".join(f"{name}: model {a!r} vs data {b!r}" for name, (a, b) in differing.items())
        raise ModelError(
            f"the data's audio config differs from the model's ({details}); prepare the data with the model's "
            "config (TrainedModel.config)"
        )


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
        RMSprop is the authors' template's choice; Adam at the same learning rate did no better on the bundled
        default dataset (98.6% of test excerpts against RMSprop's 100%, linear magnitude, 14 epochs).
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
    best epoch are restored. With ``out``, the best model is checkpointed to ``out/checkpoint.keras`` and the
    history written to ``out/history.json`` after every epoch.

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
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience, restore_best_weights=True),
        history,
    ]
    if out is not None:
        callbacks.append(BestCheckpoint(Path(out) / CHECKPOINT_FILE))
    model.fit(
        data.dataset("train", batch_size=settings.batch_size, shuffle=True, seed=settings.seed),
        validation_data=data.dataset("validation", batch_size=settings.batch_size),
        epochs=settings.epochs,
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
        The model folder to write (see the module's docstring); the checkpoint is removed once the model is saved.
    settings : TrainSettings
    model : keras.Model, optional
        The model to train; :func:`build_model` by default.
    verbose : int or "auto"
        Keras's progress output.
    strategy : tf.distribute.Strategy, optional
        Train under this strategy (:func:`make_strategy`): the model is built and compiled in its scope.
    """
    out = Path(out)
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
    atomic_write_text(out / SPLITS_FILE, json.dumps(_splits_record(data.splits), indent=2) + "\n")
    return TrainResult(TrainedModel(model, data.config, data.classes), history, evaluation, reference, out)


def _splits_record(splits: Splits) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [{"path": str(e.path), "label": e.label, "offset": e.offset} for e in getattr(splits, name)]
        for name in SPLIT_NAMES
    }


def evaluate_trained(trained: TrainedModel, data: PreparedData, *, batch_size: int = 32) -> Evaluation:
    """Score a saved model on ``data``'s test split, refusing data whose classes or config differ from its own."""
    check_compatible(trained, data.classes, data.config)
    return evaluate_model(trained.model, data.splits.test, data.classes, data.cache, batch_size=batch_size)


# ----------------------------------------------------------------------------------------------------------------
# Command line


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` (a model folder or a ``.keras`` file) and the audio settings of a lone ``.keras`` file."""
    parser.add_argument("--model", required=True, type=Path,
                        help="a saved model folder (train --out), or your own .keras file")
    settings = parser.add_argument_group("audio settings of a lone .keras file (a model folder carries its own)")
    settings.add_argument("--config", type=Path, help="an AudioConfig JSON file")
    settings.add_argument("--sr", type=int, help=f"sample rate, Hz (default {AudioConfig.sr})")
    settings.add_argument("--n-fft", type=int, help=f"FFT size (default {AudioConfig.n_fft})")
    settings.add_argument("--hop-length", type=int, help=f"STFT hop, samples (default {AudioConfig.hop_length})")
    settings.add_argument("--duration", type=float, help=f"clip length, seconds (default {AudioConfig.duration})")


def model_from_arguments(args: argparse.Namespace) -> TrainedModel:
    """The model named by :func:`add_model_arguments`'s options.

    Raises
    ------
    ModelError
        Audio settings given with a model folder, or anything :func:`load_model` refuses.
    """
    given = {name: getattr(args, name) for name in ("sr", "n_fft", "hop_length", "duration")}
    given = {name: value for name, value in given.items() if value is not None}
    if not (given or args.config):
        return load_model(args.model)
    if args.model.is_dir():
        raise ModelError(
            f"{args.model} is a model folder, which carries its own audio settings; --config, --sr, --n-fft, "
            "--hop-length and --duration are for a lone .keras file"
        )
    try:
        base = AudioConfig.load(args.config) if args.config else AudioConfig()
        config = dataclasses.replace(base, **given)
    except ValueError as error:
        raise ModelError(str(error)) from error
    return load_model(args.model, config=config)

#: The choices of ``train --strategy``. Multi-worker training (``tf.distribute.MultiWorkerMirroredStrategy``) is
#: left out: Keras 3's ``fit`` fails under it ("Attempt to convert a value (PerReplica...)", keras-team/keras#20585).
STRATEGIES: tuple[str, ...] = ("none", "mirrored")


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


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation train``."""
    parser.add_argument("--data", required=True, type=Path, help="dataset folder: one sub-folder of audio per class")
    parser.add_argument("--out", required=True, type=Path, help="model folder to write, e.g. models/choi2016")
    parser.add_argument(
        "--arch", choices=sorted(ARCHITECTURES), default="choi2016",
        help="choi2016: the paper's network on the linear STFT; choi2017: the compact convnet on 96 log-mel bands",
    )
    parser.add_argument("--epochs", type=int, help="most epochs (early stopping may end sooner)")
    parser.add_argument("--fast", action="store_true", help="a narrow model, 15 short epochs: to try the pipeline out")
    parser.add_argument(
        "--scaling", choices=("log", "linear", "db"),
        help="magnitude compression in the model (default: the architecture's, linear for choi2016, db for choi2017)",
    )
    parser.add_argument("--width", type=int, help="filters per convolution (64 in the paper)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, shuffle and split")
    parser.add_argument("--cache", type=Path, help="spectrogram cache folder (default: the project's cache)")
    parser.add_argument(
        "--evaluate-only", action="store_true", help="score the model already in --out on the data's test split"
    )
    parser.add_argument("--strategy", choices=STRATEGIES, default="none",
                        help="tf.distribute: mirrored trains one replica per local device (every GPU), gradients "
                             "all-reduced at each step")


def run_train(args: argparse.Namespace) -> int:
    """Run ``auralisation train``: train, save and score a model, printing its accuracy and the baseline's."""
    strategy = make_strategy(args.strategy)
    settings = TrainSettings.for_mode(args.fast, args.arch)
    overrides = {"epochs": args.epochs, "width": args.width, "seed": args.seed}
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    cache = args.cache if args.cache is not None else project_paths().cache
    trained = load_model(args.out) if args.evaluate_only else None
    if trained is not None:
        config = trained.config
    else:
        config = ARCH_CONFIGS[args.arch]
        config = config if args.scaling is None else dataclasses.replace(config, scaling=args.scaling)
    data = prepare_data(args.data, config, cache, hop=settings.hop, fractions=settings.fractions, seed=settings.seed)
    if trained is not None:
        scores = {"model": evaluate_trained(trained, data, batch_size=settings.batch_size)}
    else:
        result = train_and_evaluate(data, args.out, settings, verbose=1, strategy=strategy)
        print(f"saved the model to {result.folder}")
        scores = {"CNN": result.evaluation, "baseline": result.baseline}
    test = next(iter(scores.values()))
    print(
        f"test accuracy on {len(test.labels)} excerpts of {len(test.track_level().labels)} tracks "
        "(baseline: MFCC means and deviations, logistic regression):"
    )
    print(format_scores(scores))
    return 0

