"""Tagging: a model's class probabilities for each consecutive clip of a recording.

:func:`predict` cuts a waveform into consecutive clips of the model's ``config.duration`` (for the musicnn taggers
:mod:`auralisation.pretrained`, musicnn's 187-frame, 2.976 s patches, without overlap, as musicnn's own
``extractor`` does by default) and returns what the model outputs for each: the 50 tags' sigmoids for a tagger, the
softmax over the classes for this project's own classifiers. :func:`top_classes` reads the strongest of them.

On the bundled dataset the instruments of every track are known (it is rendered from MIDI), so a tagger's
instrument tags can be checked: :func:`track_instruments` lists the MagnaTagATune instrument tags a generated track
plays (:data:`INSTRUMENT_TAGS`), and :func:`instrument_agreement` scores each such tag, averaged over a track's
clips, as a detector of them: the area under the ROC curve over tracks (0.5: chance; 1: every track with the
instrument scores above every track without it).

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig
>>> from auralisation.io import TrainedModel
>>> from auralisation.models import choi2016
>>> config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)
>>> trained = TrainedModel(choi2016(config, 3, width=2, seed=0), config, ["a", "b", "c"])
>>> y = np.zeros(int(0.5 * config.sr), dtype="float32")
>>> p = predict(trained, y)
>>> p.shape, bool(np.allclose(p.sum(axis=1), 1.0, atol=1e-5))
((2, 3), True)
>>> [name for name, _ in top_classes(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"], 2)]
['b', 'c']
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence

import numpy as np
import soundfile as sf

from .audio import AudioWarning, load_clip
from .errors import AudioError, DatasetError, ParameterError
from .frontends import model_input
from .io import TrainedModel

__all__ = [
    "INSTRUMENT_TAGS", "clips_of", "instrument_agreement", "is_tagger", "load_recording", "predict", "predict_clips",
    "tag_table", "top_classes",
    "track_instruments",
]

#: MagnaTagATune's instrument tags and the General MIDI programs (0-based) that play them; ``()`` for the drum kit.
INSTRUMENT_TAGS: dict[str, tuple[int, ...]] = {
    "piano": tuple(range(0, 8)),
    "harpsichord": (6,),
    "guitar": tuple(range(24, 32)),
    "strings": tuple(range(40, 52)),
    "violin": (40,),
    "cello": (42,),
    "harp": (46,),
    "flute": (73,),
    "synth": tuple(range(80, 104)),
    "drums": (),
}

#: Clips per forward pass.
BATCH = 16


def clips_of(y: np.ndarray, n_samples: int) -> np.ndarray:
    """The consecutive clips of ``n_samples`` in ``y``, ``(clips, n_samples)``: the remainder shorter than a clip is
    left out, and a recording shorter than one clip is padded with zeros to one."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"predict takes one mono waveform (1-D), got an array of shape {y.shape}")
    count = y.size // n_samples
    if count == 0:
        return np.pad(y, (0, n_samples - y.size))[np.newaxis]
    return y[: count * n_samples].reshape(count, n_samples)


def predict(trained: TrainedModel, y: np.ndarray) -> np.ndarray:
    """The class probabilities of each consecutive clip of ``y`` (a waveform at ``trained.config.sr``).

    Parameters
    ----------
    trained : TrainedModel
        Any model :func:`auralisation.io.load_model` returns (a saved model, a ``.keras`` file, ``musicnn:NAME``).
    y : numpy.ndarray
        Mono waveform at the config's sample rate, any length (see :func:`clips_of`).

    Returns
    -------
    numpy.ndarray
        float32 ``(clips, classes)``: what the model outputs for each clip (sigmoids for a tagger, a softmax for a
        classifier).

    Raises
    ------
    ParameterError
        ``y`` is not one mono waveform.
    """
    return predict_clips(trained, clips_of(y, trained.config.n_samples))


def predict_clips(trained: TrainedModel, clips: np.ndarray) -> np.ndarray:
    """What the model outputs for each of ``clips`` ``(n, n_samples)`` (waveforms of one clip each), float32
    ``(n, classes)``."""
    config = trained.config
    expects_channel = len(trained.model.input_shape) == len(config.input_shape) + 1 and config.input_shape[-1] == 1
    out = []
    for start in range(0, len(clips), BATCH):
        x = model_input(clips[start : start + BATCH], config)
        if config.frontend.input != "waveform" and expects_channel:
            x = x[..., np.newaxis]
        out.append(np.asarray(trained.model(x, training=False), dtype=np.float32))
    return np.concatenate(out) if out else np.zeros((0, len(trained.classes)), dtype=np.float32)


def is_tagger(trained: TrainedModel) -> bool:
    """Whether the model's outputs are independent sigmoids (tags, as the musicnn taggers') rather than a softmax.

    Examples
    --------
    >>> from auralisation.pretrained import untrained
    >>> is_tagger(untrained("MTT_vgg"))
    True
    """
    last = trained.model.layers[-1]
    function = getattr(last, "activation", None)
    return getattr(function, "__name__", "") == "sigmoid"


def load_recording(path: str | os.PathLike[str], trained: TrainedModel) -> np.ndarray:
    """A whole audio file, mono at the model's sample rate (:func:`auralisation.audio.load_clip` over its length).

    Raises
    ------
    AudioError
        As :func:`~auralisation.audio.load_clip`.
    """
    try:
        seconds = float(sf.info(os.fspath(path)).duration)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"{path}: cannot be read as audio ({error}); give a WAV, FLAC, OGG or MP3 file") from error
    whole = dataclasses.replace(trained.config, duration=seconds)
    with warnings.catch_warnings():  # a sample short of the rounded length is padded: not worth a warning here
        warnings.simplefilter("ignore", AudioWarning)
        return load_clip(path, whole, silence="allow")


def top_classes(probabilities: np.ndarray, classes: Sequence[str], top: int = 5) -> list[tuple[str, float]]:
    """The ``top`` strongest classes of one clip's ``probabilities``, strongest first, as ``(name, probability)``."""
    probabilities = np.asarray(probabilities)
    order = np.argsort(-probabilities, kind="stable")[: max(0, top)]
    return [(classes[i], float(probabilities[i])) for i in order]


def track_instruments(track: str | os.PathLike[str]) -> set[str]:
    """The :data:`INSTRUMENT_TAGS` that a track of the bundled dataset plays (from the settings saved beside it).

    Raises
    ------
    DatasetError
        The track has no ``track.json`` beside its stems (it was not generated with ``--stems``, or is not ours).
    """
    import json

    from .synth.compose import compose_track
    from .synth.dataset import stems_folder

    record_path = stems_folder(track) / "track.json"
    if not record_path.is_file():
        raise DatasetError(
            f"{track}: no {record_path.name} beside its stems, so its instruments are unknown; generate the data "
            "with `auralisation generate default --stems`"
        )
    record = json.loads(record_path.read_text(encoding="utf-8"))
    parts = compose_track(record["style"], record["seed"], record["index"], record["seconds"])
    played = [part for part in parts if part.notes]
    programs = {part.program for part in played if not part.is_drum}
    drums = any(part.is_drum for part in played)
    return {tag for tag, kit in INSTRUMENT_TAGS.items() if (drums if not kit else programs & set(kit))}


def instrument_agreement(trained: TrainedModel, tracks: Sequence[str | os.PathLike[str]]) -> list[dict]:
    """How well each of a tagger's instrument tags detects the tracks that play that instrument.

    Each track's tags are :func:`predict`'s, averaged over its clips; for every tag of ``trained.classes`` in
    :data:`INSTRUMENT_TAGS`, the rows give the tracks with and without the instrument, the mean tag of each group,
    and the area under the ROC curve (``nan`` where one group is empty).

    Returns
    -------
    list of dict
        ``{"tag", "with", "without", "mean_with", "mean_without", "auc"}``, in the order of ``trained.classes``.
    """
    from sklearn.metrics import roc_auc_score

    scores = np.stack([predict(trained, load_recording(track, trained)).mean(axis=0) for track in tracks])
    present = [track_instruments(track) for track in tracks]
    rows = []
    for index, tag in enumerate(trained.classes):
        if tag not in INSTRUMENT_TAGS:
            continue
        truth = np.array([tag in found for found in present])
        both = 0 < truth.sum() < len(truth)
        rows.append({
            "tag": tag, "with": int(truth.sum()), "without": int((~truth).sum()),
            "mean_with": float(scores[truth, index].mean()) if truth.any() else float("nan"),
            "mean_without": float(scores[~truth, index].mean()) if (~truth).any() else float("nan"),
            "auc": float(roc_auc_score(truth, scores[:, index])) if both else float("nan"),
        })
    return rows


def tag_table(taggers: dict[str, TrainedModel], recordings: dict[str, np.ndarray], top: int = 3) -> str:
    """A Markdown table: one row per recording, one column per tagger, its ``top`` tags (mean over the clips).

    ``recordings`` are waveforms at the taggers' common sample rate, by name.
    """
    header = "| recording | " + " | ".join(taggers) + " |\n|---|" + "---|" * len(taggers)
    rows = []
    for name, y in recordings.items():
        cells = []
        for trained in taggers.values():
            best = top_classes(predict(trained, y).mean(axis=0), trained.classes, top)
            cells.append(", ".join(f"{tag} {p:.2f}" for tag, p in best))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join([header, *rows])
