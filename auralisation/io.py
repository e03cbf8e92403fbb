"""The saved-model format: :class:`TrainedModel`, :func:`save_model` and :func:`load_model`.

A saved model is a folder::

    models/choi2016/
        model.keras      the Keras model (architecture, weights, optimiser state)
        config.json      the AudioConfig its inputs were made with
        classes.json     class names, in output order

(:func:`auralisation.training.train_and_evaluate` adds ``history.json``, ``metrics.json`` and ``splits.json``).
Loading a model needs Keras and this package's layers, nothing of the training (no scikit-learn).

Examples
--------
>>> import tempfile
>>> from auralisation.audio import AudioConfig
>>> from auralisation.models import choi2016
>>> config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)
>>> folder = save_model(tempfile.mkdtemp() + "/tiny", choi2016(config, 2, width=2), config, ["a", "b"])
>>> trained = load_model(folder)
>>> trained.classes, trained.config == config
(['a', 'b'], True)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path

import keras

from .audio import AudioConfig
from .errors import ModelError
from .fileio import atomic_path, atomic_write_text, fsync_folder, temporary_folder
from .frontends import Filterbank, check_front_end, front_end_of
from .models import MagnitudeScaling, Power, TrainedModel

__all__ = ["CLASSES_FILE", "CONFIG_FILE", "MODEL_FILE", "check_compatible", "load_model", "save_model"]

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
CLASSES_FILE = "classes.json"

#: The files :func:`save_model` writes; anything else in a model folder is kept when it is saved over.
MODEL_FILES = (MODEL_FILE, CONFIG_FILE, CLASSES_FILE)


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
    staging = temporary_folder(folder)
    try:
        with atomic_path(staging / MODEL_FILE) as tmp:
            model.save(tmp)
        config.save(staging / CONFIG_FILE)
        atomic_write_text(staging / CLASSES_FILE, json.dumps(list(classes), indent=2) + "\n")
        _swap_folder(staging, folder)
        fsync_folder(folder.parent)
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
        A model folder (``model.keras``, ``config.json``, ``classes.json``), ``model.keras`` inside one, any
        ``.keras`` file, or a pretrained tagger ``musicnn:NAME`` (:func:`auralisation.pretrained.load_pretrained`). A lone file's audio settings are
        ``config``, else a ``config.json`` beside it, else the defaults; its class names are a ``classes.json``
        beside it, else ``class 0``, ``class 1``...
    config : AudioConfig, optional
        The audio settings a lone ``.keras`` file's inputs were made with (ignored for a model folder, which
        carries its own).

    Raises
    ------
    ModelError
        The folder or one of its files is missing, the file is not a Keras archive, or the model, config and
        classes disagree with one another (for a lone file: which audio settings would fit its input); an unknown
        ``musicnn:`` name, or the ``musicnn`` package missing.
    """
    if os.fspath(path).startswith("musicnn:"):
        from .pretrained import load_pretrained

        return load_pretrained(os.fspath(path))
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
            path, custom_objects={"MagnitudeScaling": MagnitudeScaling, "Filterbank": Filterbank, "Power": Power}, safe_mode=True
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
    powers = [layer.power for layer in model.layers if isinstance(layer, Power)]
    if (powers[0] if powers else 1.0) != config.frontend.power and config.frontend.input != "filterbank":
        raise ModelError(
            f"{source}: the model raises the magnitude to the power {powers[0] if powers else 1.0:g} but its config "
            f"says frontend.power={config.frontend.power:g}; save the model with the config it was trained with"
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
