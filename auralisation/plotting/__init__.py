"""Figures, organised by what they draw; every figure is built without pyplot and nothing is shown.

Like :func:`librosa.display.specshow`, a one-panel function draws into the ``ax`` it is given (a new figure's when
none is) and returns that :class:`~matplotlib.axes.Axes` (its figure is ``ax.figure``); a function of several
panels returns its :class:`~matplotlib.figure.Figure`.

=================================  ========================================================================
:mod:`~.style`                     colour maps, the signed-level scale, colour bars, :func:`save_figure`
:mod:`~.spectrograms`              :func:`spectrogram`, :func:`signed_map`, :func:`thumbnail_png`,
                                   :class:`FeaturePanels` (the explorer's figure), :func:`export_pictures`
:mod:`~.grids`                     :func:`map_grid`, the one grid of maps, and its layouts
                                   (:func:`feature_grid`, :func:`compare_maps`, :func:`method_grid`,
                                   :func:`randomisation_maps`), :func:`spectrogram_grid`
:mod:`~.training`                  :func:`training_curves`, :func:`confusion_matrix`
:mod:`~.analysis`                  the correlation analysis' curves and heat maps
:mod:`~.comparisons`               attribution methods' curves, a filterbank's routes back to the STFT
=================================  ========================================================================

The names are imported on first use (``lazy_loader``, as in librosa), so ``import auralisation.plotting`` stays
light.

Examples
--------
>>> import numpy as np
>>> from auralisation import plotting
>>> from auralisation.audio import AudioConfig
>>> ax = plotting.spectrogram(np.ones((257, 173)), AudioConfig(), title="flat")
>>> ax.get_title(), type(ax.figure).__name__
('flat', 'Figure')
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "style": ["TOP_DB", "PERCENTILE", "save_figure", "signed_colorbar", "signed_level"],
        "spectrograms": ["FeaturePanels", "export_pictures", "feature_panels", "signed_map", "spectrogram",
                         "thumbnail_png"],
        "grids": ["compare_maps", "feature_grid", "map_grid", "method_grid", "randomisation_maps", "spectrogram_grid"],
        "training": ["confusion_matrix", "training_curves"],
        "analysis": ["correlation_by_layer", "invariance_grid", "invariance_heatmap", "line_share_by_layer",
                     "onset_sensitivity", "stem_share_bars"],
        "comparisons": ["compare_routes", "deletion_insertion", "randomisation"],
    },
)
