"""The paper's 124 correlation stimuli: 4 keys x 6 instruments x 5 chord groups, and 4 drum patterns.

Every clip lasts 4 s at 11,025 Hz (44,100 samples). Pitches follow the paper's convention, C3 = middle C = MIDI 60,
so A3 = MIDI 69 = 440 Hz; the keys Bb2, Eb2, A3 and G4 sit -2, -9, +9 and +19 semitones from C3.

Chord groups (the clip plays from the key's root ``r`` upward):

1. ``intervals``: ``r`` held for 4 s under the twelve chromatic intervals m2 ... octave, 1/3 s each;
2. ``major_minor``: a major triad for 2 s, then a minor triad for 2 s;
3. ``sus4_maj7``: a sus4 chord, then a major seventh chord;
4. ``dom7_min7``: a dominant seventh chord, then a minor seventh chord;
5. ``dim7_silence``: a diminished seventh chord, then 2 s of digital silence.

Chords are struck once a second (held 0.9 s) and voiced over two octaves: every chord tone and its upper octave,
plus ``r + 24``. The sine is synthesised with numpy (a sum of sinusoids with 10 ms attack and 30 ms release);
the other instruments are General MIDI programs rendered dry (no reverb or chorus) by FluidSynth. The drum clips
play two bars at 120 bpm. The seed draws the strike velocities, shared by every key and instrument so that two
clips differing in one attribute differ in nothing else, and the drum velocities.

Loudness: every clip is scaled to the same RMS, :data:`TARGET_RMS`, measured over its sounding part (the whole
clip, or the first 2 s of group 5), so that instruments and keys are compared at equal energy; no clip then
peaks above 1 (generation fails rather than clip). ``manifest.json`` lists each clip's attributes, the notes
sounding (pitch, start, end: the note-on and note-off times; instruments ring a little past note-off) and labelled
segments (the interval or chord quality playing at each time).
"""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import SynthError
from .fluid import SAMPLE_RATE, describe_soundfont, fade_out, find_soundfont, render
from .theory import QUALITIES, parse_pattern

__all__ = [
    "CHORD_GROUPS",
    "DRUM_PATTERNS",
    "DURATION",
    "INSTRUMENTS",
    "KEYS",
    "MANIFEST",
    "TARGET_RMS",
    "Stimulus",
    "generate_stimuli",
    "load_stimuli",
    "midi_to_hz",
]

#: Length of every stimulus in seconds (44,100 samples at 11,025 Hz).
DURATION = 4.0
#: MIDI number of C3 (middle C), from which the keys are counted.
C3 = 60
#: Keys: semitones from C3.
KEYS: dict[str, int] = {"Bb2": -2, "Eb2": -9, "A3": 9, "G4": 19}
#: Harmonic instruments: General MIDI program (0-based), or None for the numpy sine.
INSTRUMENTS: dict[str, int | None] = {
    "sine": None,
    "piano": 0,
    "acoustic_guitar": 25,
    "electric_guitar": 27,
    "saxophone": 65,
    "strings": 48,
}
#: Chord groups in order (file names use the number: group 1 is ``intervals``).
CHORD_GROUPS: tuple[str, ...] = ("intervals", "major_minor", "sus4_maj7", "dom7_min7", "dim7_silence")
#: Each chord group's halves: (chord quality or "silence", start s, end s).
_GROUP_HALVES: dict[str, tuple[tuple[str, float, float], ...]] = {
    "major_minor": (("maj", 0.0, 2.0), ("min", 2.0, 4.0)),
    "sus4_maj7": (("sus4", 0.0, 2.0), ("maj7", 2.0, 4.0)),
    "dom7_min7": (("7", 0.0, 2.0), ("min7", 2.0, 4.0)),
    "dim7_silence": (("dim7", 0.0, 2.0), ("silence", 2.0, 4.0)),
}
_INTERVAL_NAMES = ("m2", "M2", "m3", "M3", "P4", "TT", "P5", "m6", "M6", "m7", "M7", "P8")
#: Drum patterns: two one-bar grooves (GM drum note -> 16-step pattern) played at 120 bpm.
DRUM_PATTERNS: dict[str, tuple[dict[int, str], dict[int, str]]] = {
    "4beat": ({36: "x.......x.......", 38: "....x.......x...", 42: "x...x...x...x..."},) * 2,
    "8beat": ({36: "x.......x.x.....", 38: "....x.......x...", 42: "x.x.x.x.x.x.x.x."},) * 2,
    "16beat": ({36: "x.....x...x.....", 38: "....x.......x...", 42: "XxxxXxxxXxxxXxxx"},) * 2,
    "fills": (
        {38: "xxxx............", 50: "....xxxx........", 47: "........xxxx....", 43: "............xxxx"},
        {49: "X...............", 36: "x.......x.......", 38: "..x.x.x.xxxx....", 45: "............xx..",
         41: "..............xx"},
    ),
}
_DRUM_BEAT_S = 0.5
_STRIKE_S = 1.0
_HOLD_S = 0.9
#: RMS every stimulus is scaled to (-26 dBFS), over its sounding part.
TARGET_RMS = 0.05
#: The manifest's file name.
MANIFEST = "manifest.json"
_FORMAT = "auralisation-stimuli/1"


def midi_to_hz(pitch: float) -> float:
    """Frequency of a MIDI pitch (69 = 440 Hz, equal temperament).

    Examples
    --------
    >>> midi_to_hz(69), round(midi_to_hz(60), 2)
    (440.0, 261.63)
    """
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


@dataclasses.dataclass(frozen=True)
class Stimulus:
    """One of the 124 stimuli, as listed in the manifest.

    Attributes
    ----------
    name : str
        File stem, e.g. ``"piano_A3_group2"`` or ``"drums_8beat"``.
    path : pathlib.Path
        The WAV file.
    kind : {"harmonic", "drums"}
    key : str or None
        ``"Bb2"``, ``"Eb2"``, ``"A3"`` or ``"G4"`` (None for drums).
    key_semitones : int or None
        Semitones from C3: -2, -9, 9 or 19.
    instrument : str
        One of :data:`INSTRUMENTS`, or ``"drums"``.
    chord_group : str or None
        One of :data:`CHORD_GROUPS`.
    drum_pattern : str or None
        One of :data:`DRUM_PATTERNS`.
    notes : tuple of (int, float, float)
        ``(pitch_midi, start_s, end_s)`` of every note (GM drum note numbers for drums).
    """

    name: str
    path: Path
    kind: Literal["harmonic", "drums"]
    key: str | None
    key_semitones: int | None
    instrument: str
    chord_group: str | None
    drum_pattern: str | None
    notes: tuple[tuple[int, float, float], ...]


@dataclasses.dataclass(frozen=True)
class _Clip:
    """Everything needed to render one stimulus and describe it in the manifest."""

    name: str
    kind: str
    key: str | None
    instrument: str
    program: int | None
    chord_group: str | None
    drum_pattern: str | None
    notes: tuple[tuple[int, float, float, int], ...]  # pitch, start, end, velocity
    segments: tuple[tuple[float, float, str], ...]

    @property
    def sounding_end(self) -> float:
        """Where the sound must stop: the start of the silent segment, else the clip's end."""
        return next((start for start, _, label in self.segments if label == "silence"), DURATION)

    def manifest_entry(self) -> dict[str, Any]:
        key_semitones = KEYS.get(self.key) if self.key else None
        return {
            "name": self.name,
            "file": f"{self.name}.wav",
            "kind": self.kind,
            "key": self.key,
            "key_semitones": key_semitones,
            "root_midi": None if key_semitones is None else C3 + key_semitones,
            "instrument": self.instrument,
            "program": self.program,
            "chord_group": self.chord_group,
            "group_number": CHORD_GROUPS.index(self.chord_group) + 1 if self.chord_group else None,
            "drum_pattern": self.drum_pattern,
            "notes": [{"pitch": p, "start": s, "end": e, "velocity": v} for p, s, e, v in self.notes],
            "segments": [{"start": s, "end": e, "label": label} for s, e, label in self.segments],
        }


def _two_octaves(root: int, quality: str) -> list[int]:
    """Chord tones and their upper octaves, plus the root two octaves up."""
    tones = {root + interval for interval in QUALITIES[quality]}
    return sorted(tones | {tone + 12 for tone in tones} | {root + 24})


def _group_notes(group: str, root: int, velocities: np.ndarray) -> tuple[list[tuple], list[tuple]]:
    """Notes ``(pitch, start, end, velocity)`` and segments ``(start, end, label)`` of a chord group from ``root``."""
    if group == "intervals":
        step = DURATION / len(_INTERVAL_NAMES)
        notes = [(root, 0.0, DURATION, int(velocities[0]))]
        segments = []
        for k, name in enumerate(_INTERVAL_NAMES):
            start, end = round(k * step, 6), round((k + 1) * step, 6)
            notes.append((root + k + 1, start, end, int(velocities[k + 1])))
            segments.append((start, end, name))
        return notes, segments
    notes, segments = [], []
    strike = 0
    for quality, start, end in _GROUP_HALVES[group]:
        segments.append((start, end, quality))
        if quality == "silence":
            continue
        for onset in np.arange(start, end, _STRIKE_S):
            velocity = int(velocities[strike])
            strike += 1
            notes += [(pitch, float(onset), float(onset) + _HOLD_S, velocity) for pitch in _two_octaves(root, quality)]
    return notes, segments


def _drum_notes(pattern: str, rng: np.random.Generator) -> list[tuple]:
    """Notes of a two-bar drum pattern at 120 bpm, velocities jittered by the seed."""
    notes = []
    for bar, groove in enumerate(DRUM_PATTERNS[pattern]):
        for pitch, text in groove.items():
            for step, _, velocity in parse_pattern(text):
                start = (bar * 16 + step) * _DRUM_BEAT_S / 4
                jittered = int(np.clip(round(velocity + rng.normal(0.0, 4.0)), 1, 127))
                notes.append((pitch, start, start + 0.1, jittered))
    return sorted(notes, key=lambda note: (note[1], note[0]))


def stimulus_clips(seed: int = 0) -> list[_Clip]:
    """The 124 clips in manifest order: keys, then instruments, then chord groups; then the drums."""
    rng = np.random.default_rng([int(seed), zlib.crc32(b"stimuli")])
    velocities = {group: rng.integers(84, 105, size=len(_INTERVAL_NAMES) + 1) for group in CHORD_GROUPS}
    clips = []
    for key, semitones in KEYS.items():
        for instrument, program in INSTRUMENTS.items():
            for number, group in enumerate(CHORD_GROUPS, start=1):
                notes, segments = _group_notes(group, C3 + semitones, velocities[group])
                clips.append(_Clip(f"{instrument}_{key}_group{number}", "harmonic", key, instrument, program, group,
                                   None, tuple(notes), tuple(segments)))
    for pattern in DRUM_PATTERNS:
        clips.append(_Clip(f"drums_{pattern}", "drums", None, "drums", 0, None, pattern,
                           tuple(_drum_notes(pattern, rng)), ((0.0, DURATION, pattern),)))
    return clips


def _sine(notes, sr: int, n_samples: int, attack: float = 0.01, release: float = 0.03) -> np.ndarray:
    """Sum of sinusoids, one per note, amplitude velocity/127, with linear attack and release ramps."""
    y = np.zeros(n_samples)
    for pitch, start, end, velocity in notes:
        first, last = int(round(start * sr)), min(int(round(end * sr)), n_samples)
        t = np.arange(last - first) / sr
        envelope = np.clip(np.minimum(t / attack, ((last - first) / sr - t) / release), 0.0, 1.0)
        y[first:last] += velocity / 127 * envelope * np.sin(2 * np.pi * midi_to_hz(pitch) * t)
    return y


def _render_clip(clip: _Clip, soundfont: Path, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The clip's waveform at :data:`TARGET_RMS`, silent after its sounding part."""
    import pretty_midi

    n_samples = int(round(DURATION * sr))
    if clip.program is None:
        y = _sine(clip.notes, sr, n_samples)
    else:
        part = pretty_midi.Instrument(program=clip.program, is_drum=clip.kind == "drums", name=clip.name)
        part.control_changes += [pretty_midi.ControlChange(number, value, 0.0) for number, value in
                                 ((7, 127), (91, 0), (93, 0), (10, 64))]
        part.notes += [pretty_midi.Note(v, p, s, e) for p, s, e, v in clip.notes]
        y = render([part], DURATION, soundfont=soundfont, sr=sr).astype(np.float64)
    end = int(round(clip.sounding_end * sr))
    if end < n_samples:
        last_off = int(round(max(note[2] for note in clip.notes) * sr))
        y = fade_out(y, last_off, end)
    rms = float(np.sqrt(np.mean(y[:end] ** 2)))
    if rms == 0:
        raise SynthError(f"stimulus {clip.name} rendered silent; check the soundfont {soundfont}")
    y = y * (TARGET_RMS / rms)
    peak = float(np.max(np.abs(y)))
    if peak > 1.0:
        raise SynthError(f"stimulus {clip.name} would peak at {peak:.2f} (> 1) at RMS {TARGET_RMS}; lower TARGET_RMS")
    return y.astype(np.float32)


def generate_stimuli(out: str | os.PathLike[str], *, seed: int = 0, progress: bool = True) -> Path:
    """Render the 124 stimuli into ``out`` and write ``out/manifest.json``.

    Each WAV (mono 16-bit, 11,025 Hz, 44,100 samples, e.g. ``piano_A3_group2.wav``, ``drums_8beat.wav``) is
    written atomically, and the manifest last, so a folder with a manifest is complete. Running again overwrites
    every file with identical content for the same seed and soundfont.

    Parameters
    ----------
    out : path-like
        Output folder.
    seed : int
        Seed of the strike and drum velocities.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        The manifest's path.

    Raises
    ------
    SynthError
        FluidSynth or the soundfont is missing.
    """
    from tqdm.auto import tqdm

    from ..audio import write_wav
    from ..fileio import atomic_write_text

    soundfont = find_soundfont()
    out = Path(out)
    clips = stimulus_clips(seed)
    for clip in tqdm(clips, desc="generate stimuli", unit="clip", disable=not progress):
        write_wav(out / f"{clip.name}.wav", _render_clip(clip, soundfont), SAMPLE_RATE, normalize="none")
    manifest = {
        "format": _FORMAT,
        "sample_rate": SAMPLE_RATE,
        "n_samples": int(round(DURATION * SAMPLE_RATE)),
        "duration": DURATION,
        "seed": int(seed),
        "soundfont": describe_soundfont(soundfont),
        "pitch_convention": "MIDI note numbers; C3 = middle C = 60, A3 = 69 = 440 Hz; GM drum notes for drums",
        "loudness": f"RMS {TARGET_RMS} over the sounding part (all 4 s, or the first 2 s of group 5); no clipping",
        "notes_times": "note-on and note-off in seconds; sampled instruments ring briefly after note-off",
        "clips": [clip.manifest_entry() for clip in clips],
    }
    path = out / MANIFEST
    atomic_write_text(path, json.dumps(manifest, indent=1) + "\n")
    return path


def load_stimuli(folder: str | os.PathLike[str]) -> list[Stimulus]:
    """Read the stimuli of a folder written by :func:`generate_stimuli`, in manifest order.

    Raises
    ------
    SynthError
        The folder has no readable manifest, or a listed WAV file is missing.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise SynthError(f"{path} not found; generate the stimuli with `auralisation generate stimuli --out {folder}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("format") != _FORMAT:
            raise ValueError(f"format is {manifest.get('format')!r}, expected {_FORMAT!r}")
        stimuli = [
            Stimulus(
                name=entry["name"],
                path=folder / entry["file"],
                kind=entry["kind"],
                key=entry["key"],
                key_semitones=entry["key_semitones"],
                instrument=entry["instrument"],
                chord_group=entry["chord_group"],
                drum_pattern=entry["drum_pattern"],
                notes=tuple((int(n["pitch"]), float(n["start"]), float(n["end"])) for n in entry["notes"]),
            )
            for entry in manifest["clips"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise SynthError(f"{path} is not a valid stimuli manifest ({error}); generate the stimuli again") from error
    missing = [s.path.name for s in stimuli if not s.path.is_file()]
    if missing:
        raise SynthError(f"{folder}: {len(missing)} stimulus file(s) listed in {MANIFEST} are missing "
                         f"({', '.join(missing[:3])} ...); generate the stimuli again")
    return stimuli
