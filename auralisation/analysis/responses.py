"""Running a model over the stimuli: what each feature of each layer does with each clip.

For every clip and every chosen feature of every block, :func:`compute_responses` records

* ``activation`` — the feature map at the block's output (after pooling), averaged over time: a vector over the
  map's frequency rows (128 at block 1 ... 8 at block 5). A vector rather than the map's single mean, because a
  correlation needs a vector, and because how a feature's response is spread over frequency is exactly what a
  change of key moves and an invariant feature keeps.
* ``deconvolution`` — the feature's deconvolved spectrogram ``D`` (whole-map seeding, as the authors did),
  as its magnitude averaged over time: a vector over the 257 frequency bins of the input.
* ``lines`` — the horizontal- and vertical-line shares of ``D`` (:func:`~auralisation.analysis.measures.line_shares`).
* ``onset`` — the onset log-ratio of ``D``, relative to the input's own
  (:func:`~auralisation.analysis.measures.onset_log_ratio`).

and, per clip, ``input_lines``: the line shares of the input as the network sees it (``compress(S, scaling)``),
the baseline of the line curve.

The deconvolved spectrograms themselves (``n_clips x n_features x 257 x 173`` per layer, 7 GB for the whole
grid) are reduced as they are made and not kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..audio import AudioConfig, compress, load_clip, magnitude, stft
from ..errors import ModelError
from .correlation import ATTRIBUTES, StimulusLike
from .measures import active_frames, line_shares, onset_frames, onset_log_ratio, onset_masks

if TYPE_CHECKING:
    import keras

__all__ = ["REPRESENTATIONS", "Responses", "compute_responses", "feature_audio", "select_stimuli", "untrained_copy"]

#: The two response vectors that correlations can be computed on.
REPRESENTATIONS: tuple[str, ...] = ("activation", "deconvolution")


@dataclasses.dataclass
class Responses:
    """What each feature of each layer did with each stimulus.

    Attributes
    ----------
    label : str
        Name of the model (``"trained"``, ``"untrained"``), copied into every table row.
    stimuli : list of Stimulus
        The clips, in the order of the first axis of every array.
    layers : list of str
        Block output names in depth order (``"pool1"`` ... ``"pool5"``).
    features : dict
        Layer -> int array of the feature (channel) indices analysed, in the order of the second axis.
    activation : dict
        Layer -> float32 ``(n_clips, n_features, n_rows)``: the time-averaged feature map.
    deconvolution : dict
        Layer -> float32 ``(n_clips, n_features, n_bins)``: the time-averaged magnitude of ``D``; empty when the
        responses were computed without deconvolution.
    lines : dict
        Layer -> float64 ``(n_clips, n_features, 2)``: horizontal and vertical line shares of ``D``.
    onset : dict
        Layer -> float64 ``(n_clips, n_features)``: onset log-ratio of ``D`` (NaN for clips without both onset
        and sustained frames, such as drum loops).
    input_lines : np.ndarray or None
        float64 ``(n_clips, 2)``: horizontal and vertical line shares of the (scaled) input spectrograms.
    """

    label: str
    stimuli: list[Any]
    layers: list[str]
    features: dict[str, np.ndarray]
    activation: dict[str, np.ndarray]
    deconvolution: dict[str, np.ndarray]
    lines: dict[str, np.ndarray]
    onset: dict[str, np.ndarray]
    input_lines: np.ndarray | None = None

    def representation(self, name: str) -> dict[str, np.ndarray]:
        """Layer -> responses for ``"activation"`` or ``"deconvolution"``."""
        if name not in REPRESENTATIONS:
            raise ModelError(f"unknown representation {name!r}: use one of {', '.join(REPRESENTATIONS)}")
        responses = getattr(self, name)
        if not responses:
            raise ModelError(f"the {name} responses of model {self.label!r} were not computed (deconvolve=False?)")
        return responses

    def depth(self, layer: str) -> int:
        """1-based depth of ``layer``."""
        return self.layers.index(layer) + 1


def select_stimuli(
    stimuli: Sequence[StimulusLike],
    *,
    keys: Sequence[str] | None = None,
    instruments: Sequence[str] | None = None,
    chord_groups: Sequence[str] | None = None,
    drums: bool = True,
) -> list[StimulusLike]:
    """The stimuli whose key, instrument and chord group are among those given (``None`` keeps all).

    Drum clips (no key) are kept when ``drums`` is True and their instrument passes; the fast mode uses this to
    analyse one key pair and two instruments.
    """
    wanted = {"key": keys, "instrument": instruments, "chord_group": chord_groups}
    chosen = []
    for stimulus in stimuli:
        is_drum = getattr(stimulus, "kind", "harmonic") == "drums" or stimulus.key is None
        if is_drum:
            if drums:
                chosen.append(stimulus)
            continue
        if all(wanted[name] is None or getattr(stimulus, name) in wanted[name] for name in ATTRIBUTES):
            chosen.append(stimulus)
    return chosen


def _resolve_features(
    n_available: int, features: Sequence[int] | None, n_features: int | None, layer: str
) -> np.ndarray:
    if features is None:
        return np.arange(n_available if n_features is None else min(n_features, n_available))
    chosen = np.asarray(list(features), dtype=np.int64)
    if chosen.size and (chosen.min() < 0 or chosen.max() >= n_available):
        raise ModelError(f"features {chosen.tolist()} out of range for layer {layer!r}, which has {n_available}")
    return chosen


def compute_responses(
    model: keras.Model,
    stimuli: Sequence[StimulusLike],
    config: AudioConfig,
    *,
    label: str = "model",
    layers: Sequence[str | int] | None = None,
    features: Sequence[int] | None = None,
    n_features: int | None = None,
    rule: str = "deconvnet",
    deconvolve: bool = True,
    batch_size: int | None = None,
    progress: bool = True,
) -> Responses:
    """Run ``model`` over ``stimuli`` and record each feature's responses (see the module docstring).

    Parameters
    ----------
    model : keras.Model
        A network with block outputs the deconvolver recognises (``choi2016``: ``pool1`` ... ``pool5``).
    stimuli : sequence of Stimulus
        Clips with a ``path`` (from :func:`auralisation.synth.load_stimuli`, or :func:`select_stimuli` of them).
    config : AudioConfig
        The model's audio configuration.
    label : str
        Name of the model in tables.
    layers : sequence of str or int, optional
        Blocks (names or 1-based numbers); default all.
    features : sequence of int, optional
        Feature indices per layer; default all.
    n_features : int, optional
        With ``features`` None: the first ``n_features`` of each layer only.
    rule : str
        Deconvolution rule (``"deconvnet"`` as in the paper, ``"guided"``, ``"gradient"``).
    deconvolve : bool
        False skips the deconvolutions (only ``activation`` is filled): much faster.
    batch_size : int or None
        Features deconvolved together (see :class:`~auralisation.deconv.Deconvolver`); ``None``, the deconvolver's
        default, takes as many as fit in its memory budget (all 64 of a ``choi2016`` layer, about 1 GB).
    progress : bool
        Show a progress bar over clips.

    Returns
    -------
    Responses
    """
    from ..deconv import Deconvolver
    from ..frontends import require_magnitude_input

    if not stimuli:
        raise ModelError("no stimuli to run the model over: generate them with `auralisation generate stimuli`")
    require_magnitude_input(config, "the correlation analysis")
    deconvolver = Deconvolver(model, rule=rule, batch_size=batch_size)
    names = deconvolver.layer_names if layers is None else [deconvolver.layer_name(layer) for layer in layers]
    chosen = {layer: _resolve_features(deconvolver.n_features(layer), features, n_features, layer) for layer in names}
    collected: dict[str, dict[str, list[np.ndarray]]] = {
        key: {layer: [] for layer in names} for key in ("activation", "deconvolution", "lines", "onset")
    }
    input_lines = []
    iterator: Any = stimuli
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(stimuli, desc=f"responses ({label})", unit="clip")
    for stimulus in iterator:
        y = load_clip(stimulus.path, config)
        S = magnitude(y, config)
        masks = onset_masks(onset_frames(y, config), active_frames(S))
        reference = compress(S, config.scaling)
        input_lines.append(line_shares(reference))
        for layer in names:
            maps = deconvolver.activations(S, layer)[chosen[layer]]
            collected["activation"][layer].append(np.asarray(maps, dtype=np.float32).mean(axis=-1))
            if not deconvolve:
                continue
            D = deconvolver.deconvolve(S, layer, chosen[layer].tolist())
            collected["deconvolution"][layer].append(np.abs(D).mean(axis=-1))
            collected["lines"][layer].append(line_shares(D))
            collected["onset"][layer].append(onset_log_ratio(D, *masks, reference=reference))
    stacked = {
        key: {layer: np.stack(values) for layer, values in by_layer.items() if values}
        for key, by_layer in collected.items()
    }
    return Responses(
        label=label, stimuli=list(stimuli), layers=names, features=chosen, input_lines=np.stack(input_lines), **stacked
    )


def untrained_copy(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with fresh weights drawn from its layers' initialisers, the control of the analysis.

    :func:`~auralisation.models.choi2016` seeds every initialiser, so the copy of a model built with seed ``s``
    has exactly the weights that model started training from: same architecture, same seed, nothing learned.
    """
    import keras

    copy = keras.models.clone_model(model)
    copy.name = f"{model.name}_untrained"
    return copy


def feature_audio(
    model: keras.Model,
    stimulus: StimulusLike,
    layer: str | int,
    feature: int,
    config: AudioConfig,
    *,
    rule: str = "deconvnet",
    loudness: str = "comparable",
) -> np.ndarray:
    """The auralisation of one feature on one stimulus: float32 ``(config.n_samples,)`` at ``config.sr``."""
    from ..auralise import auralise
    from ..deconv import deconvolve

    X = stft(load_clip(stimulus.path, config), config)
    D = deconvolve(model, np.abs(X).astype(np.float32), layer, [int(feature)], rule=rule)
    return auralise(X, D, config, loudness=loudness)[0]
