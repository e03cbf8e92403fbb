"""What the numbered notebooks share: the trained model or how to make it, example clips, features by strength.

Every notebook starts from the same three questions: which trained network (and what to do if there is none),
which clips, and which features of a layer matter most on a clip. They are answered here, once, so that the
notebooks hold parameters, calls and prose only, and mean the same thing by "the most active feature".

* :func:`trained_model` loads ``models/<name>`` of the current mode, or says how to train it; it never stands in
  a random network for a missing one.
* :func:`example_excerpts` picks excerpts of a GTZAN-style folder, a few per label, in a fixed order.
* :func:`feature_strengths` and :func:`strongest_features` rank a layer's features on a clip by one definition:
  the strongest activation of each feature's map (the value that ``seeding="max"`` deconvolves).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import DatasetError, ModelError, ParameterError
from .paths import ProjectPaths, project_paths

__all__ = ["example_excerpts", "feature_strengths", "strongest_features", "trained_model"]


def trained_model(name: str, paths: ProjectPaths | None = None):
    """The trained model ``name`` of this mode (``models/<name>``, ``models/fast/<name>`` in fast mode).

    Parameters
    ----------
    name : str
        The model's folder name under the mode's models folder; notebook 01 writes ``choi2016`` and ``choi2017``.
    paths : ProjectPaths, optional
        The project's folders (default :func:`~auralisation.paths.project_paths` of the current mode).

    Returns
    -------
    TrainedModel
        The model, its audio configuration and its class names.

    Raises
    ------
    ModelError
        There is no trained model of that name; the message says which commands train it.

    Examples
    --------
    >>> import tempfile
    >>> empty = ProjectPaths(*[Path(tempfile.mkdtemp())] * 5)
    >>> trained_model("choi2016", empty)
    Traceback (most recent call last):
    ...
    auralisation.errors.ModelError: ...: no trained choi2016 model; run notebook 01 first (it trains choi2016 and choi2017), or `make reproduce`
    """
    from .train import load_model

    paths = project_paths() if paths is None else paths
    folder = paths.models / name
    if not (folder / "model.keras").is_file():
        raise ModelError(
            f"{folder}: no trained {name} model; run notebook 01 first (it trains choi2016 and choi2017), "
            "or `make reproduce`"
        )
    return load_model(folder)


def example_excerpts(
    folder: str | os.PathLike[str], config, *, per_label: int = 1, labels: Sequence[str] | None = None
) -> list:
    """The first ``per_label`` excerpts of each label of a GTZAN-style folder, label by label.

    Parameters
    ----------
    folder : path-like
        A dataset laid out as ``folder/<label>/<track>.<ext>`` (:func:`~auralisation.data.scan_folder`).
    config : AudioConfig
        Gives the excerpts' length.
    per_label : int
        Excerpts per label, taken in the scan's order (track by track, then offset).
    labels : sequence of str, optional
        The labels to take them from (default: every label).

    Returns
    -------
    list of Excerpt
        ``per_label`` excerpts of each chosen label (fewer where a label has fewer).

    Raises
    ------
    DatasetError
        The folder is missing or badly laid out, or a label is not one of its labels.
    ParameterError
        ``per_label`` is below 1.
    """
    from .data import scan_folder

    if per_label < 1:
        raise ParameterError(f"per_label must be at least 1, got {per_label}")
    classes, excerpts = scan_folder(folder, config)
    chosen = list(classes if labels is None else labels)
    unknown = sorted(set(chosen) - set(classes))
    if unknown:
        raise DatasetError(f"{Path(folder)}: no label {', '.join(unknown)}; its labels are {', '.join(classes)}")
    return [e for label in chosen for e in [e for e in excerpts if e.label == label][:per_label]]


def feature_strengths(activations: np.ndarray) -> np.ndarray:
    """Each feature's strength on a clip: the largest value of its activation map.

    Parameters
    ----------
    activations : np.ndarray
        The maps of one layer on one clip, ``(n_features, ...)`` (:meth:`Deconvolver.activations`).

    Returns
    -------
    np.ndarray
        float32 ``(n_features,)``.

    Examples
    --------
    >>> feature_strengths(np.array([[[0.0, 2.0]], [[1.0, 1.5]]]))
    array([2. , 1.5], dtype=float32)
    """
    maps = np.asarray(activations)
    return maps.reshape(len(maps), -1).max(axis=1).astype(np.float32)


def strongest_features(deconvolver, spectrogram: np.ndarray, layer: int | str, top: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """A layer's features on one clip, strongest first, with their strengths (:func:`feature_strengths`).

    Parameters
    ----------
    deconvolver : Deconvolver
        The model's deconvolver.
    spectrogram : np.ndarray
        One clip's magnitude spectrogram ``(freq, time)``.
    layer : int or str
        Block number (1-based) or layer name.
    top : int, optional
        Keep only the ``top`` strongest (default: all).

    Returns
    -------
    features : np.ndarray
        int ``(top,)`` feature indices, strongest first (ties: lower index first).
    strengths : np.ndarray
        float32 ``(top,)`` their strengths.
    """
    strengths = feature_strengths(deconvolver.activations(spectrogram, layer))
    order = np.argsort(-strengths, kind="stable")[:top]
    return order, strengths[order]
