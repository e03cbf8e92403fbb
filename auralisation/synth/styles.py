"""The bundled default dataset: eight musical styles rendered from generated MIDI.

Each :class:`Style` fixes what makes it recognisable: its instruments (General MIDI programs, a few variants per
part), tempo range, swing, rhythm patterns, drum grooves and fills, and harmony vocabulary (chord progressions with
chord qualities). Each track draws the rest from its own random generator, seeded by ``(seed, style, index)``: key,
tempo, progression, voicing, instrument variants, which optional parts play, per-part gain (the mix), reverb, the
phase of the first bar, and small timing and velocity deviations.

Rhythms are written as one-bar strings of 16 sixteenth-note steps: ``X`` accented hit, ``x`` hit, ``o`` soft
(ghost) hit, ``-`` holds the previous hit one more step, ``.`` rest. Progressions read
``"<scale> | <degree>:<quality> ..."`` with Roman-numeral degrees relative to the tonic (``bVII`` is a flat
seventh), e.g. ``"major | ii:min7 V:7 I:maj7"``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import SynthError
from .fluid import SAMPLE_RATE, find_soundfont, gain_to_cc7, render

__all__ = [
    "DEFAULT_STYLES",
    "Drums",
    "Part",
    "QUALITIES",
    "SCALES",
    "STYLES",
    "Style",
    "compose_track",
    "generate_default",
    "parse_pattern",
    "parse_progression",
    "render_track",
    "track_path",
]

STEPS_PER_BAR = 16
BEATS_PER_BAR = 4
_STEP_BEATS = BEATS_PER_BAR / STEPS_PER_BAR
_VELOCITY = {"X": 112, "x": 92, "o": 58}

#: Chord qualities: intervals in semitones above the root.
QUALITIES: dict[str, tuple[int, ...]] = {
    "5": (0, 7, 12),
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "6": (0, 4, 7, 9),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "add9": (0, 4, 7, 14),
    "9": (0, 4, 7, 10, 14),
    "min9": (0, 3, 7, 10, 14),
    "dim7": (0, 3, 6, 9),
}

#: Scales the melodies and walking bass lines use, as pitch classes above the tonic.
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}

_DEGREES = {"i": 0, "ii": 2, "iii": 4, "iv": 5, "v": 7, "vi": 9, "vii": 11}

#: How a part turns chords and a rhythm into notes.
PLAYS = ("block", "strum", "arpeggio", "melody", "bass_root", "bass_fifth", "bass_octave", "bass_walk")


def parse_pattern(text: str) -> tuple[tuple[int, int, int], ...]:
    """Parse a one-bar rhythm string into ``(step, length_in_steps, velocity)`` hits.

    Examples
    --------
    >>> parse_pattern("X-..x...o.......")
    ((0, 2, 112), (4, 1, 92), (8, 1, 58))
    """
    if len(text) != STEPS_PER_BAR or set(text) - set("Xxo-."):
        raise SynthError(
            f"rhythm pattern {text!r} must be {STEPS_PER_BAR} characters of 'X', 'x', 'o' (hits), '-' (hold), "
            "'.' (rest)"
        )
    hits: list[list[int]] = []
    for step, char in enumerate(text):
        if char in _VELOCITY:
            hits.append([step, 1, _VELOCITY[char]])
        elif char == "-" and hits and hits[-1][0] + hits[-1][1] == step:
            hits[-1][1] += 1
    return tuple(tuple(hit) for hit in hits)


def parse_progression(text: str) -> tuple[str, tuple[tuple[int, tuple[int, ...]], ...]]:
    """Parse ``"<scale> | <degree>:<quality> ..."`` into the scale name and ``(root_semitones, intervals)`` chords.

    Examples
    --------
    >>> parse_progression("major | ii:min7 bVII:maj")
    ('major', ((2, (0, 3, 7, 10)), (10, (0, 4, 7))))
    """
    scale, _, body = (piece.strip() for piece in text.partition("|"))
    if scale not in SCALES or not body:
        raise SynthError(f"progression {text!r} must read '<scale> | <degree>:<quality> ...', scale in {list(SCALES)}")
    chords = []
    for token in body.split():
        degree, _, quality = token.partition(":")
        flat = degree.startswith("b")
        numeral = degree[1:] if flat else degree
        if numeral.lower() not in _DEGREES or quality not in QUALITIES:
            raise SynthError(
                f"progression {text!r}: cannot read chord {token!r}; write <degree>:<quality> with a Roman numeral "
                f"degree (optionally flat, 'bVII') and a quality in {list(QUALITIES)}"
            )
        chords.append(((_DEGREES[numeral.lower()] - flat) % 12, QUALITIES[quality]))
    return scale, tuple(chords)


@dataclasses.dataclass(frozen=True)
class Part:
    """One pitched part of a style.

    Attributes
    ----------
    name : str
        The part's role, e.g. ``"bass"``.
    play : str
        How it plays the chords, one of :data:`PLAYS`.
    programs : tuple of int
        General MIDI program variants (0-based); each track picks one.
    patterns : tuple of str
        One-bar rhythm variants; each track picks a main one and varies it now and then.
    register : tuple of int
        Lowest and highest MIDI pitch (at least an octave apart).
    gain_db : tuple of float
        Range of the part's level in the mix, in dB (<= 0).
    presence : float
        Probability that the part plays in a track.
    """

    name: str
    play: str
    programs: tuple[int, ...]
    patterns: tuple[str, ...]
    register: tuple[int, int]
    gain_db: tuple[float, float] = (-3.0, 0.0)
    presence: float = 1.0

    def __post_init__(self) -> None:
        if self.play not in PLAYS:
            raise SynthError(f"part {self.name!r}: play must be one of {PLAYS}, got {self.play!r}")
        if self.register[1] - self.register[0] < 12:
            raise SynthError(f"part {self.name!r}: register {self.register} must span at least an octave")
        for pattern in self.patterns:
            parse_pattern(pattern)


@dataclasses.dataclass(frozen=True)
class Drums:
    """The drum part of a style (GM channel 10).

    Attributes
    ----------
    kits : tuple of int
        GM drum kit variants (bank 128 presets: 0 standard, 8 room, 16 power, 24 electronic, 25 TR-808, 32 jazz,
        40 brush); a soundfont without one plays the standard kit.
    grooves : tuple of mapping
        Each maps a GM drum note (36 kick, 38 snare, 42 closed hi-hat, ...) to a one-bar pattern.
    fills : tuple of mapping
        Grooves played in place of the groove in some fourth bars.
    gain_db, presence
        As for :class:`Part`.
    """

    kits: tuple[int, ...]
    grooves: tuple[Mapping[int, str], ...]
    fills: tuple[Mapping[int, str], ...] = ()
    gain_db: tuple[float, float] = (-2.0, 0.0)
    presence: float = 1.0

    def __post_init__(self) -> None:
        for groove in self.grooves + self.fills:
            for pattern in groove.values():
                parse_pattern(pattern)


@dataclasses.dataclass(frozen=True)
class Style:
    """A musical style of the default dataset.

    Attributes
    ----------
    name : str
        Folder and file name prefix.
    tempo : tuple of float
        Range of tempi in beats per minute.
    progressions : tuple of str
        Harmony vocabulary (see the module docstring).
    beats_per_chord : tuple of int
        Harmonic rhythm variants.
    parts : tuple of Part
        The pitched parts.
    drums : Drums or None
        The drum part, if any.
    swing : tuple of float
        Range of the swing ratio (0.5 straight, 0.67 triplet swing) applied to off-beat eighths.
    humanize : float
        Standard deviation of onset deviations, in seconds.
    reverb : tuple of int
        Range of the reverb send (MIDI CC91, 0..127).
    """

    name: str
    tempo: tuple[float, float]
    progressions: tuple[str, ...]
    beats_per_chord: tuple[int, ...]
    parts: tuple[Part, ...]
    drums: Drums | None = None
    swing: tuple[float, float] = (0.5, 0.5)
    humanize: float = 0.008
    reverb: tuple[int, int] = (20, 50)

    def __post_init__(self) -> None:
        for progression in self.progressions:
            parse_progression(progression)


_ROCK = Style(
    name="rock",
    tempo=(100, 150),
    progressions=(
        "major | I:5 IV:5 V:5 IV:5",
        "mixolydian | I:5 bVII:5 IV:5 I:5",
        "minor | i:5 bVI:5 bVII:5 i:5",
        "major | I:maj V:maj vi:min IV:maj",
    ),
    beats_per_chord=(4, 8),
    parts=(
        Part("guitar", "block", (29, 30, 29), ("x-x-x-x-x-x-x-x-", "X-x-x-x-X-x-x-x-", "x--x--x-x--x--x-"), (40, 64)),
        Part("bass", "bass_root", (33, 34), ("x-x-x-x-x-x-x-x-", "x-x-x-xxx-x-x-xx"), (28, 47), (-4.0, -1.0)),
        Part("lead", "melody", (29, 30, 81), ("x---x---x-x-x---", "x-x-x---x---x-x-"), (60, 84), (-8.0, -3.0), 0.5),
    ),
    drums=Drums(
        kits=(0, 16, 8),
        grooves=(
            {36: "X.......X.x.....", 38: "....X.......X...", 42: "x.x.x.x.x.x.x.x."},
            {36: "X.....x.X.......", 38: "....X.......X...", 42: "x.x.x.x.x.x.x.x."},
            {36: "X.......X.......", 38: "....X.......X...", 46: "x.x.x.x.x.x.x.x."},
            {36: "X..x....X..x....", 38: "....X.......X...", 51: "x.x.x.x.x.x.x.x."},
        ),
        fills=(
            {36: "X...............", 38: "..x.x.x.x.x.....", 45: "............x.x.", 41: ".............x.x"},
            {36: "X.......X.......", 38: "....X...xxxx....", 50: "............xx..", 47: "..............xx"},
        ),
    ),
    reverb=(15, 45),
)

_JAZZ = Style(
    name="jazz",
    tempo=(100, 190),
    progressions=(
        "major | ii:min7 V:7 I:maj7 I:maj7",
        "major | I:maj7 vi:min7 ii:min7 V:7",
        "major | iii:min7 vi:min7 ii:min7 V:7",
        "minor | ii:m7b5 V:7 i:min7 i:min7",
        "major | I:6 VI:7 ii:min9 V:9",
    ),
    beats_per_chord=(2, 4),
    parts=(
        Part("comping", "block", (0, 4, 26),
             ("x-.....x-.......", "...x-.....x-....", "x-....x-...x-...", ".....x-.x-......"), (52, 72), (-6.0, -2.0)),
        Part("bass", "bass_walk", (32,), ("x---x---x---x---",), (28, 52), (-3.0, 0.0)),
        Part("horn", "melody", (65, 66, 56), ("x-xx-x..x-x-xx-.", "x--xx-x-....x-x-", "..x-x-xx-x--x..."),
             (55, 80), (-6.0, -2.0), 0.8),
    ),
    drums=Drums(
        kits=(32, 40),
        grooves=(
            {51: "x...x.x.x...x.x.", 44: "....x.......x...", 36: "o..............."},
            {51: "x...x.x.x...x.x.", 44: "....x.......x...", 38: "......o.......o."},
            {59: "x...x.x.x...x.x.", 44: "....x.......x...", 37: "..........o....."},
        ),
        fills=({51: "x...x...........", 38: "..o.x.o.x.x.oxx.", 36: "x..........x...."},),
        gain_db=(-6.0, -2.0),
    ),
    swing=(0.6, 0.68),
    humanize=0.01,
    reverb=(35, 60),
)

_CLASSICAL = Style(
    name="classical",
    tempo=(60, 110),
    progressions=(
        "major | I:maj IV:maj V:7 I:maj",
        "major | I:maj vi:min ii:min V:maj",
        "minor | i:min iv:min V:7 i:min",
        "major | I:maj V:maj vi:min iii:min IV:maj I:maj IV:maj V:maj",
        "minor | i:min bVI:maj iv:min V:maj",
    ),
    beats_per_chord=(2, 4),
    parts=(
        Part("accompaniment", "arpeggio", (0, 6, 46), ("x-x-x-x-x-x-x-x-", "xxxxxxxxxxxxxxxx", "x---x---x---x---"),
             (48, 72), (-4.0, -1.0)),
        Part("strings", "block", (48, 49, 44), ("x---------------", "x-------x-------"), (48, 76), (-8.0, -3.0), 0.7),
        Part("melody", "melody", (40, 73, 68, 71), ("x---x---x---x---", "x-x-x---x-x-x---", "x-------x---x---"),
             (62, 88), (-3.0, 0.0)),
        Part("bass", "bass_root", (42, 43), ("x-------x-------", "x---------------"), (36, 55), (-6.0, -2.0)),
    ),
    humanize=0.015,
    reverb=(70, 110),
)

_ELECTRONIC = Style(
    name="electronic",
    tempo=(118, 132),
    progressions=(
        "minor | i:min bVI:maj bIII:maj bVII:maj",
        "minor | i:min iv:min i:min bVII:maj",
        "minor | i:min7 i:min7 bVI:maj7 bVII:maj",
        "major | vi:min IV:maj I:maj V:maj",
    ),
    beats_per_chord=(4, 8),
    parts=(
        Part("bass", "bass_octave", (38, 39, 87), ("..x-..x-..x-..x-", "x.xxx.xxx.xxx.xx", "x-x-x-x-x-x-x-x-"),
             (28, 50), (-2.0, 0.0)),
        Part("arpeggio", "arpeggio", (80, 81, 98), ("xxxxxxxxxxxxxxxx", "x.xxx.xxx.xxx.xx", "x-x-x-x-x-x-x-x-"),
             (60, 84), (-8.0, -3.0)),
        Part("pad", "block", (89, 90, 50), ("x---------------",), (55, 79), (-8.0, -4.0), 0.7),
    ),
    drums=Drums(
        kits=(24, 25),
        grooves=(
            {36: "X...X...X...X...", 39: "....x.......x...", 42: "xxxxxxxxxxxxxxxx", 46: "..x...x...x...x."},
            {36: "X...X...X...X...", 38: "....X.......X...", 46: "..x...x...x...x."},
            {36: "X...X...X...X...", 39: "....x.......x...", 42: "x.x.x.x.x.x.x.x.", 70: "xxxxxxxxxxxxxxxx"},
        ),
        fills=({36: "X...X...X...X...", 38: "x.x.x.x.xxxxxxxx"},),
    ),
    humanize=0.0,
    reverb=(20, 50),
)

_FOLK = Style(
    name="folk",
    tempo=(80, 130),
    progressions=(
        "major | I:maj IV:maj I:maj V:maj",
        "major | I:maj V:maj IV:maj I:maj",
        "major | I:maj vi:min IV:maj V:maj",
        "mixolydian | I:maj bVII:maj IV:maj I:maj",
        "minor | i:min bVII:maj bVI:maj bVII:maj",
    ),
    beats_per_chord=(4,),
    parts=(
        Part("guitar", "strum", (25, 24), ("x-x-x-x-x-x-x-x-", "x---x-x-x---x-x-", "x-.xx-x-x-.xx-x-"), (48, 67),
             (-2.0, 0.0)),
        Part("melody", "melody", (110, 73, 22, 21, 105), ("x-x-x-x-x-x-x-x-", "x---x-x-x---x-x-", "x-xxx-x-x-xxx---"),
             (62, 86), (-6.0, -2.0)),
        Part("bass", "bass_fifth", (32,), ("x-------x-------", "x---x---x---x---"), (33, 52), (-6.0, -2.0), 0.7),
    ),
    drums=Drums(
        kits=(0,),
        grooves=(
            {54: "....x.......x..."},
            {54: "....x.......x...", 70: "x.x.x.x.x.x.x.x."},
            {36: "x.......x.......", 37: "....x.......x..."},
        ),
        gain_db=(-8.0, -3.0),
        presence=0.5,
    ),
    swing=(0.5, 0.56),
    humanize=0.012,
    reverb=(30, 55),
)

_HIP_HOP = Style(
    name="hip-hop",
    tempo=(80, 98),
    progressions=(
        "minor | i:min7 i:min7 iv:min7 iv:min7",
        "minor | i:min7 bVI:maj7 bVII:7 i:min7",
        "dorian | i:min7 IV:7 i:min7 IV:7",
        "minor | i:min9 iv:min9",
    ),
    beats_per_chord=(4, 8),
    parts=(
        Part("keys", "block", (4, 5, 11), ("x-----x---------", "x-------..x-----", "x--x------x-----"), (55, 74),
             (-7.0, -3.0)),
        Part("bass", "bass_root", (38, 33, 35), ("x-----x-..x-----", "x--x------x--x--", "x-------x-x-...."), (26, 45),
             (-2.0, 0.0)),
        Part("sample", "melody", (73, 10, 61), ("x---.......x-x--", "....x---x-------"), (64, 86), (-9.0, -4.0), 0.5),
    ),
    drums=Drums(
        kits=(0, 25, 8),
        grooves=(
            {36: "X.........X.....", 38: "....X.......X...", 42: "x.x.x.x.x.x.x.x."},
            {36: "X......x..X.....", 38: "....X.......X..o", 42: "x.x.x.x.x.x.x.x."},
            {36: "X.....X...X.x...", 38: "....X.......X...", 42: "xxx.x.xxx.x.x.xx"},
            {36: "X..X......X.....", 39: "....X.......X...", 42: "x.x.x.x.x.x.x.x."},
        ),
        fills=({36: "X.........X.X...", 38: "....X.......X.xx", 42: "x.x.x.x.x.x....."},),
    ),
    swing=(0.54, 0.62),
    humanize=0.006,
    reverb=(5, 25),
)

_LATIN = Style(
    name="latin",
    tempo=(95, 125),
    progressions=(
        "minor | i:min iv:min V:7 i:min",
        "major | I:maj IV:maj V:7 IV:maj",
        "minor | ii:m7b5 V:7 i:min7 i:min7",
        "major | ii:min7 V:7 I:maj7 VI:7",
    ),
    beats_per_chord=(2, 4),
    parts=(
        Part("montuno", "block", (0, 1, 24), ("x..x..x...x..x..", "x.x.x..x.x.x..x.", ".x.x.xx..x.x.xx."), (60, 79),
             (-5.0, -1.0)),
        Part("bass", "bass_fifth", (32, 33), ("...x---.x-----..", "...x--x-...x--x-"), (28, 50), (-3.0, 0.0)),
        Part("horns", "melody", (56, 61, 65), ("x.x..x.x....x.x.", "..x.x..x..x.x..."), (60, 84), (-7.0, -3.0), 0.6),
    ),
    drums=Drums(
        kits=(0,),
        grooves=(
            {75: "x..x..x...x.x...", 63: "..x...xx..x...xx", 62: "x...x...x...x...", 64: "......x.......x.",
             56: "x.x.x.x.x.x.x.x."},
            {75: "..x.x...x..x..x.", 65: "x.xx.xx.x.xx.xx.", 64: "...x.......x....", 70: "xxxxxxxxxxxxxxxx"},
            {37: "x..x..x...x..x..", 36: "x..xx..xx..xx..x", 69: "x.x.x.x.x.x.x.x."},
        ),
        fills=({65: "x.x.x.x.xxxx....", 66: "x.x.x.x.....xxxx", 75: "x..x..x...x.x..."},),
    ),
    reverb=(30, 55),
)

_AMBIENT = Style(
    name="ambient",
    tempo=(60, 80),
    progressions=(
        "major | I:add9 IV:maj7 I:add9 IV:maj7",
        "major | I:sus2 vi:min7 IV:maj7 V:sus4",
        "minor | i:min9 bVI:maj7",
        "major | IV:maj7 I:add9",
    ),
    beats_per_chord=(4, 8),
    parts=(
        Part("pad", "block", (88, 89, 91, 92, 94, 95, 52), ("x---------------",), (48, 76), (-2.0, 0.0)),
        Part("strings", "block", (48, 49, 50, 53), ("x---------------", "x-------x-------"), (40, 64), (-8.0, -3.0),
             0.6),
        Part("bells", "melody", (8, 9, 11, 14, 98), ("x.......x.......", "x...........x...", "....x..........."),
             (67, 91), (-10.0, -4.0), 0.8),
        Part("drone", "bass_root", (89, 42, 32), ("x---------------",), (28, 48), (-8.0, -3.0), 0.6),
    ),
    humanize=0.02,
    reverb=(100, 127),
)

#: The default dataset's styles by name.
STYLES: dict[str, Style] = {
    style.name: style
    for style in (_ROCK, _JAZZ, _CLASSICAL, _ELECTRONIC, _FOLK, _HIP_HOP, _LATIN, _AMBIENT)
}
#: The styles generated by default.
DEFAULT_STYLES: tuple[str, ...] = tuple(STYLES)


@dataclasses.dataclass(frozen=True)
class _Chord:
    """A chord of a track's timeline: ``[start, end)`` in beats, root pitch class, intervals."""

    start: float
    end: float
    root: int
    intervals: tuple[int, ...]

    @property
    def pitch_classes(self) -> set[int]:
        return {(self.root + interval) % 12 for interval in self.intervals}


@dataclasses.dataclass(frozen=True)
class _Hit:
    """One note-to-be of a pitched part: beats, velocity, its chord's index, index of the hit within the chord."""

    start: float
    end: float
    velocity: int
    chord: int
    index: int


@dataclasses.dataclass
class _Track:
    """What every part of one track shares."""

    rng: np.random.Generator
    chords: list[_Chord]
    scale: set[int]
    n_bars: int


@dataclasses.dataclass(frozen=True)
class _Clock:
    """Beats to seconds with swing, the phase of the first bar and humanised onsets."""

    beat_s: float
    swing: float
    shift: float
    humanize: float

    def time(self, beat: float) -> float:
        whole = math.floor(beat)
        frac = beat - whole
        if frac <= 0.5:
            swung = 2 * self.swing * frac
        else:
            swung = self.swing + 2 * (1 - self.swing) * (frac - 0.5)
        return (whole + swung) * self.beat_s - self.shift

    def onset(self, beat: float, rng: np.random.Generator) -> float:
        return self.time(beat) + (rng.normal(0.0, self.humanize) if self.humanize else 0.0)


def _choose_patterns(patterns: Sequence, n_bars: int, rng: np.random.Generator, vary: float = 0.25) -> list:
    """One pattern per bar: a main one, replaced by another variant in about ``vary`` of the bars."""
    main = patterns[rng.integers(len(patterns))]
    return [patterns[rng.integers(len(patterns))] if rng.random() < vary else main for _ in range(n_bars)]


def _hits(part: Part, track: _Track) -> list[_Hit]:
    """The part's rhythm over the whole track, split where the chord changes (melodies keep only the first piece)."""
    hits: list[_Hit] = []
    counts = [0] * len(track.chords)
    for bar, pattern in enumerate(_choose_patterns(part.patterns, track.n_bars, track.rng)):
        for step, length, velocity in parse_pattern(pattern):
            start = bar * BEATS_PER_BAR + step * _STEP_BEATS
            end = start + length * _STEP_BEATS
            for index, chord in enumerate(track.chords):
                piece_start, piece_end = max(start, chord.start), min(end, chord.end)
                if piece_end <= piece_start or (piece_start > start and part.play == "melody"):
                    continue
                hits.append(_Hit(piece_start, piece_end, velocity, index, counts[index]))
                counts[index] += 1
    return hits


def _in_register(pitch_class: int, low: int) -> int:
    """The pitch of ``pitch_class`` in the octave starting at ``low``."""
    return low + (pitch_class - low) % 12


def _voicing(chord: _Chord, center: int, drop2: bool) -> list[int]:
    """Chord tones in the octave around ``center``; ``drop2`` lowers the second-highest by an octave."""
    pitches = sorted(_in_register(pc, center - 6) for pc in chord.pitch_classes)
    if drop2 and len(pitches) >= 3:
        pitches[-2] -= 12
    return sorted(pitches)


def _nearest(candidates: Sequence[int], previous: int, rng: np.random.Generator, scale: float = 2.5) -> int:
    """A candidate pitch drawn with weights falling off with the distance from ``previous``."""
    weights = np.exp(-np.abs(np.asarray(candidates) - previous) / scale)
    return int(candidates[rng.choice(len(candidates), p=weights / weights.sum())])


Notes = list[tuple[int, float, float, int, float]]  # pitch, start beat, end beat, velocity, delay (s)


def _play_chords(part: Part, track: _Track, hits: list[_Hit]) -> Notes:
    """Block chords, strums (down on the beat's eighth, up off it) or arpeggios of a voiced chord."""
    rng = track.rng
    low, high = part.register
    center = int(rng.integers(low + 6, high - 5))
    drop2 = bool(rng.random() < 0.35)
    spread = float(rng.uniform(0.008, 0.02))
    order = ("up", "updown", "down")[rng.integers(3)]
    notes: Notes = []
    for hit in hits:
        pitches = _voicing(track.chords[hit.chord], center, drop2)
        if part.play == "arpeggio":
            cycle = pitches + [pitches[0] + 12]
            cycle = {"up": cycle, "down": cycle[::-1], "updown": cycle + cycle[-2:0:-1]}[order]
            notes.append((cycle[hit.index % len(cycle)], hit.start, hit.end, hit.velocity, 0.0))
            continue
        if part.play == "strum" and round(hit.start * 2) % 2:
            pitches = pitches[::-1]
        for k, pitch in enumerate(pitches):
            delay = k * spread if part.play == "strum" else 0.0
            notes.append((pitch, hit.start, hit.end, hit.velocity, delay))
    return notes


def _play_melody(part: Part, track: _Track, hits: list[_Hit]) -> Notes:
    """A random walk: chord tones on the beat, scale tones between, mostly small steps."""
    rng = track.rng
    low, high = part.register
    previous = int(rng.integers(low + 6, high - 5))
    notes: Notes = []
    for hit in hits:
        allowed = track.chords[hit.chord].pitch_classes if hit.start % 1 == 0 else track.scale
        candidates = [p for p in range(low, high + 1) if p % 12 in allowed and abs(p - previous) <= 7]
        if not candidates:
            candidates = [p for p in range(low, high + 1) if p % 12 in allowed]
        previous = _nearest(candidates, previous, rng)
        notes.append((previous, hit.start, hit.end, hit.velocity, 0.0))
    return notes


def _play_bass(part: Part, track: _Track, hits: list[_Hit]) -> Notes:
    """Roots; roots and fifths; roots and octaves; or a walking line approaching each next root by a semitone."""
    rng = track.rng
    low, high = part.register
    notes: Notes = []
    previous = low + 12
    for hit in hits:
        chord = track.chords[hit.chord]
        root = _in_register(chord.root, low)
        pitch = root
        if part.play == "bass_fifth" and hit.index % 2:
            pitch = root + 7 if root + 7 <= high else root - 5
        elif part.play == "bass_octave" and hit.index % 2:
            pitch = root + 12 if root + 12 <= high else root
        elif part.play == "bass_walk" and hit.start > chord.start:
            if hit.end >= chord.end and hit.chord + 1 < len(track.chords):
                target = _in_register(track.chords[hit.chord + 1].root, low)
                pitch = target + (1 if rng.random() < 0.5 and target + 1 <= high else -1)
            else:
                tones = chord.pitch_classes | track.scale if rng.random() < 0.3 else chord.pitch_classes
                candidates = [p for p in range(low, high + 1) if p % 12 in tones and 0 < abs(p - previous) <= 7]
                pitch = _nearest(candidates, previous, rng) if candidates else root
        previous = pitch
        notes.append((pitch, hit.start, hit.end, hit.velocity, 0.0))
    return notes


_PLAYERS: dict[str, Callable[[Part, _Track, list[_Hit]], Notes]] = {
    "block": _play_chords,
    "strum": _play_chords,
    "arpeggio": _play_chords,
    "melody": _play_melody,
    "bass_root": _play_bass,
    "bass_fifth": _play_bass,
    "bass_octave": _play_bass,
    "bass_walk": _play_bass,
}


def _drum_notes(drums: Drums, track: _Track) -> Notes:
    """The groove in every bar (a variant now and then), a fill in some fourth bars, a crash after a fill."""
    rng = track.rng
    grooves = _choose_patterns(range(len(drums.grooves)), track.n_bars, rng, vary=0.15)
    notes: Notes = []
    crash = rng.random() < 0.5
    for bar, groove_index in enumerate(grooves):
        groove = drums.grooves[groove_index]
        if drums.fills and bar % 4 == 3 and rng.random() < 0.6:
            groove = drums.fills[rng.integers(len(drums.fills))]
            crash = True
        elif crash:
            notes.append((49, bar * BEATS_PER_BAR, bar * BEATS_PER_BAR + 1, 100, 0.0))
            crash = False
        for pitch, pattern in groove.items():
            for step, _, velocity in parse_pattern(pattern):
                start = bar * BEATS_PER_BAR + step * _STEP_BEATS
                notes.append((pitch, start, start + _STEP_BEATS, velocity, 0.0))
    return notes


def _instrument(name: str, program: int, is_drum: bool, notes: Notes, clock: _Clock, seconds: float,
                gain_db: float, reverb: int, rng: np.random.Generator):
    """A pretty_midi instrument with the notes in seconds, volume (CC7) and reverb send (CC91) set at time 0."""
    import pretty_midi

    instrument = pretty_midi.Instrument(program=program, is_drum=is_drum, name=name)
    for number, value in ((7, gain_to_cc7(gain_db)), (91, reverb), (93, 0), (10, 64)):
        instrument.control_changes.append(pretty_midi.ControlChange(number, value, 0.0))
    for pitch, start_beat, end_beat, velocity, delay in sorted(notes, key=lambda note: (note[1], note[0])):
        start = clock.onset(start_beat, rng) + delay
        end = max(clock.time(end_beat) - (0.02 if is_drum else 0.0), start + 0.05)
        velocity = int(np.clip(round(velocity + rng.normal(0.0, 5.0)), 1, 127))
        if end <= 0 or start >= seconds:
            continue
        instrument.notes.append(pretty_midi.Note(velocity, int(pitch), max(start, 0.0), end))
    _separate_repeats(instrument.notes)
    return instrument


def _separate_repeats(notes: list, gap: float = 0.01) -> None:
    """End each note ``gap`` s before the next note of the same pitch starts (a note-off would cut the new note)."""
    by_pitch: dict[int, list] = {}
    for note in sorted(notes, key=lambda note: note.start):
        by_pitch.setdefault(note.pitch, []).append(note)
    for same in by_pitch.values():
        for note, following in zip(same, same[1:]):
            note.end = max(min(note.end, following.start - gap), note.start + gap)


def _seed_sequence(seed: int, *names: str | int) -> list[int]:
    """Entropy for a random generator that depends only on the seed and the given names (stable across runs)."""
    return [int(seed)] + [zlib.crc32(str(name).encode()) for name in names]


def compose_track(style: Style | str, seed: int, index: int, seconds: float) -> list:
    """The parts (pretty_midi instruments, times in seconds) of track ``index`` of a style.

    Parameters
    ----------
    style : Style or str
        The style or its name in :data:`STYLES`.
    seed : int
        Dataset seed; the track depends only on ``(seed, style name, index)``.
    index : int
        Track number within the style.
    seconds : float
        Track length; notes starting later are left out.

    Returns
    -------
    list of pretty_midi.Instrument
        Pitched parts, then the drum part (if the style has one and it plays in this track).
    """
    style = _style(style)
    rng = np.random.default_rng(_seed_sequence(seed, style.name, index))
    beat_s = 60.0 / float(rng.uniform(*style.tempo))
    swing = float(rng.uniform(*style.swing))
    shift = float(rng.uniform(0, BEATS_PER_BAR * beat_s))
    clock = _Clock(beat_s=beat_s, swing=swing, shift=shift, humanize=style.humanize)
    n_bars = math.ceil((seconds + shift) / (BEATS_PER_BAR * beat_s)) + 1
    scale_name, progression = parse_progression(style.progressions[rng.integers(len(style.progressions))])
    tonic = int(rng.integers(12))
    per_chord = int(style.beats_per_chord[rng.integers(len(style.beats_per_chord))])
    n_chords = math.ceil(n_bars * BEATS_PER_BAR / per_chord)
    chords = [
        _Chord(i * per_chord, (i + 1) * per_chord, (tonic + progression[i % len(progression)][0]) % 12,
               progression[i % len(progression)][1])
        for i in range(n_chords)
    ]
    track = _Track(rng, chords, {(tonic + pc) % 12 for pc in SCALES[scale_name]}, n_bars)
    reverb = int(rng.integers(style.reverb[0], style.reverb[1] + 1))
    instruments = []
    for part in style.parts:
        if rng.random() >= part.presence:
            continue
        program = int(part.programs[rng.integers(len(part.programs))])
        notes = _PLAYERS[part.play](part, track, _hits(part, track))
        gain = float(rng.uniform(*part.gain_db))
        instruments.append(_instrument(part.name, program, False, notes, clock, seconds, gain, reverb, rng))
    if style.drums is not None and rng.random() < style.drums.presence:
        kit = int(style.drums.kits[rng.integers(len(style.drums.kits))])
        notes = _drum_notes(style.drums, track)
        gain = float(rng.uniform(*style.drums.gain_db))
        instruments.append(_instrument("drums", kit, True, notes, clock, seconds, gain, reverb, rng))
    return instruments


def _style(style: Style | str) -> Style:
    if isinstance(style, Style):
        return style
    if style not in STYLES:
        raise SynthError(f"unknown style {style!r}; the styles are {', '.join(STYLES)}")
    return STYLES[style]


def render_track(style: Style | str, seed: int, index: int, seconds: float, *,
                 soundfont: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Render :func:`compose_track` to a float32 waveform of ``seconds`` at 11,025 Hz (not normalised)."""
    return render(compose_track(style, seed, index, seconds), seconds, soundfont=soundfont)


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
        _style(name)
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
