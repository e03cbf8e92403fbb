"""Tests of auralisation.plotting: the signed-level scale, the one-panel primitives (``ax`` in, ``ax`` out) and the
one grid of maps."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.figure import Figure

from auralisation import plotting
from auralisation.audio import AudioConfig
from auralisation.errors import ParameterError
from auralisation.plotting.style import SIGNED_CMAP, signed_level

#: 33 bins x 87 frames.
TINY = AudioConfig(duration=0.25, n_fft=64, hop_length=32)
CMAP = colormaps[SIGNED_CMAP]
FLOOR = np.array(CMAP(0.5)[:3])


def peak_window_level(a: np.ndarray, top_db: float = 60.0) -> np.ndarray:
    """The old scale, written out: sign times level in dB within ``top_db`` of the panel's largest magnitude."""
    ratio = np.maximum(np.abs(a) / np.abs(a).max(), 10 ** (-top_db / 20))
    return np.sign(a) * (1 + 20 * np.log10(ratio) / top_db)


def at_floor(level: np.ndarray) -> np.ndarray:
    """Which pixels the signed colour map paints in the floor colour (white, within 3 % per channel)."""
    rgb = CMAP((np.asarray(level) + 1) / 2)[..., :3]
    return np.abs(rgb - FLOOR).max(axis=-1) < 0.03


def test_signed_level_takes_a_high_percentile_as_reference() -> None:
    # 495 bins at 0.001, 500 at 0.01 and five loud outliers: the 99th percentile of the nonzero values is 0.01.
    a = np.concatenate([np.full(495, 1e-3), np.full(500, 1e-2), np.full(5, 1e3), [0.0], -np.full(1, 1e-2)])
    level = signed_level(a, top_db=60.0)
    np.testing.assert_allclose(level[[0, 495, 995, 1000, 1001]], [2 / 3, 1.0, 1.0, 0.0, -1.0], atol=1e-5)
    old = signed_level(a, top_db=60.0, percentile=100.0)  # the window below the peak
    np.testing.assert_allclose(old[[0, 495, 995]], [0.0, 0.0, 1.0], atol=1e-6)  # 0.01 is 100 dB below 1000


def test_quiet_band_a_feature_passes_shows_on_a_loud_mix() -> None:
    """|X| * D of a broadband mix through a feature that passes a quiet band: under the window below the panel's
    peak almost everything is white, the band too; under the percentile's window the band stands out."""
    rng = np.random.default_rng(0)
    n_bins, n_frames = 257, 173
    f = np.arange(n_bins)[:, None]
    S = np.exp(rng.normal(0.0, 1.5, (n_bins, n_frames))) / (1 + f / 4.0)  # 1/f tilt, bins spread ~13 dB
    S[:12, ::43] *= 100.0  # kick drum hits, 40 dB over the mix in the lowest bins
    band = slice(150, 190)
    S[band] = 0.01 * np.exp(rng.normal(0.0, 0.3, (40, n_frames)))  # a quiet band, 40 dB under the mix's top
    D = 0.01 * rng.choice([-1.0, 1.0], (n_bins, n_frames)) * np.exp(rng.normal(0.0, 1.0, (n_bins, n_frames)))
    D[band] = 1.0  # the feature passes the band and lets about 1 % of the rest through
    P = (S * D).astype(np.float32)

    old = peak_window_level(P)
    assert at_floor(old).mean() > 0.95 and at_floor(old[band]).mean() > 0.95
    np.testing.assert_allclose(signed_level(P, percentile=100.0), old, atol=1e-5)

    ax = plotting.signed_map(P, AudioConfig())  # what the report and the explorer draw
    mesh = ax.collections[-1]
    drawn = np.asarray(mesh.get_array()).reshape(n_bins, n_frames)
    np.testing.assert_allclose(drawn, signed_level(P), atol=1e-6)
    colours = mesh.to_rgba(drawn)[..., :3]
    white = np.abs(colours - FLOOR).max(axis=-1) < 0.03
    assert white.mean() < 0.5
    assert not white[band].any() and np.median(drawn[band]) > 0.5  # the band is red: positive and well above floor


def test_one_panel_primitives_draw_into_the_axes_given_and_return_it() -> None:
    ax = Figure().subplots()
    S = np.zeros((TINY.n_bins, TINY.n_frames), dtype=np.float32)
    S[4], S[10] = 1.0, 0.1
    assert plotting.spectrogram(S, TINY, ax=ax, colorbar=False) is ax
    np.testing.assert_allclose(ax.collections[0].get_array().reshape(S.shape)[[4, 10, 0], 0], [0, -20, -80],
                               atol=1e-4)
    m = np.zeros_like(S)
    m[3, 5], m[7, 9] = 2.0, -0.5
    linear = plotting.signed_map(m, TINY, ax=Figure().subplots(), scale="linear")
    mesh = linear.collections[-1]
    assert (mesh.norm.vmin, mesh.norm.vmax) == (-2.0, 2.0)  # symmetric about zero, to the largest magnitude
    np.testing.assert_array_equal(mesh.get_array().reshape(m.shape), m)
    ax = Figure().subplots()
    assert plotting.confusion_matrix(np.eye(2), ["a", "b"], ax=ax) is ax
    with pytest.raises(ParameterError, match="scale"):
        plotting.signed_map(m, TINY, scale="log")


def test_map_grid_lays_out_rows_and_columns_with_a_blank_for_a_missing_map() -> None:
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal((TINY.n_bins, TINY.n_frames)).astype(np.float32) for _ in range(3))
    fig = plotting.map_grid({"r1": {"x": a, "y": b}, "r2": {"y": c}}, TINY, title="grid")
    panels, colorbar = fig.axes[:4], fig.axes[4:]
    assert len(colorbar) == 1 and fig.get_suptitle() == "grid"
    assert [ax.get_title() for ax in panels] == ["x (r1)", "y (r1)", "", "y (r2)"]
    assert not panels[2].axison  # r2 has no "x"
    np.testing.assert_allclose(panels[3].collections[-1].get_array().reshape(c.shape), signed_level(c), atol=1e-6)
    labels = [t.get_text() for t in colorbar[0].get_yticklabels()]
    assert labels == ["\u2264\u2212p99", "<\u221260 dB", "\u2265+p99"]
    grid = plotting.feature_grid(a, np.stack([b, c]), [7, 2], [0.5, 0.25], TINY)
    assert grid.axes[0].get_title() == "feature 7\nactivation 0.5" and grid.axes[0].get_ylabel() == "D\nHz"
    np.testing.assert_allclose(grid.axes[3].collections[-1].get_array().reshape(a.shape), signed_level(a * c),
                               atol=1e-6)  # bottom row: |X| * D
    with pytest.raises(ParameterError):
        plotting.map_grid({}, TINY)
