"""Rendering and writing the default dataset: ``out/<style>/<style>.000NN.wav`` in GTZAN's layout."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import SynthError
from .compose import compose_track, recording
from .fluid import SAMPLE_RATE, find_soundfont, render
from .styles import DEFAULT_STYLES, Style, get_style

__all__ = ["generate_default", "render_track", "track_path"]

def render_track(style: Style | str, seed: int, index: int, seconds: float, *,
                 soundfont: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Render :func:`compose_track` in its :func:`recording` to a float32 waveform of ``seconds`` at 11,025 Hz
    (not normalised)."""
    take = recording(style, seed, index)
    y = render(compose_track(style, seed, index, seconds), seconds, soundfont=soundfont, room=take.room)
    return take.colour(y).astype(np.float32)


def track_path(out: str | os.PathLike[str], style: str, index: int) -> Path:
    """Where track ``index`` of ``style`` goes: ``out/<style>/<style>.<index:05d>.wav`` (GTZAN's layout)."""
    return Path(out) / style / f"{style}.{index:05d}.wav"


def _warn_stale(out: Path, style: str, written: set[Path]) -> None:
    """Warn about earlier tracks of this style that this run did not rewrite (a larger earlier run left them)."""
    stale = sorted(p for p in (out / style).glob(f"{style}.[0-9][0-9][0-9][0-9][0-9].wav") if p not in written)
    if stale:
        warnings.warn(
            f"{out / style}: {len(stale)} track(s) from an earlier, larger run remain ({stale[0].name} ...), and a "
            "dataset loader would read them too; delete them, or the folder, and generate again",
            stacklevel=3,
        )


def generate_default(
    out: str | os.PathLike[str],
    *,
    tracks_per_style: int = 40,
    seconds: float = 12.0,
    seed: int = 0,
    styles: Sequence[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Render the bundled default dataset in GTZAN's layout: ``out/<style>/<style>.000NN.wav``.

    Every file is mono 16-bit WAV at 11,025 Hz, peak-normalised to 0.99, written atomically. Running again over the
    same folder overwrites each file with identical content for the same arguments (the output depends only on
    ``seed``, the style and the track number, not on what else is generated); tracks left over from an earlier
    run with more tracks per style are kept, with a warning.

    Parameters
    ----------
    out : path-like
        Dataset root.
    tracks_per_style : int
        Tracks per style.
    seconds : float
        Length of each track.
    seed : int
        Seed of the whole dataset.
    styles : sequence of str, optional
        Style names (default :data:`DEFAULT_STYLES`, all of them).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of pathlib.Path
        The files written, style by style.

    Raises
    ------
    SynthError
        Unknown style, bad sizes, or FluidSynth or the soundfont missing.
    """
    from tqdm.auto import tqdm

    from ..audio import write_wav

    if tracks_per_style < 1:
        raise SynthError(f"tracks_per_style must be at least 1, got {tracks_per_style}")
    if seconds <= 0:
        raise SynthError(f"seconds must be positive, got {seconds}")
    names = list(DEFAULT_STYLES if styles is None else styles)
    for name in names:
        get_style(name)
    soundfont = find_soundfont()
    out = Path(out)
    paths: list[Path] = []
    with tqdm(total=len(names) * tracks_per_style, desc="generate default", unit="track", disable=not progress) as bar:
        for name in names:
            written = set()
            for index in range(tracks_per_style):
                y = render_track(name, seed, index, seconds, soundfont=soundfont)
                path = write_wav(track_path(out, name, index), y, SAMPLE_RATE, normalize="peak")
                written.add(path)
                paths.append(path)
                bar.update()
            _warn_stale(out, name, written)
    return paths
