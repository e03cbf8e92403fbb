"""The modules that moved keep their old names for one release, and the report stays light to import."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]

#: Old module -> (new home of each name it re-exports unchanged, names that now return the Axes: wrapped).
MOVED = {
    "auralisation.widgets": ({
        "Clip": "auralisation.clip", "FeatureCache": "auralisation.features", "LayerFeatures": "auralisation.features",
        "feature_activations": "auralisation.features", "layer_features": "auralisation.features",
        "single_feature": "auralisation.features", "strongest_first": "auralisation.features",
        "Explorer": "auralisation.ui.explorer", "View": "auralisation.ui.view", "audio_html": "auralisation.ui.view",
        "auralised": "auralisation.ui.view", "image_html": "auralisation.ui.view", "render": "auralisation.ui.view",
        "residual_mask": "auralisation.ui.view",
    }, ()),
    "auralisation.report": (dict.fromkeys(["PAGE", "add_report_arguments", "build_report", "run_report"],
                                          "auralisation.ui.report"), ()),
    "auralisation.plots": ({"spectrogram_grid": "auralisation.plotting", "training_curves": "auralisation.plotting"},
                           ("spectrogram", "confusion_matrix")),
    "auralisation.plots_listen": (dict.fromkeys(["FeaturePanels", "feature_grid", "feature_panels", "signed_level",
                                                 "thumbnail_png"], "auralisation.plotting"), ()),
    "auralisation.plots_maps": (dict.fromkeys(["compare_maps", "compare_routes"], "auralisation.plotting"), ()),
    "auralisation.plots_methods": (dict.fromkeys(["deletion_insertion", "method_grid", "randomisation",
                                                  "randomisation_maps"], "auralisation.plotting"), ("attribution",)),
    "auralisation.plots_analysis": ({"invariance_grid": "auralisation.plotting"},
                                    ("correlation_by_layer", "invariance_heatmap", "line_share_by_layer",
                                     "onset_sensitivity")),
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_warns_and_re_exports_the_same_objects(old: str) -> None:
    same, wrapped = MOVED[old]
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated .* use auralisation\."):
        module = importlib.import_module(old)
    for name, home in same.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name), name
    assert set(module.__all__) >= set(same) | set(wrapped)
    plotting = importlib.import_module("auralisation.plotting")
    for name in wrapped:  # the new function returns the Axes drawn into; the old name still returns its Figure
        inner = getattr(module, name).__wrapped__
        assert inner is getattr(plotting, name) if name != "attribution" else inner.func is plotting.signed_map


def test_wrapped_old_names_return_the_figure_the_new_ones_the_axes() -> None:
    import numpy as np

    from auralisation import plotting

    sys.modules.pop("auralisation.plots", None)
    with pytest.warns(DeprecationWarning):
        plots = importlib.import_module("auralisation.plots")
    new = plotting.confusion_matrix(np.eye(2), ["a", "b"])
    old = plots.confusion_matrix(np.eye(2), ["a", "b"])
    assert isinstance(new, Axes) and isinstance(old, Figure)
    assert [t.get_text() for t in old.axes[0].texts] == [t.get_text() for t in new.texts]


def test_the_report_loads_no_widgets_and_nothing_of_ipython_that_keras_does_not() -> None:
    """``import auralisation.ui.report`` (what ``auralisation report`` runs) loads no ipywidgets; IPython is
    loaded only where Keras itself loads it (keras.saving imports it when it is installed)."""
    probe = (
        "import json, sys\n"
        "import keras\n"
        "before = set(sys.modules)\n"
        "import auralisation.ui.report\n"
        "print(json.dumps(sorted(m for m in set(sys.modules) - before\n"
        "                        if m.split('.')[0] in ('ipywidgets', 'IPython', 'ipykernel', 'traitlets'))))\n"
    )
    lone = "import sys\nimport auralisation.ui.report\nprint('ipywidgets' in sys.modules)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for code, expected in ((probe, []), (lone, False)):
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env,
                             cwd=ROOT, check=True).stdout.strip().splitlines()[-1]
        assert json.loads(out.lower()) == expected
