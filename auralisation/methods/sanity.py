"""The model-randomisation sanity check of Adebayo et al. (2018), cascading from the top.

An explanation of a trained network should depend on what the network learned. The check re-initialises the
layers of a *copy* of the model one by one from the top (``output``, ``dense2``, ``dense1``, ``conv5``, ...,
``conv1``; cumulatively, each with its own Keras initialiser and a seed) and, after each, compares every method's
map with the map of the trained model:

* Spearman rank correlation of the signed maps and of their magnitudes (:func:`scipy.stats.spearmanr`);
* SSIM (Wang et al., 2004; 7 x 7 uniform window) of the magnitudes, each scaled to [0, 1] by its maximum.

A method whose maps stay similar after the weights are destroyed shows the input (or the architecture), not the
learned function: it fails the check. Adebayo et al. found guided backpropagation nearly invariant to
randomisation; deconvnet shares its backward ReLU rule, so the same is expected here.

For a feature of a layer, only the layers at or below it are randomised: the others do not compute it. The user's
model is never touched (:func:`clone`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
from scipy import ndimage, stats

from ..deconv import Network
from ..errors import ModelError
from .attribute import METHODS, Attributor, check_method

__all__ = ["SIMILARITIES", "Sanity", "cascading_randomisation", "randomise", "summarise_sanity"]

#: The similarity measures, by name.
SIMILARITIES: tuple[str, ...] = ("spearman", "spearman_abs", "ssim")

#: Rank correlation of magnitudes above which a map "barely changed" (in :func:`summarise_sanity`).
BARELY_CHANGED = 0.5


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (0 when either is constant)."""
    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(stats.spearmanr(a, b).statistic)


def ssim(a: np.ndarray, b: np.ndarray, *, window: int = 7, data_range: float = 1.0) -> float:
    """Mean structural similarity of two images (Wang et al., 2004) with a uniform ``window``.

    Uses ``C1 = (0.01 L)^2`` and ``C2 = (0.03 L)^2`` with ``L = data_range`` and sample (co)variances, as
    scikit-image does by default.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> round(ssim(x, x), 6)
    1.0
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    n = window * window
    unbias = n / (n - 1)

    def mean(x: np.ndarray) -> np.ndarray:
        return ndimage.uniform_filter(x, size=window, mode="reflect")

    mu_a, mu_b = mean(a), mean(b)
    var_a = unbias * (mean(a * a) - mu_a**2)
    var_b = unbias * (mean(b * b) - mu_b**2)
    cov = unbias * (mean(a * b) - mu_a * mu_b)
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    pad = (window - 1) // 2
    return float(index[pad:-pad, pad:-pad].mean()) if min(index.shape) > 2 * pad else float(index.mean())


def _unit(m: np.ndarray) -> np.ndarray:
    """``|m|`` scaled to [0, 1] by its maximum (zeros stay zeros)."""
    magnitude = np.abs(np.asarray(m, dtype=np.float64))
    top = magnitude.max()
    return magnitude / top if top > 0 else magnitude


def similarities(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """The :data:`SIMILARITIES` of a map before and after randomisation."""
    return {
        "spearman": spearman(before, after),
        "spearman_abs": spearman(np.abs(before), np.abs(after)),
        "ssim": ssim(_unit(before), _unit(after)),
    }


def clone(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with its own variables holding the same weights.

    Raises
    ------
    ModelError
        Keras cannot copy the model (a subclassed model without ``get_config``, say).
    """
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except Exception as error:  # Keras raises many types for a model it cannot rebuild.
        raise ModelError(
            f"the randomisation check works on a copy of model {model.name!r}, and Keras cannot copy it ({error}); "
            "build it with the functional API or give its layers get_config"
        ) from error
    return copy


def randomisable_layers(model: keras.Model, below: str | None = None) -> list[str]:
    """Paths of the layers of ``model`` that hold weights (nested models' layers too), top first.

    Only ``below`` and the layers before it in the graph when given.
    """
    network = Network(model)
    paths = network.paths
    if below is not None:
        paths = paths[: paths.index(network.resolve(below)) + 1]
    leaves = set(network.leaves())
    return [path for path in reversed(paths) if path in leaves and network.layers[path].weights]


def _initializer(layer: keras.layers.Layer, variable: keras.Variable, seed: int) -> keras.initializers.Initializer:
    """A fresh, seeded copy of the initialiser ``layer`` used for ``variable``."""
    initializer = getattr(layer, f"{variable.name}_initializer", None)
    if initializer is None:
        raise ModelError(
            f"layer {layer.name!r}: no initialiser for its weight {variable.name!r}; cannot re-initialise it"
        )
    config = initializer.get_config()
    if "seed" in config:
        config["seed"] = seed
    return type(initializer).from_config(config)


def randomise(layer: keras.layers.Layer, seed: int) -> None:
    """Re-initialise every weight of ``layer`` in place with its own initialiser, seeded."""
    for offset, variable in enumerate(layer.weights):
        initializer = _initializer(layer, variable, seed * 100 + offset)
        variable.assign(initializer(variable.shape, dtype=variable.dtype))


@dataclasses.dataclass(frozen=True)
class Sanity:
    """Cascading randomisation results for one clip and target.

    Attributes
    ----------
    target : str
        What the maps explain.
    methods : tuple of str
        The methods compared.
    stages : tuple of str
        The layer re-initialised at each stage (cumulatively: stage ``i`` has ``stages[:i + 1]`` randomised).
    scores : dict of str to numpy.ndarray
        Similarity name (:data:`SIMILARITIES`) -> ``(n_stages, n_methods)``, each map against the trained one.
    maps : dict of str to numpy.ndarray
        Method -> ``(n_stages + 1, bins, frames)``: the trained model's map, then one per stage.
    """

    target: str
    methods: tuple[str, ...]
    stages: tuple[str, ...]
    scores: dict[str, np.ndarray]
    maps: dict[str, np.ndarray]

    def similarity(self, method: str, measure: str = "spearman_abs") -> np.ndarray:
        """``(n_stages,)`` the ``measure`` of ``method``'s map against the trained one, stage by stage."""
        return self.scores[measure][:, self.methods.index(method)]

    def retained(self, method: str, measure: str = "spearman_abs") -> float:
        """The mean of :meth:`similarity` over the stages: how much of the trained map survives the cascade."""
        return float(self.similarity(method, measure).mean())


def cascading_randomisation(
    model: keras.Model,
    spectrogram: np.ndarray,
    methods: Sequence[str] = METHODS,
    *,
    layer: int | str | None = None,
    feature: int | None = None,
    class_index: int | None = None,
    stages: int | None = None,
    seed: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Sanity:
    """Re-initialise a copy of ``model`` layer by layer from the top and compare each method's maps.

    Parameters
    ----------
    model : keras.Model
        The trained network; never modified (a :func:`clone` is randomised).
    spectrogram : numpy.ndarray
        Linear magnitude ``(bins, frames)``.
    methods : sequence of str
        Methods of :data:`~.attribute.METHODS` to check.
    layer, feature, class_index
        The target, as in :func:`~.attribute.attribute`.
    stages : int, optional
        Randomise only the top ``stages`` layers (all weighted layers on the target's path by default).
    seed : int
        Seeds the re-initialisation (layer ``i`` from the top gets ``seed + i``).
    options : mapping, optional
        Method -> its options for :meth:`Attributor.attribute` (e.g. ``{"occlusion": {"patch": (32, 16)}}``).

    Returns
    -------
    Sanity
    """
    methods = tuple(check_method(method) for method in methods)
    options = dict(options or {})
    copy = clone(model)
    attributor = Attributor(copy)
    target = attributor.target(layer=layer, feature=feature, class_index=class_index)
    names = randomisable_layers(copy, target.layer)
    names = names[:stages] if stages is not None else names
    if not names:
        raise ModelError(f"model {model.name!r} has no weights to randomise below {target}")

    def attribute_all() -> dict[str, np.ndarray]:
        return {m: attributor.attribute(spectrogram, m, target, **options.get(m, {})) for m in methods}

    history = [attribute_all()]
    layers = Network(copy).layers
    for stage, name in enumerate(names):
        randomise(layers[name], seed + stage)
        history.append(attribute_all())
    scores = {
        measure: np.array(
            [[similarities(history[0][m], after[m])[measure] for m in methods] for after in history[1:]]
        )
        for measure in SIMILARITIES
    }
    return Sanity(
        target=str(target),
        methods=methods,
        stages=tuple(names),
        scores=scores,
        maps={m: np.stack([step[m] for step in history]) for m in methods},
    )


def summarise_sanity(result: Sanity, *, threshold: float = BARELY_CHANGED) -> str:
    """Plain sentences on which methods depend on the learned weights, from the rank correlations of magnitudes.

    A method "barely changes" when its maps' rank correlation with the trained model's, averaged over the stages
    (:meth:`Sanity.retained`), is at or above ``threshold``: the last stage alone would be too lenient, since with
    every layer random any map changes; the question is whether randomising the *top* layers changes it.
    """
    lines = [
        f"Cascading randomisation for {result.target}: layers re-initialised from {result.stages[0]} down to "
        f"{result.stages[-1]} ({len(result.stages)} stages); Spearman correlation of |map| with the trained model's "
        "(1 = unchanged, 0 = unrelated), averaged over the stages."
    ]
    for method in result.methods:
        rho = result.similarity(method)
        mean, ssim_mean = result.retained(method), result.retained(method, "ssim")
        numbers = f"mean {mean:.2f}, last stage {rho[-1]:.2f}; SSIM mean {ssim_mean:.2f}"
        if mean >= threshold:
            verdict = (
                f"barely changes ({numbers}): its maps show the input and the architecture more than what the network "
                "learned; it fails the sanity check"
            )
        else:
            below = np.flatnonzero(rho < threshold)
            when = f"; below {threshold} from {result.stages[below[0]]} on" if below.size else ""
            verdict = f"changes ({numbers}{when}): it depends on the learned weights; it passes"
        lines.append(f"- {method}: {verdict}.")
    return "\n".join(lines)
