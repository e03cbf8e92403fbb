"""What a feature hears, measured: the share of its auralisation that each stem of the clip explains.

Choi et al. (2016) labelled features by ear ("attack suppressor", "kick drum selector"). A generated track is the
sum of its stems (drums, bass, harmony, melody: :mod:`auralisation.synth`), so a label can come with a number.

**The measure.** On the clip's STFT grid (:func:`auralisation.audio.stft` with the model's
:class:`~auralisation.audio.AudioConfig`), let ``M_s = |STFT(stem_s)|`` be each stem's magnitude and
``A = |STFT(istft(X * D))|`` the magnitude of a feature's auralisation (``X`` the clip's complex STFT, ``D`` the
feature's deconvolved spectrogram; :func:`auralised_magnitude`). Each time-frequency bin's ``A`` is given to the
stems in proportion to their magnitude there, ``w_s = M_s / sum_s M_s`` (bins where no stem sounds are left out),
so that

``share_s = sum_tf A * w_s / sum_tf A * [sum_s M_s > 0]``  and the shares sum to 1.

The same measure with ``A = |X|`` (the clip itself: its auralisation with ``D = 1``) gives each stem's **share of
the mix**, and the **enrichment** ``share_s / mix share_s`` says how much more of the stem the feature lets through
than the clip holds: 1 for a feature that passes the mix as it is, above 1 for a stem it selects, below 1 for one it
drops.
Over several clips, a stem's share and its share of the mix are averaged over the clips on which the feature sounds
and the stem is present (:data:`PRESENT`; a drumless style says nothing about drums), and the enrichment is the
ratio of those means (robust to a clip where a stem is faint); intervals are percentile bootstraps over clips.

**Labels** (a stem "selector", or "mixed") come from these numbers by a rule stated in advance:
:mod:`auralisation.analysis.stem_labels`.

Examples
--------
>>> import numpy as np
>>> M = np.zeros((2, 4, 3)); M[0, :2] = 1.0; M[1, 2:] = 1.0  # stem 0 in the low bins, stem 1 in the high ones
>>> W = stem_weights(M)
>>> stem_shares(M.sum(axis=0), W).round(2).tolist()  # the mix: half each
[0.5, 0.5]
>>> stem_shares(M[0], W).round(2).tolist()  # something that passes stem 0 only
[1.0, 0.0]
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from ..audio import AudioConfig, magnitude, stft
from ..errors import AudioError, AuralisationError, DatasetError, ParameterError

if TYPE_CHECKING:
    from ..deconv import Deconvolver

__all__ = [
    "ClipStems",
    "StemResponses",
    "StemRow",
    "auralised_magnitude",
    "clip_stem_shares",
    "excerpt_stems",
    "excerpts_with_stems",
    "held_out_excerpts",
    "stem_responses",
    "stem_responses_of_maps",
    "stem_shares",
    "stem_table",
    "stem_weights",
]

#: A stem counts as present in a clip when its share of the clip is at least this; a stem's means are taken over
#: the clips where it is present (a style without drums says nothing about how a feature treats drums).
PRESENT = 0.01


def stem_weights(M: np.ndarray) -> np.ndarray:
    """Each stem's part of each bin, ``M_s / sum_s M_s``; zero in bins where no stem sounds.

    Parameters
    ----------
    M : numpy.ndarray
        Stem magnitudes ``(n_stems, n_bins, n_frames)`` on the clip's STFT grid.

    Returns
    -------
    numpy.ndarray
        float32 of the same shape; sums to 1 over the stems wherever a stem sounds, to 0 elsewhere.
    """
    M = np.asarray(M, dtype=np.float32)
    if M.ndim != 3 or np.any(M < 0):
        raise ParameterError(f"stem magnitudes must be non-negative (n_stems, bins, frames), got shape {M.shape}")
    total = M.sum(axis=0, keepdims=True)
    return np.divide(M, total, out=np.zeros_like(M), where=total > 0)


def stem_shares(A: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Shares of the magnitudes ``A`` that each stem explains (see the module's definition).

    Parameters
    ----------
    A : numpy.ndarray
        Non-negative magnitudes ``(..., n_bins, n_frames)`` on the clip's grid: auralisations, or the clip.
    weights : numpy.ndarray
        ``(n_stems, n_bins, n_frames)`` from :func:`stem_weights`.

    Returns
    -------
    numpy.ndarray
        float64 ``(..., n_stems)`` summing to 1; NaN where ``A`` is zero on every bin where a stem sounds.
    """
    A = np.asarray(A, dtype=np.float32)
    if A.shape[-2:] != weights.shape[-2:]:
        raise ParameterError(f"magnitudes {A.shape} and stem weights {weights.shape} are not on one STFT grid")
    explained = np.einsum("...ft,sft->...s", A, weights, dtype=np.float64)
    total = explained.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, explained / total, np.nan)


def auralised_magnitude(X: np.ndarray, D: np.ndarray, config: AudioConfig) -> np.ndarray:
    """``|STFT(istft(X * D))|``: the magnitude of each feature's auralisation on the clip's grid.

    The raw auralisation (:func:`auralisation.auralise.synthesise`, before any loudness gain, which no share depends
    on) taken back to the STFT grid: what one hears, rather than ``|X| |D|``, which is not the STFT of any sound
    (``D`` carries unpooling's one-bin checkerboard, which the inverse STFT smooths away).
    """
    from ..auralise import synthesise

    return magnitude(synthesise(X, D, config), config)


def _stacked(stems: Mapping[str, np.ndarray], config: AudioConfig) -> tuple[tuple[str, ...], np.ndarray]:
    """Stem names and waveforms ``(n_stems, n_samples)``, or :class:`AudioError`."""
    if not stems:
        raise AudioError("no stems given: pass a mapping of stem name to waveform (auralisation.synth.load_stems)")
    names = tuple(stems)
    waves = [np.asarray(stems[name], dtype=np.float32) for name in names]
    bad = [name for name, y in zip(names, waves) if y.shape != (config.n_samples,)]
    if bad:
        raise AudioError(
            f"stems {bad} are not clips of {config.n_samples} samples ({config.duration} s at {config.sr} Hz); "
            "cut them with the clip's offset, as load_clip cuts the mix"
        )
    return names, np.stack(waves)


@dataclasses.dataclass(frozen=True)
class ClipStems:
    """One clip and its stems on the STFT grid: ``X`` the mix's STFT, ``weights`` from :func:`stem_weights`."""

    names: tuple[str, ...]
    X: np.ndarray
    weights: np.ndarray
    config: AudioConfig

    @property
    def mix_shares(self) -> np.ndarray:
        """Each stem's share of the clip itself, ``(n_stems,)``."""
        return stem_shares(np.abs(self.X), self.weights)

    def shares(self, D: np.ndarray) -> np.ndarray:
        """Each stem's share of the auralisations of the deconvolved spectrograms ``D`` ``(n, bins, frames)``."""
        return stem_shares(auralised_magnitude(self.X, D, self.config), self.weights)


def clip_stem_shares(stems: Mapping[str, np.ndarray], config: AudioConfig, X: np.ndarray | None = None) -> ClipStems:
    """The clip and its stems' weights on the config's STFT grid.

    Parameters
    ----------
    stems : mapping of str to numpy.ndarray
        Waveforms of ``config.n_samples`` samples by stem name.
    config : AudioConfig
        The model's STFT parameters.
    X : numpy.ndarray, optional
        The clip's complex STFT when the clip is not exactly the stems' sum (a peak-normalised mix, a file read
        back from disk); the weights do not depend on the stems' overall level. Default: the STFT of their sum.

    Examples
    --------
    >>> config = AudioConfig(duration=1.0)
    >>> t = np.arange(config.n_samples) / config.sr
    >>> clip = clip_stem_shares({"low": np.sin(2 * np.pi * 100 * t), "high": np.sin(2 * np.pi * 3000 * t)}, config)
    >>> clip.mix_shares.round(1).tolist()  # equal sines: about half each
    [0.5, 0.5]
    """
    names, waves = _stacked(stems, config)
    if X is None:
        X = stft(waves.sum(axis=0), config)
    elif np.shape(X) != (config.n_bins, config.n_frames):
        raise AudioError(f"X must be the clip's STFT {(config.n_bins, config.n_frames)}, got shape {np.shape(X)}")
    return ClipStems(names, np.asarray(X), stem_weights(magnitude(waves, config)), config)


def excerpt_stems(
    stems: Mapping[str, np.ndarray], config: AudioConfig, offset: float = 0.0, *, sr: int | None = None
) -> dict[str, np.ndarray]:
    """The stems of one excerpt: ``config.duration`` seconds from ``offset``, cut as :func:`load_clip` cuts the mix.

    Parameters
    ----------
    stems : mapping of str to numpy.ndarray
        Whole-track stems (:func:`auralisation.synth.load_stems`).
    config : AudioConfig
        Sample rate and duration of the excerpt.
    offset : float
        Start of the excerpt in seconds.
    sr : int, optional
        The stems' sample rate, if not ``config.sr`` (they are resampled with librosa).

    Returns
    -------
    dict of str to numpy.ndarray
        float32 ``(config.n_samples,)`` per stem, zero-padded at the end of a short track.
    """
    import librosa

    start = int(round(offset * config.sr))
    cut = {}
    for name, y in stems.items():
        y = np.asarray(y, dtype=np.float32)
        if sr is not None and sr != config.sr:
            y = librosa.resample(y, orig_sr=sr, target_sr=config.sr)
        y = y[start : start + config.n_samples]
        cut[name] = np.pad(y, (0, config.n_samples - len(y)))
    return cut


@dataclasses.dataclass(frozen=True)
class StemResponses:
    """Stem shares of every chosen feature of every layer on several clips.

    Attributes
    ----------
    stems : tuple of str
        The stems, in the order of the last axis.
    mix : numpy.ndarray
        ``(n_clips, n_stems)``: each stem's share of each clip.
    shares : dict of str to numpy.ndarray
        Per layer name, ``(n_clips, n_features, n_stems)``: the features' shares (NaN where a feature is silent).
    features : dict of str to numpy.ndarray
        Per layer name, the feature indices measured.
    """

    stems: tuple[str, ...]
    mix: np.ndarray
    shares: dict[str, np.ndarray]
    features: dict[str, np.ndarray]


def stem_responses(
    deconvolver: Deconvolver,
    clips: Sequence[Mapping[str, np.ndarray]],
    config: AudioConfig,
    layers: Iterable[int | str] | None = None,
    features: Sequence[int] | None = None,
    *,
    n_features: int | None = None,
    progress: bool = True,
) -> StemResponses:
    """Deconvolve every chosen feature on every clip and measure its stem shares.

    Parameters
    ----------
    deconvolver : Deconvolver
        The model and rule (:class:`auralisation.deconv.Deconvolver`).
    clips : sequence of mapping
        Each clip as its stems (waveforms of ``config.n_samples`` samples, the same names in every clip).
    config : AudioConfig
        The model's audio settings.
    layers : iterable of int or str, optional
        Blocks to measure; default, all.
    features : sequence of int, optional
        These features of every layer (default all).
    n_features : int, optional
        Only the first ``n_features`` features of each layer (instead of ``features``).
    progress : bool
        Show a progress bar over the clips.

    Returns
    -------
    StemResponses
    """
    layer_names = [deconvolver.layer_name(layer) for layer in (layers or range(1, len(deconvolver.layer_names) + 1))]
    chosen = {
        name: np.arange(min(n_features, deconvolver.n_features(name))) if n_features is not None
        else np.arange(deconvolver.n_features(name)) if features is None else np.asarray(features)
        for name in layer_names
    }
    if not clips:
        raise ParameterError("no clips to measure: pass at least one clip's stems")
    names: tuple[str, ...] | None = None
    mix, shares = [], {name: [] for name in layer_names}
    for stems in tqdm(clips, desc="stem shares", unit="clip", disable=not progress):
        clip = clip_stem_shares(stems, config)
        if names is not None and clip.names != names:
            raise AudioError(f"every clip must have the same stems; got {clip.names} after {names}")
        names = clip.names
        mix.append(clip.mix_shares)
        S = np.abs(clip.X)
        for name in layer_names:
            D = deconvolver.deconvolve(S, name, chosen[name].tolist())
            shares[name].append(clip.shares(D))
    return StemResponses(names, np.stack(mix), {k: np.stack(v) for k, v in shares.items()}, chosen)


def stem_responses_of_maps(clips: Sequence[ClipStems], maps: Mapping[str, Sequence[np.ndarray]]) -> StemResponses:
    """:class:`StemResponses` of deconvolutions already made: ``maps[layer][i]`` is every feature's ``D`` on clip ``i``.

    Examples
    --------
    >>> config = AudioConfig(duration=1.0)
    >>> t = np.arange(config.n_samples) / config.sr
    >>> clip = clip_stem_shares({"low": np.sin(2 * np.pi * 100 * t), "high": np.sin(2 * np.pi * 3000 * t)}, config)
    >>> result = stem_responses_of_maps([clip], {"pool1": [np.ones((2, *clip.X.shape))]})
    >>> result.shares["pool1"].shape, result.features["pool1"].tolist()
    ((1, 2, 2), [0, 1])
    """
    if not clips:
        raise ParameterError("no clips to measure: pass at least one clip's stems")
    if len({clip.names for clip in clips}) > 1:
        raise AudioError(f"every clip must have the same stems; got {sorted({clip.names for clip in clips})}")
    if any(len(per_clip) != len(clips) for per_clip in maps.values()):
        raise ParameterError(f"maps must hold one array of every feature per clip ({len(clips)} clips)")
    shares = {layer: np.stack([clip.shares(D) for clip, D in zip(clips, per_clip)]) for layer, per_clip in maps.items()}
    return StemResponses(
        clips[0].names, np.stack([clip.mix_shares for clip in clips]), shares,
        {layer: np.arange(values.shape[1]) for layer, values in shares.items()},
    )


@dataclasses.dataclass(frozen=True)
class StemRow:
    """One stem's share of one feature's auralisations, and its enrichment, over clips (bootstrap intervals)."""

    layer: str
    feature: int
    stem: str
    share: float
    share_low: float
    share_high: float
    enrichment: float
    enrichment_low: float
    enrichment_high: float
    mix_share: float
    n_clips: int


def _resampled_means(values: np.ndarray, valid: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted means over clips of ``values`` ``(n_clips, k)`` where ``valid``, one row per row of ``weights``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ np.where(valid, values, 0.0)) / (weights @ valid.astype(np.float64))


def stem_table(
    responses: StemResponses, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> list[StemRow]:
    """Per layer, feature and stem: mean share and enrichment, with intervals, over the clips that hold the stem.

    A stem's means are taken over the clips on which the feature sounds and the stem is present (its share of the
    clip at least :data:`PRESENT`): ``n_clips`` counts them. The share is the mean of the per-clip shares; the
    enrichment is that mean over the mean of the stem's share of the same clips (a ratio of means); both intervals
    are percentile bootstraps over clips, one set of resamples for all features and stems.
    """
    if not 0.0 < level < 1.0 or n_boot < 1:
        raise ParameterError(f"need a level in (0, 1) and n_boot >= 1, got {level} and {n_boot}")
    rows = []
    tail = 100.0 * (1.0 - level) / 2.0
    for layer, shares in responses.shares.items():
        n_clips, n_features, n_stems = shares.shape
        mix = np.broadcast_to(responses.mix[:, None, :], shares.shape)
        # (clips, features, stems): the feature sounds on the clip, and the stem is in it
        valid = np.isfinite(shares).all(axis=-1, keepdims=True) & (mix >= PRESENT)
        # row 0 weighs every clip once (the sample); the others count how often a bootstrap resample draws each clip
        draws = np.random.default_rng(seed).multinomial(n_clips, np.full(n_clips, 1.0 / n_clips), size=n_boot)
        weights = np.concatenate([np.ones((1, n_clips)), draws]).astype(np.float64)
        flat_valid = valid.reshape(n_clips, -1)
        share, *share_boot = _resampled_means(shares.reshape(n_clips, -1), flat_valid, weights)
        mix_mean, *mix_boot = _resampled_means(mix.reshape(n_clips, -1), flat_valid, weights)
        share_boot, mix_boot = np.array(share_boot), np.array(mix_boot)
        with np.errstate(invalid="ignore", divide="ignore"):
            enrichment, enrichment_boot = share / mix_mean, share_boot / mix_boot
        enrichment_boot = np.where(np.isfinite(enrichment_boot), enrichment_boot, np.nan)
        with warnings.catch_warnings():  # a feature silent on every clip has no interval
            warnings.simplefilter("ignore", RuntimeWarning)
            share_ci = np.nanpercentile(share_boot, [tail, 100.0 - tail], axis=0)
            enrichment_ci = np.nanpercentile(enrichment_boot, [tail, 100.0 - tail], axis=0)
        for f, feature in enumerate(responses.features[layer]):
            for s, stem in enumerate(responses.stems):
                i = f * n_stems + s
                rows.append(StemRow(
                    layer, int(feature), stem, float(share[i]), *map(float, share_ci[:, i]), float(enrichment[i]),
                    *map(float, enrichment_ci[:, i]), float(mix_mean[i]), int(valid[:, f, s].sum()),
                ))
    return rows


def held_out_excerpts(model_folder: str | os.PathLike[str], *, per_label: int = 2, split: str = "test") -> list:
    """The first ``per_label`` excerpts of each label in a trained model's ``split`` (its ``splits.json``).

    Raises
    ------
    DatasetError
        The model folder has no ``splits.json`` (it was not trained by :mod:`auralisation.training`) or no such split.
    """
    from ..data import Excerpt

    path = Path(model_folder) / "splits.json"
    if not path.is_file():
        raise DatasetError(f"{path} does not exist: the model was not trained here; train it with notebook 01")
    splits = json.loads(path.read_text())
    if split not in splits:
        raise DatasetError(f"{path} has no split {split!r}; it has {', '.join(splits)}")
    chosen: list = []
    for entry in splits[split]:
        if sum(e.label == entry["label"] for e in chosen) < per_label:
            chosen.append(Excerpt(Path(entry["path"]), entry["label"], float(entry["offset"])))
    return chosen


def excerpts_with_stems(excerpts: Sequence, config: AudioConfig) -> tuple[list, list[dict[str, np.ndarray]]]:
    """The excerpts whose tracks have stems on disk (:func:`auralisation.synth.load_stems`), and their stems.

    Returns
    -------
    tuple
        ``(excerpts, clips)``: the excerpts kept, and each one's stems cut to the excerpt (:func:`excerpt_stems`).
        Both are empty when no track has stems (data not generated by this package, or before it wrote stems).
    """
    from ..synth import SAMPLE_RATE, load_stems

    kept, clips = [], []
    for excerpt in excerpts:
        try:
            stems = load_stems(excerpt.path)
        except AuralisationError:
            continue
        kept.append(excerpt)
        clips.append(excerpt_stems(stems, config, excerpt.offset, sr=SAMPLE_RATE))
    return kept, clips
