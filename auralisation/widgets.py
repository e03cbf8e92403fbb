"""Deprecated: use :mod:`auralisation.ui.explorer`, :mod:`auralisation.ui.view`, :mod:`auralisation.clip` and
:mod:`auralisation.features`."""

from ._moved import warn_moved
from .clip import Clip
from .features import (
    FeatureCache, LayerFeatures, feature_activations, layer_features, single_feature, strongest_first,
)
from .ui.explorer import Explorer
from .ui.view import View, audio_html, auralised, image_html, render, residual_mask

warn_moved(__name__, "auralisation.ui.explorer (and ui.view, clip, features)")

__all__ = [
    "Clip", "Explorer", "FeatureCache", "LayerFeatures", "View", "audio_html", "auralised", "feature_activations",
    "image_html", "layer_features", "render", "residual_mask", "single_feature", "strongest_first",
]
