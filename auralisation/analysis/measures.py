"""Measures on deconvolved spectrograms: how much is line and how much texture, and how much is onset.

Two of the paper's findings are claims about what deconvolved spectrograms look like; these functions turn them
into numbers (pure numpy, on arrays ``(..., n_bins, n_frames)``, frequency first as everywhere in the package).

* :func:`line_shares` — "deep features capture textures, not shapes of lines": the share of a spectrogram's
  energy that lies in purely horizontal lines (sustained partials) or purely vertical lines (onsets), beyond what
  an isotropic texture would put there.
* :func:`onset_log_ratio` — "feature 18 of layer 1 is an attack suppressor; others are onset detectors": the
  energy a deconvolution puts on onset frames against sustained frames, as a log-ratio.

Examples
--------
>>> import numpy as np
>>> lines = np.zeros((64, 48)); lines[[10, 20, 30], 4:44] = 1.0
>>> noise = np.random.default_rng(0).standard_normal((64, 48))
>>> bool(line_share(lines) > 0.5 > line_share(noise))
True
"""

from __future__ import annotations

import functools

import librosa
import numpy as np
import scipy.fft

from ..audio import AudioConfig
from ..errors import AuralisationError

__all__ = [
    "active_frames",
    "frame_energy",
    "line_share",
    "line_shares",
    "onset_frames",
    "onset_log_ratio",
    "onset_masks",
]


@functools.lru_cache(maxsize=8)
def _ring_geometry(
    shape: tuple[int, int], band: float, n_rings: int, min_radius: float, max_radius: float
) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """Padded FFT size, window, and a ``(n_coefficients, 3 * n_rings)`` matrix summing power per ring.

    The three blocks of columns sum, per ring of radius, all power, the power on the horizontal-line axis
    (zero temporal frequency) and on the vertical-line axis (zero spectral frequency). The square where the two
    axes cross (around DC) belongs to neither line type and is left out of everything.
    """
    n_rows, n_cols = shape
    padded = (scipy.fft.next_fast_len(n_rows, real=True), scipy.fft.next_fast_len(n_cols, real=True))
    # An elliptical (radial) Hann window: a separable one would leak the low frequencies along the axes.
    rows = np.linspace(-1.0, 1.0, n_rows)[:, None]
    cols = np.linspace(-1.0, 1.0, n_cols)[None, :]
    window = (0.5 + 0.5 * np.cos(np.pi * np.minimum(np.hypot(rows, cols), 1.0))).astype(np.float32)
    f_rows = np.fft.fftfreq(padded[0])[:, None]
    f_cols = np.fft.rfftfreq(padded[1])[None, :]
    # rfft2 keeps only non-negative column frequencies: the others mirror them and count twice.
    mirrored = np.where((f_cols > 0) & (f_cols < 0.5), 2.0, 1.0)
    weight = np.broadcast_to(mirrored, (padded[0], f_cols.shape[1]))
    on_horizontal = np.abs(f_cols) <= band / n_cols  # constant along time: a horizontal line
    on_vertical = np.abs(f_rows) <= band / n_rows  # constant along frequency: a vertical line
    centre = on_horizontal & on_vertical
    radius = np.hypot(f_rows, f_cols)
    ring = np.floor((radius - min_radius) / ((max_radius - min_radius) / n_rings)).astype(int)
    ring = np.where(centre | (radius < min_radius) | (radius >= max_radius), -1, ring).ravel()
    blocks = []
    for mask in (np.ones_like(centre), on_horizontal & ~centre, on_vertical & ~centre):
        block = np.zeros((ring.size, n_rings), dtype=np.float32)
        members = (ring >= 0) & np.broadcast_to(mask, centre.shape).ravel()
        block[np.flatnonzero(members), ring[members]] = weight.ravel()[members]
        blocks.append(block)
    return padded, window, np.concatenate(blocks, axis=1)


def line_shares(
    D: np.ndarray,
    *,
    band: float = 2.0,
    n_rings: int = 12,
    min_radius: float = 1.0 / 16.0,
    max_radius: float = 1.0 / 4.0,
) -> np.ndarray:
    """Shares of a spectrogram's energy in horizontal and in vertical lines, beyond an isotropic texture's.

    The array (mean removed, under a radial Hann window) is taken to its 2-D power spectrum, and the spectrum
    between radii ``min_radius`` and ``max_radius`` (cycles per bin) is split into rings. A purely horizontal line
    (a partial held in time) puts all its power on the axis of zero temporal frequency, a purely vertical line (an
    onset across frequencies) on the axis of zero spectral frequency; an isotropic texture spreads its power evenly
    round each ring. Ring by ring, the power on an axis above the share ``a_r`` that an isotropic texture would put
    there is rescaled by ``1 / (1 - a_r)``, and the rings are summed weighted by their power.

    The band of radii is the scale of lines as one sees them: structure 4 to 16 bins across. Coarser structure
    (smooth blobs, where the axes take most of each small ring) and finer structure (the one-bin checkerboard that
    max-unpooling leaves in every deconvolution, which breaks a line into dots) would otherwise swamp it.

    Parameters
    ----------
    D : np.ndarray
        ``(..., n_bins, n_frames)`` real arrays (a deconvolved spectrogram, or its magnitude).
    band : float
        Half-width of each axis in frequency bins of the unpadded array; 2 holds the window's main lobe.
    n_rings : int
        Number of rings of radius.
    min_radius, max_radius : float
        The band of spatial frequencies measured, in cycles per bin (0.5 is the finest).

    Returns
    -------
    np.ndarray
        float64 ``(..., 2)``: ``[..., 0]`` the horizontal-line share, ``[..., 1]`` the vertical-line share.
        Each is about 0 for noise or any isotropic texture and 1 for a line spanning the whole array; their sum
        is :func:`line_share`. NaN for a constant array (nothing to measure).
    """
    D = np.asarray(D, dtype=np.float32)
    if D.ndim < 2 or min(D.shape[-2:]) < 4:
        raise AuralisationError(f"line_shares needs arrays (..., n_bins, n_frames) of at least 4 x 4, got {D.shape}")
    padded, window, rings = _ring_geometry(
        D.shape[-2:], float(band), int(n_rings), float(min_radius), float(max_radius)
    )
    weighted_mean = (D * window).sum(axis=(-2, -1), keepdims=True) / window.sum()
    spectrum = scipy.fft.rfft2((D - weighted_mean) * window, s=padded)
    power = (spectrum.real**2 + spectrum.imag**2).reshape(*D.shape[:-2], -1)
    per_ring = (power @ rings).astype(np.float64).reshape(*D.shape[:-2], 3, n_rings)
    total, horizontal, vertical = per_ring[..., 0, :], per_ring[..., 1, :], per_ring[..., 2, :]
    area = rings.sum(axis=0).astype(np.float64).reshape(3, n_rings)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_h, share_v = area[1] / area[0], area[2] / area[0]
        usable = (area[0] > 0) & (share_h + share_v < 1.0 - 1e-9)
        gain = np.where(usable, 1.0 / (1.0 - share_h - share_v), 0.0)
        share_h, share_v = np.nan_to_num(share_h), np.nan_to_num(share_v)
        energy = (total * usable).sum(axis=-1)
        excess_h = ((horizontal - share_h * total) * gain).sum(axis=-1)
        excess_v = ((vertical - share_v * total) * gain).sum(axis=-1)
        shares = np.stack([excess_h, excess_v], axis=-1) / energy[..., None]
    return np.where(energy[..., None] > 0, shares, np.nan)


def line_share(
    D: np.ndarray,
    *,
    band: float = 2.0,
    n_rings: int = 12,
    min_radius: float = 1.0 / 16.0,
    max_radius: float = 1.0 / 4.0,
) -> np.ndarray:
    """Share of energy in horizontal or vertical lines beyond an isotropic texture's (see :func:`line_shares`).

    Returns
    -------
    np.ndarray
        float64 ``D.shape[:-2]``: about 0 for a texture, up to 1 for lines.
    """
    return line_shares(D, band=band, n_rings=n_rings, min_radius=min_radius, max_radius=max_radius).sum(axis=-1)


#: Onset log-ratio (natural log, relative to the input's own) beyond which a feature counts as an onset detector
#: (above ``+ONSET_THRESHOLD``) or an attack suppressor (below ``-ONSET_THRESHOLD``): about 10 % more or less energy
#: on onsets against sustains than the input has. The one threshold of the package: the study's criteria, notebook
#: 02's prose (:mod:`~auralisation.analysis.hearing`) and the tables use it. Random filters pass it too, which is why
#: the study judges the onset criteria against the untrained control.
ONSET_THRESHOLD = 0.1


def onset_frames(y: np.ndarray, config: AudioConfig) -> np.ndarray:
    """Frames (of the config's STFT) at which librosa's onset detector finds an onset in the clip ``y``."""
    frames = librosa.onset.onset_detect(
        y=np.asarray(y, dtype=np.float32), sr=config.sr, hop_length=config.hop_length, units="frames"
    )
    return np.asarray(frames, dtype=np.int64)[np.asarray(frames) < config.n_frames]


def frame_energy(S: np.ndarray) -> np.ndarray:
    """Energy per frame, ``sum over frequency of S**2``, of ``(..., n_bins, n_frames)`` arrays."""
    S = np.asarray(S, dtype=np.float32)
    return np.square(S).sum(axis=-2, dtype=np.float64)


def active_frames(S: np.ndarray, *, threshold_db: float = -40.0) -> np.ndarray:
    """Frames of a spectrogram ``(n_bins, n_frames)`` whose energy is within ``threshold_db`` of the loudest."""
    energy = frame_energy(S)
    peak = energy.max(initial=0.0)
    return (energy > 0) & (energy >= peak * 10.0 ** (threshold_db / 10.0))


def onset_masks(
    onsets: np.ndarray, active: np.ndarray, *, width: int = 1, guard: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of onset frames and of sustained frames.

    Parameters
    ----------
    onsets : np.ndarray
        Onset frame indices (from :func:`onset_frames`).
    active : np.ndarray
        bool ``(n_frames,)``: frames in which the clip sounds (from :func:`active_frames`).
    width : int
        Frames either side of a detected onset that count as the onset (a 3x3 filter smears it by one).
    guard : int
        Sustained frames are sounding frames more than ``guard`` frames from every onset.

    Returns
    -------
    tuple of np.ndarray
        ``(onset_mask, sustained_mask)``, disjoint bool arrays ``(n_frames,)``.
    """
    active = np.asarray(active, dtype=bool)
    frames = np.arange(active.size)
    onsets = np.asarray(onsets, dtype=np.int64).ravel()
    if onsets.size == 0:
        return np.zeros_like(active), active.copy()
    distance = np.abs(frames[:, None] - onsets[None, :]).min(axis=1)
    return distance <= width, active & (distance > guard)


def onset_log_ratio(
    D: np.ndarray, onset_mask: np.ndarray, sustained_mask: np.ndarray, *, reference: np.ndarray | None = None
) -> np.ndarray:
    """Natural log of (mean energy on onset frames) / (mean energy on sustained frames).

    Parameters
    ----------
    D : np.ndarray
        ``(..., n_bins, n_frames)`` deconvolved spectrograms of one clip.
    onset_mask, sustained_mask : np.ndarray
        bool ``(n_frames,)`` from :func:`onset_masks`.
    reference : np.ndarray, optional
        ``(n_bins, n_frames)``: the input as the network saw it. If given, its own log-ratio is subtracted, so that
        0 means "passes onsets and sustains in the proportion the input has them", above 0 an onset detector,
        below 0 an onset (attack) suppressor.

    Returns
    -------
    np.ndarray
        float64 ``D.shape[:-2]``; NaN where either mask is empty or a mean energy is zero.
    """
    onset_mask = np.asarray(onset_mask, dtype=bool)
    sustained_mask = np.asarray(sustained_mask, dtype=bool)
    energy = frame_energy(D)
    if not onset_mask.any() or not sustained_mask.any():
        return np.full(energy.shape[:-1], np.nan)
    on = energy[..., onset_mask].mean(axis=-1)
    sustained = energy[..., sustained_mask].mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where((on > 0) & (sustained > 0), np.log(on) - np.log(sustained), np.nan)
    if reference is not None:
        ratio = ratio - onset_log_ratio(reference, onset_mask, sustained_mask)
    return ratio
