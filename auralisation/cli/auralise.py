"""``auralisation auralise``: explain and auralise the features of a trained model on one clip."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from .._compat import add_seeding_argument, renamed
from ..audio import load_clip, stft
from ..auralise import LOUDNESS, OCCLUSION_PATCH, export
from ..errors import ParameterError
from .options import add_model_arguments, model_from_arguments, parse_features, parse_layers

if TYPE_CHECKING:
    import keras

    from ..frontends import LinearDeconvolver

__all__: list[str] = []


def add_auralise_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation auralise``."""
    from ..methods import METHODS

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
    from ..deconv import RULES
    from ..methods import attribute, attributor_for, check_method

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
    from ..deconv import RULES
    from ..frontends import LinearDeconvolver, model_input, require_magnitude_input

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
