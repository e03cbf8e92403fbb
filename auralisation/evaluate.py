"""Scoring a classifier on a test split: per excerpt, per track, per class.

:func:`evaluate_predictions` is pure numpy and scikit-learn on class probabilities, so that the CNN
(:func:`evaluate_model`) and the MFCC baseline (:mod:`auralisation.baseline`) are scored by the same code. A track's
prediction is the mean of its excerpts' class probabilities.

Examples
--------
>>> import numpy as np
>>> probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
>>> result = evaluate_predictions(probabilities, [0, 0, 1], ["a.wav", "a.wav", "b.wav"], ["blues", "rock"])
>>> result.accuracy, result.track_accuracy
(0.6666666666666666, 1.0)
>>> result.confusion.tolist()
[[1, 1], [0, 1]]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from .errors import DatasetError, ModelError

if TYPE_CHECKING:
    import keras

    from .data import Excerpt, SpectrogramCache

__all__ = ["Evaluation", "evaluate_model", "evaluate_predictions", "format_scores"]


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """A classifier's scores on one split.

    Attributes
    ----------
    classes : list of str
        Class names; index ``i`` of every array is class ``classes[i]``.
    labels : numpy.ndarray
        True class index of each excerpt, int ``(n,)``.
    probabilities : numpy.ndarray
        Predicted class probabilities of each excerpt, float ``(n, n_classes)``.
    tracks : list of str
        The track (file) each excerpt comes from.
    """

    classes: list[str]
    labels: np.ndarray
    probabilities: np.ndarray
    tracks: list[str]

    @property
    def predictions(self) -> np.ndarray:
        """Predicted class index of each excerpt."""
        return np.argmax(self.probabilities, axis=1)

    @property
    def accuracy(self) -> float:
        """Fraction of excerpts classified correctly."""
        return float(np.mean(self.predictions == self.labels))

    @property
    def confusion(self) -> np.ndarray:
        """Excerpt confusion matrix, int ``(n_classes, n_classes)``: rows true class, columns predicted."""
        return confusion_matrix(self.labels, self.predictions, labels=range(len(self.classes)))

    def track_level(self) -> "Evaluation":
        """The same scores per track: each track's probabilities are the mean over its excerpts.

        Tracks are listed in the order they first appear. Raises :class:`DatasetError` if a track's excerpts carry
        different labels.
        """
        order = list(dict.fromkeys(self.tracks))
        index = {track: i for i, track in enumerate(order)}
        rows = np.array([index[track] for track in self.tracks])
        counts = np.bincount(rows, minlength=len(order))
        sums = np.zeros((len(order), self.probabilities.shape[1]))
        np.add.at(sums, rows, self.probabilities)
        labels = np.full(len(order), -1)
        for row, label in zip(rows, self.labels):
            if labels[row] not in (-1, label):
                raise DatasetError(
                    f"track {order[row]} has excerpts labelled {self.classes[labels[row]]!r} and "
                    f"{self.classes[label]!r}; a track must have one label"
                )
            labels[row] = label
        return Evaluation(self.classes, labels, sums / counts[:, None], order)

    @property
    def track_accuracy(self) -> float:
        """Fraction of tracks classified correctly from their mean excerpt probabilities."""
        return self.track_level().accuracy

    def report(self) -> dict[str, Any]:
        """Per-class precision, recall, F1 and support (scikit-learn's ``classification_report`` as a dict)."""
        return classification_report(
            self.labels,
            self.predictions,
            labels=range(len(self.classes)),
            target_names=self.classes,
            output_dict=True,
            zero_division=0,
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: accuracies, counts, per-class report and both confusion matrices."""
        tracks = self.track_level()
        return {
            "classes": list(self.classes),
            "excerpts": int(len(self.labels)),
            "tracks": int(len(tracks.labels)),
            "accuracy": self.accuracy,
            "track_accuracy": tracks.accuracy,
            "report": self.report(),
            "confusion": self.confusion.tolist(),
            "track_confusion": tracks.confusion.tolist(),
        }


def evaluate_predictions(
    probabilities: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    tracks: Sequence[str],
    classes: Sequence[str],
) -> Evaluation:
    """Score class probabilities against true labels.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``(n, n_classes)`` class probabilities (or any scores whose row maximum is the prediction).
    labels : sequence of int
        True class index of each of the ``n`` excerpts.
    tracks : sequence of str
        Track of each excerpt, for the per-track scores.
    classes : sequence of str
        The class names.

    Returns
    -------
    Evaluation

    Raises
    ------
    DatasetError
        Empty input, lengths that disagree, or labels outside ``range(len(classes))``.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n_classes = len(classes)
    if probabilities.ndim != 2 or probabilities.shape[1] != n_classes:
        raise DatasetError(
            f"probabilities must have shape (n, {n_classes}) for {n_classes} classes, got {probabilities.shape}"
        )
    if not len(labels) == len(tracks) == len(probabilities):
        raise DatasetError(
            f"{len(probabilities)} predictions, {len(labels)} labels and {len(tracks)} tracks: they must agree"
        )
    if len(labels) == 0:
        raise DatasetError("nothing to evaluate: the split holds no excerpts")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise DatasetError(f"labels must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}")
    return Evaluation(list(classes), labels, probabilities, [str(track) for track in tracks])


def evaluate_model(
    model: "keras.Model",
    excerpts: Sequence["Excerpt"],
    classes: Sequence[str],
    cache: "SpectrogramCache",
    *,
    batch_size: int = 32,
) -> Evaluation:
    """Predict every excerpt (linear magnitude from ``cache``) with ``model`` and score the predictions.

    Raises
    ------
    ModelError
        The model's input shape differs from the cache's config, or its output count from ``len(classes)``.
    """
    from .data import label_indices, make_dataset

    expected_input = tuple(cache.config.input_shape)
    if tuple(model.input_shape[1:]) != expected_input:
        raise ModelError(
            f"model {model.name!r} takes inputs of shape {tuple(model.input_shape[1:])} but the data's config "
            f"gives {expected_input}; evaluate with the config saved beside the model"
        )
    if model.output_shape[-1] != len(classes):
        raise ModelError(
            f"model {model.name!r} has {model.output_shape[-1]} outputs but the data has {len(classes)} classes "
            f"{list(classes)}; evaluate on data with the model's classes"
        )
    labels = label_indices(excerpts, classes)
    dataset = make_dataset(list(excerpts), list(classes), cache, batch_size=batch_size, shuffle=False)
    probabilities = model.predict(dataset, verbose=0)
    return evaluate_predictions(probabilities, labels, [excerpt.track for excerpt in excerpts], classes)


def format_scores(evaluations: Mapping[str, Evaluation]) -> str:
    """A text table of several classifiers' scores on one split: accuracy per excerpt and per track, F1 per class.

    Examples
    --------
    >>> result = evaluate_predictions(np.eye(2), [0, 1], ["a.wav", "b.wav"], ["blues", "rock"])
    >>> print(format_scores({"CNN": result}))
                   CNN
    excerpts     1.000
    tracks       1.000
    F1 blues     1.000
    F1 rock      1.000
    """
    names = list(evaluations)
    first = evaluations[names[0]]
    rows = [("excerpts", [e.accuracy for e in evaluations.values()])]
    rows.append(("tracks", [e.track_accuracy for e in evaluations.values()]))
    reports = [e.report() for e in evaluations.values()]
    rows.extend((f"F1 {name}", [report[name]["f1-score"] for report in reports]) for name in first.classes)
    label_width = max(len(label) for label, _ in rows) + 2
    widths = [max(8, len(name) + 2) for name in names]
    lines = [" " * label_width + "".join(f"{name:>{w}}" for name, w in zip(names, widths))]
    lines.extend(
        f"{label:<{label_width}}" + "".join(f"{value:>{w}.3f}" for value, w in zip(values, widths))
        for label, values in rows
    )
    return "\n".join(line.rstrip() for line in lines)
