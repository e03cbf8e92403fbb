"""Comparisons of attribution methods (:mod:`auralisation.methods`) and of a filterbank's routes back to the STFT.

Every function returns the :class:`~matplotlib.figure.Figure` (several panels), built without pyplot.

Examples
--------
>>> import numpy as np
>>> from auralisation.methods import Curve, Faithfulness
>>> curve = Curve(np.linspace(0, 1, 3), np.array([0.9, 0.5, 0.1]))
>>> result = Faithfulness("class 0", "probability", "value", "zeros", {"gradient": curve, "random": curve},
...                       {"gradient": curve, "random": curve})
>>> [ax.get_title() for ax in deletion_insertion(result).axes]
['Deletion (lower area is better)', 'Insertion (higher area is better)']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..audio import AudioConfig
from ..frontends import to_linear
from ..methods.benchmark import SPARSITIES, Benchmark, sparsity_curves
from ..methods.faithfulness import RANDOM, Faithfulness
from ..methods.sanity import Sanity
from .spectrograms import signed_map
from .style import SIGNED_CMAP, TOP_DB, signed_colorbar, signed_level

__all__ = ["compare_routes", "deletion_insertion", "equal_sparsity", "randomisation"]


def deletion_insertion(result: Faithfulness | Sequence[Faithfulness]) -> Figure:
    """Deletion and insertion curves of each method (the random baseline dashed), areas in the legend.

    Several results (e.g. a feature and a class) give one row each.
    """
    results = [result] if isinstance(result, Faithfulness) else list(result)
    fig = Figure(figsize=(10, 3.4 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), 2, squeeze=False)
    for row, res in zip(axes, results):
        for ax, (mode, curves) in zip(row, (("deletion", res.deletion), ("insertion", res.insertion))):
            for name, curve in curves.items():
                style = {"color": "0.4", "linestyle": "--"} if name == RANDOM else {}
                ax.plot(curve.fractions, curve.scores, label=f"{name} ({curve.auc:.3g})", **style)
            better = "lower" if mode == "deletion" else "higher"
            title = f"{mode.capitalize()} ({better} area is better)"
            ax.set_title(title if len(results) == 1 else f"{title}\n{res.target}", fontsize=10)
            ax.set_xlabel(f"fraction of bins {'removed' if mode == 'deletion' else 'put back'}")
            ax.set_ylabel(res.score)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    return fig


def equal_sparsity(result: Benchmark, condition: str = "clean", scores: Sequence[str] = ("FF", "Fid-In")) -> Figure:
    """Each method's score when its map keeps its top ``q`` % of bins, against ``q`` (one panel per score), with 95 %
    intervals over clips; random bins dashed. Methods compared at the same density."""
    fig = Figure(figsize=(5 * len(scores), 3.6), layout="constrained")
    for ax, score in zip(fig.subplots(1, len(scores), squeeze=False)[0], scores):
        for method, intervals in sparsity_curves(result, condition, score, n_boot=200).items():
            means = [i.mean for i in intervals]
            style = {"color": "0.4", "linestyle": "--"} if method == "random" else {"marker": "o"}
            ax.plot(SPARSITIES, means, label=method, **style)
            ax.fill_between(SPARSITIES, [i.low for i in intervals], [i.high for i in intervals], alpha=0.15,
                            color=ax.get_lines()[-1].get_color())
        ax.set_xscale("log")
        ax.set_xticks(SPARSITIES, [f"{q} %" for q in SPARSITIES])
        ax.set_xlabel("bins kept (top q % of each map)")
        ax.set_ylabel(score)
        ax.set_title(f"{score} at equal sparsity ({condition}, {len(result.clips)} clips)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def randomisation(result: Sanity, measures: Sequence[str] = ("spearman_abs", "ssim")) -> Figure:
    """Similarity of each method's map to the trained model's as layers are randomised from the top, one panel per
    measure."""
    labels = {"spearman": "Spearman (signed)", "spearman_abs": "Spearman of |map|", "ssim": "SSIM of |map|"}
    fig = Figure(figsize=(5 * len(measures), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(measures)))
    x = np.arange(len(result.stages))
    for ax, measure in zip(axes, measures):
        for method in result.methods:
            ax.plot(x, result.similarity(method, measure), marker="o", label=method)
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.set_xticks(x, result.stages, rotation=45, ha="right")
        ax.set_xlabel("randomised from the top down to")
        ax.set_ylabel(labels.get(measure, measure))
        ax.set_ylim(min(-0.3, float(result.scores[measure].min()) - 0.05), 1.05)
        ax.set_title(f"Cascading randomisation: {labels.get(measure, measure)}", fontsize=10)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=8)
    return fig


def compare_routes(
    bands: np.ndarray,
    matrix: np.ndarray,
    config: AudioConfig,
    *,
    title: str | None = None,
    top_db: float = TOP_DB,
) -> Figure:
    """A map on filterbank bands and the two routes back to the linear STFT: transpose and pseudo-inverse.

    Top left, the map on the bands (signed level, band index upwards); top right, each route's map averaged over
    time against frequency, each scaled to its own peak (where the transpose darkens the wide high bands, where the
    pseudo-inverse rings); bottom, the two maps on the STFT bins (signed levels, as
    :func:`~auralisation.plotting.grids.compare_maps`).

    Parameters
    ----------
    bands : numpy.ndarray
        ``(n_bands, n_frames)``: one deconvolved map on the filterbank's bands (taken at the filterbank's output).
    matrix : numpy.ndarray
        The filterbank ``(n_bands, n_bins)`` (:func:`auralisation.frontends.filterbank_of`).
    config : AudioConfig
        Axes.
    title : str, optional
    top_db : float
        Dynamic range of the signed levels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from auralisation.audio import FrontEnd
    >>> from auralisation.frontends import mel_filterbank
    >>> config = AudioConfig(frontend=FrontEnd(filterbank="mel", n_mels=96))
    >>> m = np.random.default_rng(0).standard_normal((96, 173))
    >>> len(compare_routes(m, mel_filterbank(config), config).axes)  # four panels and a colour bar
    5
    """
    bands = np.asarray(bands, dtype=np.float32)
    routes = {route: to_linear(bands, matrix, route) for route in ("transpose", "pinv")}
    fig = Figure(figsize=(10.0, 5.6), dpi=80, layout="constrained")
    axes = fig.subplots(2, 2)
    band_ax, profile_ax = axes[0]
    band_ax.imshow(signed_level(bands, top_db), origin="lower", aspect="auto", cmap=SIGNED_CMAP, vmin=-1, vmax=1,
                   interpolation="nearest")
    band_ax.set(title=f"the map on {bands.shape[0]} bands", xlabel="frame", ylabel="band")
    frequencies = np.fft.rfftfreq(config.n_fft, 1.0 / config.sr)
    for route, D in routes.items():
        profile = D.mean(axis=-1)
        peak = float(np.abs(profile).max()) or 1.0
        profile_ax.plot(frequencies, profile / peak, label=route, linewidth=1.0)
    profile_ax.axhline(0.0, color="0.6", linewidth=0.6)
    profile_ax.set(title="averaged over time, each to its own peak", xlabel="Hz", ylabel="relative value")
    profile_ax.legend(fontsize=8)
    for ax, (route, D) in zip(axes[1], routes.items()):
        signed_map(D, config, ax=ax, top_db=top_db, title=f"{route}: on the {config.n_bins} STFT bins")
    for ax in axes.ravel():
        ax.tick_params(labelsize=7)
    signed_colorbar(axes[1, 1].collections[-1], axes[1], top_db=top_db)
    if title:
        fig.suptitle(title)
    return fig
