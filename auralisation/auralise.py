"""Auralisation: a deconvolved spectrogram back to sound, and the ``auralisation auralise`` command.

The deconvolved spectrogram ``D`` of a feature (:mod:`auralisation.deconv`) multiplies the clip's complex STFT
``X`` element-wise, and the inverse STFT of ``X * D`` is the feature's auralisation (Choi et al. 2016): the clip's
own phase is kept, flipped by pi where ``D < 0``. :func:`synthesise` is that linear map; :func:`auralise` adds a
loudness policy:

* ``"comparable"`` (default): the level of ``istft(X * D)`` itself, so that every feature keeps its loudness
  relative to the others and to the clip (a weak feature sounds weak); one gain for the whole set, below 1 only
  where the loudest would clip;
* ``"peak"``: every feature normalised to a peak of 0.99 on its own, as the authors did, which hides how strong
  each feature is.

Neither clips. :func:`export` writes auralisations and their pictures to disk, one shared gain per layer.

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

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from tqdm.auto import tqdm

from .audio import AudioConfig, istft, load_clip, stft, write_wav
from ._compat import renamed
from .errors import AudioError, ParameterError
from .fileio import atomic_write_bytes

if TYPE_CHECKING:
    import keras

    from .frontends import LinearDeconvolver

__all__ = [
    "LOUDNESS",
    "OCCLUSION_PATCH",
    "PEAK",
    "add_auralise_arguments",
    "auralise",
    "export",
    "feature_maps",
    "loudness_gains",
    "parse_features",
    "parse_layers",
    "run_auralise",
    "synthesise",
]

Loudness = Literal["comparable", "peak"]

#: The loudness policies.
LOUDNESS: tuple[str, ...] = ("comparable", "peak")

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
    waves: np.ndarray, loudness: Loudness, *, normalize: bool = False, normalise: bool | None = None
) -> np.ndarray:
    """Gains ``(n,)`` that apply a loudness policy to the waveforms ``(n, samples)``.

    ``"comparable"``: one gain for all, ``min(1, 0.99 / peak)`` over their largest peak (with ``normalize``,
    ``0.99 / peak``: the loudest is brought to 0.99 even when that raises the level). ``"peak"``: ``0.99 / peak``
    of each one. Silent waveforms stay silent. ``normalise`` is the old, deprecated name of ``normalize``.

    Raises
    ------
    ParameterError
        An unknown ``loudness``.
    """
    normalize = renamed("normalise", "normalize", normalise, normalize, where="loudness_gains", default=False)
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
    normalise: bool | None = None,
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
    normalise : bool, optional
        The old name of ``normalize`` (deprecated).

    Returns
    -------
    numpy.ndarray
        float32 ``(n, config.n_samples)``, peaks at most 0.99.
    """
    normalize = renamed("normalise", "normalize", normalise, normalize, where="auralise", default=False)
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


def export(
    out: str | os.PathLike[str],
    clip_name: str,
    X: np.ndarray,
    maps_by_layer: Mapping[str, LayerMaps],
    config: AudioConfig,
    *,
    loudness: Loudness = "comparable",
    progress: bool = True,
    images: bool = True,
) -> list[Path]:
    """Write the auralisations and pictures of the deconvolved spectrograms of one clip.

    Layout: ``<out>/<clip_name>/<layer>/feature_017.wav`` and, with ``images``, ``feature_017.png`` beside it (the
    clip's ``|X|`` in dB, ``D``, and ``|X| * D``, see :class:`auralisation.plotting.FeaturePanels`), plus the
    clip itself as ``<out>/<clip_name>/original.wav``. Feature numbers count from 0. Every file is written
    atomically.

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
    images : bool
        Write the PNG pictures too.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(out) / _safe_name(clip_name, "clip name")
    # a layer inside a nested model ("backbone/pool1") gets the folder "backbone.pool1"
    layers = {
        _safe_name(layer.replace("/", "."), "layer name"): _layer_maps(layer, maps, config)
        for layer, maps in maps_by_layer.items()
    }
    X = _checked_stft(X, config)
    written = [write_wav(folder / "original.wav", istft(X, config), config.sr, normalize="peak")]
    panels = None
    if images:
        from .plotting.spectrograms import FeaturePanels

        panels = FeaturePanels(config)
    S = np.abs(X)
    total = sum(len(features) for features, _ in layers.values())
    with tqdm(total=total, desc=f"exporting {clip_name}", unit="feature", disable=not progress) as bar:
        for layer, (features, D) in layers.items():
            waves = auralise(X, D, config, loudness=loudness, normalize=True)
            for feature, d, y in zip(features, D, waves):
                stem = folder / layer / f"feature_{feature:03d}"
                written.append(write_wav(stem.with_suffix(".wav"), y, config.sr, normalize="none"))
                if panels is not None:
                    panels.update(S, d)
                    written.append(atomic_write_bytes(stem.with_suffix(".png"), panels.png()))
                bar.update()
    return written


def _numbers(text: str, what: str) -> list[int | str]:
    """``"1-3,5,pool2"`` -> ``[1, 2, 3, 5, "pool2"]``."""
    items: list[int | str] = []
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if match:
            first, last = int(match[1]), int(match[2])
            if first > last:
                raise ParameterError(f"{what} range {part!r} runs backwards; write it as {last}-{first}")
            items.extend(range(first, last + 1))
        elif part.isdigit():
            items.append(int(part))
        elif part:
            items.append(part)
        else:
            raise ParameterError(f"empty item in {what} list {text!r}")
    return items


def parse_layers(text: str) -> list[int | str]:
    """Layers from the command line: block numbers, ranges and layer names, e.g. ``"1-5"`` or ``"2,pool4"``."""
    return _numbers(text, "layer")


def parse_features(text: str) -> list[int] | None:
    """Features from the command line: ``"all"`` (None) or numbers and ranges from 0, e.g. ``"3,17"``, ``"0-7"``."""
    if text.strip().lower() == "all":
        return None
    features = _numbers(text, "feature")
    bad = [item for item in features if isinstance(item, str)]
    if bad:
        raise ParameterError(f"features must be 'all' or numbers from 0 (like 3,17 or 0-7); got {bad[0]!r}")
    return [int(item) for item in features]


def add_auralise_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation auralise``."""
    from ._compat import add_seeding_argument
    from .methods import METHODS
    from .train import add_model_arguments

    add_model_arguments(parser)
    parser.add_argument("--audio", required=True, help="audio file to explain")
    parser.add_argument("--offset", type=float, default=0.0, help="start of the clip in the file, seconds")
    parser.add_argument("--layers", default="1-5", help="block numbers or layer names, e.g. 1-5 or 2,pool4")
    parser.add_argument("--features", default="all", help="'all' or feature numbers from 0, e.g. 3,17 or 0-7")
    add_seeding_argument(parser)
    parser.add_argument("--method", choices=METHODS, default="deconvnet",
                        help="attribution method: deconvnet (the paper), guided, gradient (ReLU backward rules, "
                             "batched), gradcam or occlusion (one feature at a time, slower)")
    parser.add_argument("--route", choices=("transpose", "pinv"), default="transpose",
                        help="for a model with a filterbank: bring maps back to the STFT bins through its transpose "
                             "(the gradient, default) or its pseudo-inverse")
    parser.add_argument("--compression", choices=("identity", "gradient"), default="identity",
                        help="backward pass of the log/dB compression: identity (the authors) or its true gradient")
    parser.add_argument("--loudness", choices=LOUDNESS, default="comparable",
                        help="one gain per layer (comparable) or every file normalised (peak, as the authors)")
    parser.add_argument("--no-images", action="store_true", help="write the WAV files only")
    parser.add_argument("--out", required=True, help="export folder; files go to OUT/<audio stem>/<layer>/")


def feature_maps(
    model: keras.Model,
    S: np.ndarray,
    layer: int | str,
    features: Sequence[int] | None,
    method: str,
    *,
    seeding: str = "map",
    progress: bool = True,
    deconvolver: LinearDeconvolver | None = None,
    seed: str | None = None,
) -> tuple[str, list[int], np.ndarray]:
    """The ``method`` maps of the chosen features of ``layer`` for one model input ``S`` (the linear magnitude).

    The ReLU backward rules (deconvnet, guided, gradient) deconvolve all the features in batches
    (:class:`~auralisation.deconv.Deconvolver`, or ``deconvolver`` when given: a
    :class:`~auralisation.frontends.LinearDeconvolver` of the rule, which takes what the model takes and brings
    the maps back to the linear STFT); Grad-CAM and occlusion explain one feature after the other with
    :func:`~auralisation.methods.attribute` (occlusion with the patch :data:`OCCLUSION_PATCH`).

    ``seeding`` ("map" or "max", :meth:`~auralisation.deconv.Deconvolver.deconvolve`) applies to the rules only;
    ``seed`` is its old, deprecated name.

    Returns
    -------
    tuple
        The layer's name, the feature indices (all of the layer's when ``features`` is None) and float32 maps
        ``(n, bins, frames)``, in that order.

    Raises
    ------
    ModelError
        Unknown layer, a feature out of range.
    ParameterError
        Unknown method or seeding, ``seeding="max"`` with Grad-CAM or occlusion.
    """
    seeding = renamed("seed", "seeding", seed, seeding, where="feature_maps", default="map")
    from .deconv import RULES
    from .methods import attribute, attributor_for, check_method

    check_method(method)
    if deconvolver is None:
        deconvolver = attributor_for(model).deconvolver("deconvnet" if method not in RULES else method)
    name = deconvolver.layer_name(layer)
    chosen = list(range(deconvolver.n_features(name))) if features is None else list(features)
    if method in RULES:
        return name, chosen, deconvolver.deconvolve(S, name, chosen, seeding=seeding)
    if seeding != "map":
        raise ParameterError(f"seeding {seeding!r} applies to the ReLU rules ({', '.join(RULES)}); {method} takes no "
                             "seeding, leave it at 'map'")
    options = {"patch": OCCLUSION_PATCH} if method == "occlusion" else {}
    maps = [attribute(model, S, method, layer=name, feature=k, **options)
            for k in tqdm(chosen, desc=f"{method} {name}", unit="feature", disable=not progress)]
    return name, chosen, np.stack(maps).astype(np.float32)


def run_auralise(args: argparse.Namespace) -> int:
    """Explain and auralise the chosen features of one clip by ``--method``; write them with :func:`export`.

    The model's front end comes from its saved config: the rules take what the model takes and bring their maps
    back to the linear STFT (:class:`~auralisation.frontends.LinearDeconvolver`, by ``--route`` and
    ``--compression``), and the command says how.
    """
    from .deconv import RULES
    from .frontends import LinearDeconvolver, model_input, require_magnitude_input
    from .train import model_from_arguments

    trained = model_from_arguments(args)
    config = trained.config
    deconvolver = None
    if args.method in RULES:
        deconvolver = LinearDeconvolver(trained.model, config, args.method, route=args.route,
                                        compression=args.compression)
    else:
        require_magnitude_input(config, args.method)
    y = load_clip(args.audio, config, args.offset)
    X = stft(y, config)
    inputs = model_input(y, config)
    features = parse_features(args.features)
    maps: dict[str, tuple[list[int], np.ndarray]] = {}
    for layer in parse_layers(args.layers):
        name, chosen, D = feature_maps(trained.model, inputs, layer, features, args.method, seeding=args.seeding,
                                       deconvolver=deconvolver)
        maps[name] = (chosen, D)
    if deconvolver is not None:
        print(deconvolver.description)
    written = export(args.out, Path(args.audio).stem, X, maps, config, loudness=args.loudness,
                     images=not args.no_images)
    wavs = sum(1 for path in written if path.suffix == ".wav") - 1
    print(f"wrote {wavs} auralisations of {Path(args.audio).name} ({', '.join(maps)}; {args.method}) to "
          f"{Path(args.out) / Path(args.audio).stem}")
    return 0
