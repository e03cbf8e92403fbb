"""Rendering and writing the default dataset, and each track's stems.

The dataset is in GTZAN's layout, ``out/<style>/<style>.000NN.wav``. A track's stems (:data:`STEMS`: its drums,
bass, harmony and melody, each rendered on its own with the track's gain, room and channel colour) go to a sibling
tree, ``out-stems/<style>/<style>.000NN/<stem>.wav``, where no dataset scan mistakes them for tracks or labels.
A track is, by definition, the sum of its stems: the written stems are 16-bit integers scaled by the track's
normalisation factor, and the written track is their exact sum, whether or not the stems are written too.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import SynthError
from ..fileio import atomic_path, atomic_write_text
from .compose import compose_track, recording
from .fluid import SAMPLE_RATE, describe_soundfont, find_soundfont, render_groups
from .styles import DEFAULT_STYLES, STEMS, Style, get_style

__all__ = ["STEMS", "generate_default", "load_stems", "render_stems", "render_track", "stems_folder", "track_path"]

#: Suffix of the stems tree beside a dataset folder: ``data/generated`` keeps its stems in ``data/generated-stems``.
STEMS_SUFFIX = "-stems"
#: What a stems folder records of the track it belongs to, so that a rerun skips tracks already written.
_RECORD = "track.json"
#: Written in the dataset's root after its tracks: the settings and the soundfont (:func:`describe_soundfont`).
MANIFEST = "manifest.json"
#: 16-bit full scale of the written files, and the peak a track is normalised to.
_FULL_SCALE = 32767
_PEAK = 0.99


def render_stems(style: Style | str, seed: int, index: int, seconds: float, *,
                 soundfont: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """Render the stems of track ``index`` of a style: float32 waveforms of ``seconds`` at 11,025 Hz, by stem.

    Each stem (:data:`STEMS`) is rendered on its own synthesizer with the track's gain and room and filtered by the
    track's channel colour (:func:`~auralisation.synth.compose.recording`); their sum is :func:`render_track`. A
    stem without parts in this track (a style without drums, an optional part that does not play) is all zeros.

    Parameters
    ----------
    style : Style or str
        The style or its name in :data:`~auralisation.synth.styles.STYLES`.
    seed, index, seconds
        As for :func:`~auralisation.synth.compose.compose_track`.
    soundfont : path-like, optional
        A General MIDI ``.sf2``; :func:`~auralisation.synth.fluid.find_soundfont` by default.

    Returns
    -------
    dict of str to numpy.ndarray
        One waveform per stem, keys in :data:`STEMS`'s order; not normalised.

    Raises
    ------
    SynthError
        Unknown style, FluidSynth or the soundfont missing.

    Examples
    --------
    >>> stems = render_stems("classical", seed=0, index=0, seconds=1.0)
    >>> list(stems), float(np.abs(stems["drums"]).max())  # classical has no drums
    (['drums', 'bass', 'harmony', 'melody'], 0.0)
    """
    style = get_style(style)
    take = recording(style, seed, index)
    parts = compose_track(style, seed, index, seconds)
    groups = [[part for part in parts if style.stem_of(part.name) == stem] for stem in STEMS]
    waveforms = render_groups(groups, seconds, soundfont=soundfont, room=take.room)
    return {stem: take.colour(y).astype(np.float32) for stem, y in zip(STEMS, waveforms)}


def render_track(style: Style | str, seed: int, index: int, seconds: float, *,
                 soundfont: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Render track ``index`` of a style: the sum of its :func:`render_stems`, float32 at 11,025 Hz (not normalised)."""
    stems = render_stems(style, seed, index, seconds, soundfont=soundfont)
    return np.sum([stems[stem] for stem in STEMS], axis=0, dtype=np.float64).astype(np.float32)


def track_path(out: str | os.PathLike[str], style: str, index: int) -> Path:
    """Where track ``index`` of ``style`` goes: ``out/<style>/<style>.<index:05d>.wav`` (GTZAN's layout)."""
    return Path(out) / style / f"{style}.{index:05d}.wav"


def stems_folder(track: str | os.PathLike[str]) -> Path:
    """The folder of a generated track's stems: ``out-stems/<style>/<track name>/`` for ``out/<style>/<track>.wav``.

    Examples
    --------
    >>> stems_folder("data/generated/jazz/jazz.00003.wav").as_posix()
    'data/generated-stems/jazz/jazz.00003'
    """
    track = Path(track)
    root = track.parent.parent
    return root.with_name(root.name + STEMS_SUFFIX) / track.parent.name / track.stem


def _quantise(stems: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """16-bit stems scaled so that the track (or a louder stem) peaks at 0.99, and the track: their exact sum."""
    peak = max(float(np.max(np.abs(np.sum(list(stems.values()), axis=0, dtype=np.float64)), initial=0.0)),
               max(float(np.max(np.abs(y), initial=0.0)) for y in stems.values()))
    factor = _PEAK * _FULL_SCALE / peak if peak > 0 else 0.0
    ints = {stem: np.round(y.astype(np.float64) * factor).astype(np.int16) for stem, y in stems.items()}
    mix = np.sum([ints[stem] for stem in STEMS], axis=0, dtype=np.int32)
    return ints, mix.astype(np.int16)


def _write_pcm16(path: Path, samples: np.ndarray) -> Path:
    """Write int16 samples to a mono 16-bit WAV file atomically, bit for bit."""
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(tmp, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return path


def load_stems(track: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read the stems of a generated track (``generate default --stems``), float32 by stem in :data:`STEMS` order.

    Parameters
    ----------
    track : path-like
        A track of a generated dataset, ``out/<style>/<style>.000NN.wav``.

    Returns
    -------
    dict of str to numpy.ndarray
        The stems as written; they add up exactly to the track as read (``soundfile.read``, float).

    Raises
    ------
    SynthError
        The track or some of its stems are missing (the message says how to generate them), or the stems do not
        add up to the track (one of them was regenerated with other settings).
    """
    import soundfile as sf

    track = Path(track)
    folder = stems_folder(track)
    if not track.is_file():
        raise SynthError(f"{track}: no such track; pass a track of a generated dataset, out/<style>/<style>.000NN.wav")
    missing = [stem for stem in STEMS if not (folder / f"{stem}.wav").is_file()]
    if missing:
        raise SynthError(
            f"{track}: no stem {', '.join(missing)} in {folder}; generate the dataset with its stems, `auralisation "
            f"generate default --stems --out {track.parent.parent}` with the --seed, --seconds and "
            "--tracks-per-style it was made with (tracks already there are kept)"
        )
    mix, sr = sf.read(track, dtype="float64")
    stems = {stem: sf.read(folder / f"{stem}.wav", dtype="float64") for stem in STEMS}
    if any(y.shape != mix.shape or rate != sr for y, rate in stems.values()) or not np.array_equal(
        np.sum([y for y, _ in stems.values()], axis=0), mix
    ):
        raise SynthError(
            f"{track}: its stems in {folder} do not add up to it (made with other settings, or edited); generate "
            "the dataset again with --stems"
        )
    return {stem: y.astype(np.float32) for stem, (y, _) in stems.items()}


def _warn_stale(out: Path, style: str, written: set[Path]) -> None:
    """Warn about earlier tracks of this style that this run did not rewrite (a larger earlier run left them)."""
    stale = sorted(p for p in (out / style).glob(f"{style}.[0-9][0-9][0-9][0-9][0-9].wav") if p not in written)
    if stale:
        warnings.warn(
            f"{out / style}: {len(stale)} track(s) from an earlier, larger run remain ({stale[0].name} ...), and a "
            "dataset loader would read them too; delete them, or the folder, and generate again",
            stacklevel=3,
        )


def _is_written(path: Path, record: dict) -> bool:
    """Whether a track and its stems were written by a run with these settings (and add up)."""
    record_path = stems_folder(path) / _RECORD
    try:
        if json.loads(record_path.read_text()) != record:
            return False
        load_stems(path)
    except (OSError, RuntimeError, ValueError):  # SynthError, JSON errors: ValueError; libsndfile: RuntimeError
        return False
    return True


def _write_track(path: Path, stems: dict[str, np.ndarray], record: dict | None) -> None:
    """Write the track (and, with a ``record``, its stems and then the record) atomically."""
    ints, mix = _quantise(stems)
    if record is not None:
        folder = stems_folder(path)
        for stem in STEMS:
            _write_pcm16(folder / f"{stem}.wav", ints[stem])
    _write_pcm16(path, mix)
    if record is not None:
        atomic_write_text(stems_folder(path) / _RECORD, json.dumps(record, indent=2) + "\n")


def generate_default(
    out: str | os.PathLike[str],
    *,
    tracks_per_style: int = 40,
    seconds: float = 12.0,
    seed: int = 0,
    styles: Sequence[str] | None = None,
    stems: bool = False,
    workers: int = 1,
    progress: bool = True,
) -> list[Path]:
    """Render the bundled default dataset in GTZAN's layout: ``out/<style>/<style>.000NN.wav``, and its stems.

    Every file is mono 16-bit WAV at 11,025 Hz, written atomically; a track is the exact sum of its stems, scaled
    so that it peaks at 0.99 (or a little lower where one stem is louder than the whole). The output depends only
    on ``seed``, the style and the track number, not on what else is generated. Without ``stems`` a rerun over the
    same folder overwrites each track with identical content; with ``stems``, tracks whose stems folder records the
    same settings and whose stems add up to them are kept (an interrupted run resumes). Tracks left over from an
    earlier run with more tracks per style are kept, with a warning. ``out/manifest.json``, written last, records the
    settings and the soundfont (:func:`~auralisation.synth.fluid.describe_soundfont`: a note where it is not
    FluidR3 GM).

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
    stems : bool
        Also write each track's stems to :func:`stems_folder` (``out-stems/<style>/<style>.000NN/<stem>.wav``)
        with a ``track.json`` recording the settings.
    workers : int
        Processes rendering at once (each track depends only on its own arguments, so the files are the same).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of pathlib.Path
        The tracks (not the stems), style by style.

    Raises
    ------
    SynthError
        Unknown style, bad sizes or worker count, or FluidSynth or the soundfont missing.
    """
    from tqdm.auto import tqdm

    if tracks_per_style < 1:
        raise SynthError(f"tracks_per_style must be at least 1, got {tracks_per_style}")
    if seconds <= 0:
        raise SynthError(f"seconds must be positive, got {seconds}")
    names = list(DEFAULT_STYLES if styles is None else styles)
    for name in names:
        get_style(name)
    if workers < 1:
        raise SynthError(f"workers must be at least 1, got {workers}")
    soundfont = find_soundfont()
    out = Path(out)
    jobs = [(track_path(out, name, index), name, index) for name in names for index in range(tracks_per_style)]
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(tqdm(total=len(jobs), desc="generate default", unit="track", disable=not progress))
        run = map
        if workers > 1:
            # spawned, not forked: the caller may hold threads (TensorFlow's) that a fork would copy half-way
            context = multiprocessing.get_context("spawn")
            run = stack.enter_context(concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)).map
        arguments = [(path, name, index, seed, seconds, soundfont, stems) for path, name, index in jobs]
        for _ in run(_generate_track, *zip(*arguments)):
            bar.update()
    for name in names:
        _warn_stale(out, name, {path for path, style, _ in jobs if style == name})
    manifest = {"seed": seed, "seconds": seconds, "sample_rate": SAMPLE_RATE, "tracks_per_style": tracks_per_style,
                "styles": names, "stems": stems, "soundfont": describe_soundfont(soundfont)}
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return [path for path, _, _ in jobs]


def _generate_track(path: Path, style: str, index: int, seed: int, seconds: float, soundfont: Path,
                    stems: bool) -> Path:
    """Render and write one track (and its stems), unless ``stems`` and they are already written."""
    record = {"style": style, "index": index, "seed": seed, "seconds": seconds, "sample_rate": SAMPLE_RATE,
              "soundfont": soundfont.name} if stems else None
    if record is None or not _is_written(path, record):
        _write_track(path, render_stems(style, seed, index, seconds, soundfont=soundfont), record)
    return path
