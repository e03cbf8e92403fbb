"""What the numbered notebooks share: the trained model or how to make it, example clips, features by strength.

Every notebook starts from the same three questions: which trained network (and what to do if there is none),
which clips, and which features of a layer matter most on a clip. They are answered here, once, so that the
notebooks hold parameters, calls and prose only, and mean the same thing by "the most active feature".

* :func:`trained_model` loads ``models/<name>`` of the current mode, or says how to train it; it never stands in
  a random network for a missing one.
* :func:`example_excerpts` picks excerpts of a GTZAN-style folder, a few per label, in a fixed order.
* :func:`layer_display` lays out what notebook 02 shows of a layer on a clip: the strongest features' maps and
  players of their auralisations.
* :func:`strongest_features` ranks a layer's features on a clip by the package's one definition,
  :func:`~auralisation.features.feature_strengths`: the strongest activation of each feature's map.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import DatasetError, ModelError, ParameterError
from .features import feature_strengths, strongest_first
from .paths import ProjectPaths, project_paths

__all__ = ["example_excerpts", "layer_display", "strongest_features", "trained_model"]


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
    from .io import load_model

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


def strongest_features(deconvolver, spectrogram: np.ndarray, layer: int | str, top: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """A layer's features on one clip, strongest first, with their strengths (:func:`~auralisation.features.feature_strengths`).

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
    order = strongest_first(strengths)[:top]
    return order, strengths[order]


def layer_display(title: str, X: np.ndarray, D: np.ndarray, strengths: np.ndarray, config, *, top: int = 4,
                  players: int = 2) -> list:
    """What to display of one layer on one clip: a title, the ``top`` strongest features' maps, players of some.

    The figure shows ``D`` (top row) and ``|X| * D`` (bottom row) of the strongest features
    (:func:`~auralisation.plotting.feature_grid`); the players are the ``players`` strongest features'
    auralisations at comparable loudness: one gain for all of them, which brings the loudest to full scale (the level
    of ``istft(X * D)`` falls about 10 dB per layer, and the gain keeps that out of the comparison).

    Parameters
    ----------
    title : str
        What the first line says (Markdown): the clip and the layer.
    X : np.ndarray
        The clip's complex STFT ``(n_bins, n_frames)``.
    D : np.ndarray
        Every feature's deconvolved spectrogram ``(n_features, n_bins, n_frames)``.
    strengths : np.ndarray
        Every feature's strength on the clip (:func:`~auralisation.features.feature_strengths`).
    config : AudioConfig
        The model's audio settings.
    top, players : int
        Features shown, and of those, how many are played.

    Returns
    -------
    list
        IPython display objects in order: ``display(*layer_display(...))``.
    """
    from IPython.display import Audio, Markdown

    from .auralise import auralise
    from .plotting import feature_grid

    order = strongest_first(strengths)[:top]
    items: list = [Markdown(f"{title}: the {len(order)} most active of {len(D)} features"),
                   feature_grid(np.abs(X), D[order], order, strengths[order], config)]
    for feature, y in zip(order[:players], auralise(X, D[order[:players]], config, normalize=True)):
        items += [Markdown(f"feature {feature}"), Audio(y, rate=config.sr, normalize=False)]
    return items
