"""Attribution methods beside deconvolution, and quantitative checks of them.

The first review of the paper asked for "a comparison to any other technique". This package puts the paper's
deconvolution beside gradient saliency, guided backpropagation, Grad-CAM and occlusion, all as ``(bins, frames)``
maps of a class output or of a feature of a layer that :func:`auralisation.auralise.auralise` turns into sound,
and checks them:

* :func:`attribute` / :class:`Attributor` (:mod:`.attribute`): one dispatcher over :data:`METHODS`;
* :func:`faithfulness` (:mod:`.faithfulness`): deletion and insertion curves and their areas, against a random
  ranking;
* :func:`cascading_randomisation` (:mod:`.sanity`): Adebayo et al.'s model-randomisation sanity check;
* :func:`summarise_faithfulness`, :func:`summarise_sanity` and :func:`conclude` (:mod:`.conclusion`): the
  conclusions in words, from the numbers.

Figures are in :mod:`auralisation.plots_methods`.

Examples
--------
>>> METHODS
('deconvnet', 'guided', 'gradient', 'gradcam', 'occlusion')
"""

from __future__ import annotations

from .attribute import METHODS, Attributor, Method, attribute, attributor_for, check_method
from .conclusion import conclude, faithful_targets, passes_sanity
from .faithfulness import RANDOM, RANKINGS, STARTS, Curve, Faithfulness, faithfulness, rank_bins, summarise_faithfulness
from .gradcam import gradcam, upsample
from .occlusion import FILLS, occlusion
from .sanity import SIMILARITIES, Sanity, cascading_randomisation, clone, randomise, spearman, ssim, summarise_sanity
from .target import Scorer, Target

__all__ = [
    "FILLS",
    "METHODS",
    "RANDOM",
    "RANKINGS",
    "SIMILARITIES",
    "STARTS",
    "Attributor",
    "Curve",
    "Faithfulness",
    "Method",
    "Sanity",
    "Scorer",
    "Target",
    "attribute",
    "attributor_for",
    "cascading_randomisation",
    "check_method",
    "clone",
    "conclude",
    "faithful_targets",
    "faithfulness",
    "gradcam",
    "occlusion",
    "passes_sanity",
    "randomise",
    "rank_bins",
    "spearman",
    "ssim",
    "summarise_faithfulness",
    "summarise_sanity",
    "upsample",
]
