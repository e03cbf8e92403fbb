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
  conclusions in words, from the numbers;
* the listenable-maps protocol of L-MAC (:mod:`.listenable`): :func:`map_to_mask` and :func:`mask_scores` (AI, AD,
  AG, FF, Fid-In, SPS, COMP);
* L-MAC itself (:mod:`.lmac`): :func:`train_lmac`, :func:`save_lmac`, :func:`load_lmac` and :class:`LMAC`, a
  decoder that reads the classifier and outputs a listenable mask;
* :func:`listenable_benchmark` and :func:`format_benchmark` (:mod:`.benchmark`): every method and L-MAC on that
  protocol, in distribution and on mixtures with another class's clip or with white noise.

Figures are in :mod:`auralisation.plotting`.

Examples
--------
>>> METHODS
('deconvnet', 'guided', 'gradient', 'gradcam', 'occlusion')
"""

from __future__ import annotations

from .attribute import METHODS, Attributor, attribute, attributor_for, check_method
from .benchmark import (
    BASELINES,
    CONDITIONS,
    LISTENABLE_METHODS,
    SPARSITIES,
    Benchmark,
    condition_waveform,
    format_benchmark,
    format_sparsity,
    listenable_benchmark,
    mix,
    sparsity_curves,
    spread,
    summarise_benchmark,
    top_fraction_mask,
    trivial_wins,
)
from .conclusion import conclude
from .faithfulness import RANDOM, Curve, Faithfulness, faithfulness, rank_bins, summarise_faithfulness
from .gradcam import gradcam
from .listenable import MASKINGS, SCORES, apply_mask, complexity, map_to_mask, mask_scores, sparseness
from .lmac import LMAC, LMACSettings, build_decoder, load_lmac, load_or_train_lmac, save_lmac, train_lmac
from .occlusion import occlusion
from .sanity import Sanity, cascading_randomisation, clone, randomise, ssim, summarise_sanity
from .target import Scorer, Target

__all__ = [
    "BASELINES",
    "CONDITIONS",
    "LISTENABLE_METHODS",
    "LMAC",
    "LMACSettings",
    "MASKINGS",
    "METHODS",
    "RANDOM",
    "SCORES",
    "SPARSITIES",
    "Attributor",
    "Benchmark",
    "Curve",
    "Faithfulness",
    "Sanity",
    "Scorer",
    "Target",
    "apply_mask",
    "attribute",
    "attributor_for",
    "build_decoder",
    "cascading_randomisation",
    "check_method",
    "clone",
    "complexity",
    "conclude",
    "condition_waveform",
    "faithfulness",
    "format_benchmark",
    "format_sparsity",
    "gradcam",
    "listenable_benchmark",
    "load_lmac",
    "load_or_train_lmac",
    "map_to_mask",
    "mask_scores",
    "mix",
    "occlusion",
    "randomise",
    "rank_bins",
    "save_lmac",
    "sparseness",
    "sparsity_curves",
    "spread",
    "ssim",
    "summarise_faithfulness",
    "summarise_benchmark",
    "summarise_sanity",
    "top_fraction_mask",
    "train_lmac",
    "trivial_wins",
]
