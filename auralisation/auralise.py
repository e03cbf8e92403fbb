"""Auralisation: a deconvolved spectrogram back to sound (the ``auralisation auralise`` command is
:mod:`auralisation.cli.auralise`).

The deconvolved spectrogram ``D`` of a feature (:mod:`auralisation.deconv`) multiplies the clip's complex STFT
``X`` element-wise, and the inverse STFT of ``X * D`` is the feature's auralisation (Choi et al. 2016): the clip's
own phase is kept, flipped by pi where ``D < 0``. :func:`synthesise` is that linear map; :func:`auralise` adds a
loudness policy:

* ``"comparable"`` (default): the level of ``istft(X * D)`` itself, so that every feature keeps its loudness
  relative to the others and to the clip (a weak feature sounds weak); one gain for the whole set, below 1 only
  where the loudest would clip;
* ``"peak"``: every feature normalised to a peak of 0.99 on its own, as the authors did, which hides how strong
  each feature is.

Neither clips. :func:`export` writes the auralisations to disk, one shared gain per layer, in the layout of
:func:`export_layout` (:func:`auralisation.plotting.export_pictures` draws their pictures beside them).

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig, stft
>>> config = AudioConfig()
>>> y = np.sin(2 * np.pi * 440 * np.arange(config.n_samples) / config.sr).astype("float32")
>>> X = stft(y, config)
>>> same = synthesise(X, np.ones((1, *X.shape), "float32"), config)[0]
>>> bool(np.max(np.abs(same - y)) < 1e-5)
True
>>> waves = auralise(X, np.stack([np.ones(X.shape), 0.5 * np.ones(X.shape)]), config)  # the first would clip
>>> [round(float(peak), 3) for peak in np.abs(waves).max(axis=1)]
[0.99, 0.495]
>>> round(float(np.abs(auralise(X, 0.5 * np.ones(X.shape), config)).max()), 3)  # nothing would clip: no gain
0.5
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from .audio import AudioConfig, istft, write_wav
from .choices import LOUDNESS
from .errors import AudioError, ParameterError

__all__ = ["LOUDNESS", "PEAK", "auralise", "export", "export_layout", "loudness_gains", "synthesise"]

Loudness = Literal["comparable", "peak"]


#: Peak amplitude of the loudest auralisation.
PEAK = 0.99

#: Occlusion patch (bins x frames) of the command and the explorer: coarser than the method's default (16, 8),
#: for speed: one feature costs ``(2 * bins / 32) * (2 * frames / 16)`` forward passes, about 350 for the paper's input.
OCCLUSION_PATCH = (32, 16)

#: Maps of one layer for :func:`export`: all features in order, or ``(feature indices, maps)``.
LayerMaps = np.ndarray | tuple[Sequence[int], np.ndarray]


def _checked_stft(X: np.ndarray, config: AudioConfig) -> np.ndarray:
    """``X`` if it is a complex ``(bins, frames)`` STFT for ``config``, else :class:`AudioError`."""
    X = np.asarray(X)
    if X.shape != (config.n_bins, config.n_frames) or not np.iscomplexobj(X):
        raise AudioError(
            f"X must be the clip's complex STFT of shape {(config.n_bins, config.n_frames)} "
            f"(auralisation.audio.stft(y, config)); got a {X.dtype} array of shape {X.shape}"
        )
    return X


def _checked(X: np.ndarray, D: np.ndarray, config: AudioConfig) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as complex ``(bins, frames)`` and ``D`` as float32 ``(n, bins, frames)``, or :class:`AudioError`."""
    X = _checked_stft(X, config)
    D = np.asarray(D, dtype=np.float32)
    if D.ndim == 2:
        D = D[None]
    if D.ndim != 3 or D.shape[1:] != X.shape:
        raise AudioError(
            f"D must be deconvolved spectrograms of shape (n, {X.shape[0]}, {X.shape[1]}) or "
            f"({X.shape[0]}, {X.shape[1]}), matching the clip's STFT; got shape {D.shape}"
        )
    if not np.all(np.isfinite(D)):
        raise AudioError("D contains NaN or infinite values; check the deconvolution that produced it")
    return X, D


def synthesise(X: np.ndarray, D: np.ndarray, config: AudioConfig) -> np.ndarray:
    """The raw auralisations ``istft(X * D)``: linear in ``D``, no gain applied.

    Parameters
    ----------
    X : numpy.ndarray
        The clip's complex STFT ``(n_bins, n_frames)`` (:func:`auralisation.audio.stft`).
    D : numpy.ndarray
        Deconvolved spectrograms ``(n, n_bins, n_frames)`` or one ``(n_bins, n_frames)``, signed.
    config : AudioConfig
        The STFT parameters ``X`` was made with.

    Returns
    -------
    numpy.ndarray
        float32 ``(n, config.n_samples)``.
    """
    X, D = _checked(X, D, config)
    return istft(X[None] * D, config)


def loudness_gains(
    waves: np.ndarray, loudness: Loudness, *, normalize: bool = False
) -> np.ndarray:
    """Gains ``(n,)`` that apply a loudness policy to the waveforms ``(n, samples)``.

    ``"comparable"``: one gain for all, ``min(1, 0.99 / peak)`` over their largest peak (with ``normalize``,
    ``0.99 / peak``: the loudest is brought to 0.99 even when that raises the level). ``"peak"``: ``0.99 / peak``
    of each one. Silent waveforms stay silent.

    Raises
    ------
    ParameterError
        An unknown ``loudness``.
    """
    if loudness not in LOUDNESS:
        raise ParameterError(f"unknown loudness {loudness!r}; choose 'comparable' or 'peak'")
    peaks = np.max(np.abs(waves), axis=1) if waves.size else np.zeros(len(waves))
    if loudness == "peak":
        return np.where(peaks > 0, PEAK / np.where(peaks > 0, peaks, 1.0), 0.0)
    top = float(peaks.max()) if len(peaks) else 0.0
    gain = PEAK / top if top > 0 and (normalize or top > PEAK) else 1.0
    return np.full(len(waves), gain)


def auralise(
    X: np.ndarray,
    D: np.ndarray,
    config: AudioConfig,
    *,
    loudness: Loudness = "comparable",
    normalize: bool = False,
) -> np.ndarray:
    """The auralisations of deconvolved spectrograms: ``istft(X * D)`` under a loudness policy.

    Parameters
    ----------
    X : numpy.ndarray
        The clip's complex STFT ``(n_bins, n_frames)``.
    D : numpy.ndarray
        Deconvolved spectrograms ``(n, n_bins, n_frames)`` or ``(n_bins, n_frames)``.
    config : AudioConfig
        The STFT parameters.
    loudness : {"comparable", "peak"}
        The synthesised level itself (one gain for the whole set, below 1 only to keep the loudest from clipping),
        or each one at a peak of 0.99 (the authors' choice). All-zero maps give silence either way.
    normalize : bool
        With ``"comparable"``, bring the loudest of the set to a peak of 0.99 even when that raises the level (the
        others keep their loudness relative to it): for listening to one layer, whose level can be far below the
        clip's.

    Returns
    -------
    numpy.ndarray
        float32 ``(n, config.n_samples)``, peaks at most 0.99.
    """
    waves = synthesise(X, D, config)
    return (waves * loudness_gains(waves, loudness, normalize=normalize)[:, None]).astype(np.float32)


def _layer_maps(layer: str, maps: LayerMaps, config: AudioConfig) -> tuple[list[int], np.ndarray]:
    """Feature indices and maps ``(n, bins, frames)`` of one layer's entry in ``maps_by_layer``."""
    if isinstance(maps, tuple):
        features, D = list(maps[0]), np.asarray(maps[1], dtype=np.float32)
    else:
        D = np.asarray(maps, dtype=np.float32)
        features = list(range(len(D)))
    if D.ndim != 3 or len(D) != len(features):
        raise AudioError(
            f"layer {layer!r}: expected maps of shape (n, {config.n_bins}, {config.n_frames}) and one feature index "
            f"per map; got shape {D.shape} and {len(features)} indices"
        )
    return [int(k) for k in features], D


def _safe_name(name: str, what: str) -> str:
    """``name`` if it can be a single folder name, else :class:`AudioError`."""
    if not name or name in (".", "..") or re.search(r"[/\\\x00]", name):
        raise AudioError(f"{what} {name!r} cannot be used as a folder name; give a name without slashes")
    return name


def export_layout(
    out: str | os.PathLike[str], clip_name: str, maps_by_layer: Mapping[str, LayerMaps], config: AudioConfig
) -> tuple[Path, dict[Path, tuple[list[int], np.ndarray]]]:
    """Where :func:`export` writes the files of one clip: its folder, and each layer's folder with its features
    and maps. Feature ``k`` of a layer is ``<layer folder>/feature_<k:03d>`` (``.wav``, and ``.png`` for its
    picture).

    Raises
    ------
    AudioError
        A clip or layer name that cannot be a folder name, or maps of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from auralisation.audio import AudioConfig
    >>> config = AudioConfig()
    >>> folder, layers = export_layout("out", "song", {"backbone/pool1": ([3], np.zeros((1, 257, 173)))}, config)
    >>> folder.as_posix(), [(path.as_posix(), features) for path, (features, _) in layers.items()]
    ('out/song', [('out/song/backbone.pool1', [3])])
    """
    folder = Path(out) / _safe_name(clip_name, "clip name")
    # a layer inside a nested model ("backbone/pool1") gets the folder "backbone.pool1"
    layers = {
        folder / _safe_name(layer.replace("/", "."), "layer name"): _layer_maps(layer, maps, config)
        for layer, maps in maps_by_layer.items()
    }
    return folder, layers


def export(
    out: str | os.PathLike[str],
    clip_name: str,
    X: np.ndarray,
    maps_by_layer: Mapping[str, LayerMaps],
    config: AudioConfig,
    *,
    loudness: Loudness = "comparable",
    progress: bool = True,
) -> list[Path]:
    """Write the auralisations of the deconvolved spectrograms of one clip.

    Layout (:func:`export_layout`): ``<out>/<clip_name>/<layer>/feature_017.wav``, plus the clip itself as
    ``<out>/<clip_name>/original.wav``. Feature numbers count from 0. Every file is written atomically.

    Loudness: with ``"comparable"`` the features of one layer share one gain that brings the loudest of them to a
    peak of 0.99, so they can be compared by ear; each layer gets its own gain, because the level of ``istft(X * D)``
    falls by about 10 dB per layer (``D`` carries the product of that many layers' weights), and one gain for all
    layers would leave the deep ones inaudible. With ``"peak"`` every file is normalised on its own.

    Parameters
    ----------
    out : path-like
        The export folder.
    clip_name : str
        A folder name for the clip (for instance the audio file's stem).
    X : numpy.ndarray
        The clip's complex STFT ``(n_bins, n_frames)``.
    maps_by_layer : mapping
        Layer name -> deconvolved spectrograms ``(n, n_bins, n_frames)`` of features ``0..n-1``, or
        ``(feature indices, maps)``.
    config : AudioConfig
        The STFT parameters.
    loudness : {"comparable", "peak"}
        See above.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder, layers = export_layout(out, clip_name, maps_by_layer, config)
    X = _checked_stft(X, config)
    written = [write_wav(folder / "original.wav", istft(X, config), config.sr, normalize="peak")]
    total = sum(len(features) for features, _ in layers.values())
    with tqdm(total=total, desc=f"exporting {clip_name}", unit="feature", disable=not progress) as bar:
        for layer_folder, (features, D) in layers.items():
            waves = auralise(X, D, config, loudness=loudness, normalize=True)
            for feature, y in zip(features, waves):
                stem = layer_folder / f"feature_{feature:03d}"
                written.append(write_wav(stem.with_suffix(".wav"), y, config.sr, normalize="none"))
                bar.update()
    return written
