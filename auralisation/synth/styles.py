"""The default dataset's eight styles: a schema (:class:`Style`, :class:`Part`, :class:`Drums`) and its data.

Each :class:`Style` fixes what makes it recognisable: its instruments (General MIDI programs, a few variants per
part), tempo range, swing, rhythm patterns, drum grooves and fills, and harmony vocabulary (chord progressions with
chord qualities), written in :mod:`~auralisation.synth.theory`'s notation. :mod:`~auralisation.synth.compose` draws
the rest of each track.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ..errors import SynthError
from .theory import parse_pattern, parse_progression

__all__ = ["DEFAULT_STYLES", "Drums", "PLAYS", "Part", "STEMS", "STYLES", "Style", "get_style"]

#: How a part turns chords and a rhythm into notes.
PLAYS = ("block", "strum", "arpeggio", "melody", "bass_root", "bass_fifth", "bass_octave", "bass_walk")
#: The stems a track is rendered in: the drum part, and the pitched parts by their role (:attr:`Part.stem`).
STEMS = ("drums", "bass", "harmony", "melody")
_STEM_OF_PLAY = {"block": "harmony", "strum": "harmony", "arpeggio": "harmony", "melody": "melody",
                 "bass_root": "bass", "bass_fifth": "bass", "bass_octave": "bass", "bass_walk": "bass"}


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

    @property
    def stem(self) -> str:
        """The stem (:data:`STEMS`) the part is rendered in, by its role: chords are the harmony, bass lines the
        bass, melodies the melody."""
        return _STEM_OF_PLAY[self.play]


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
        names = [part.name for part in self.parts]
        if len(set(names)) < len(names) or "drums" in names:
            raise SynthError(f"style {self.name!r}: its parts need distinct names other than 'drums', got {names}")

    def stem_of(self, name: str) -> str:
        """The stem (:data:`STEMS`) of the part called ``name``; ``"drums"`` for the drum part."""
        if name == "drums":
            return "drums"
        for part in self.parts:
            if part.name == name:
                return part.stem
        raise SynthError(f"style {self.name!r} has no part {name!r}; its parts are {[p.name for p in self.parts]}")


_ROCK = Style(
    name="rock",
    tempo=(88, 160),
    progressions=(
        "major | I:5 IV:5 V:5 IV:5",
        "mixolydian | I:5 bVII:5 IV:5 I:5",
        "minor | i:5 bVI:5 bVII:5 i:5",
        "major | I:maj V:maj vi:min IV:maj",
    ),
    beats_per_chord=(4, 8),
    parts=(
        Part("guitar", "block", (29, 30, 27, 25, 26), ("x-x-x-x-x-x-x-x-", "X-x-x-x-X-x-x-x-", "x--x--x-x--x--x-"),
             (40, 64), (-4.0, 0.0)),
        Part("bass", "bass_root", (33, 34, 32, 35), ("x-x-x-x-x-x-x-x-", "x-x-x-xxx-x-x-xx"), (28, 47), (-7.0, -1.0)),
        Part("keys", "block", (16, 18, 0, 4), ("x-------x-------", "x---x---x---x---"), (50, 74), (-10.0, -4.0), 0.35),
        Part("lead", "melody", (29, 30, 81, 65), ("x---x---x-x-x---", "x-x-x---x---x-x-"), (60, 84), (-9.0, -3.0), 0.5),
    ),
    drums=Drums(
        kits=(0, 16, 8, 24),
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
        gain_db=(-5.0, 0.0),
    ),
    reverb=(10, 60),
)

_JAZZ = Style(
    name="jazz",
    tempo=(90, 200),
    progressions=(
        "major | ii:min7 V:7 I:maj7 I:maj7",
        "major | I:maj7 vi:min7 ii:min7 V:7",
        "major | iii:min7 vi:min7 ii:min7 V:7",
        "minor | ii:m7b5 V:7 i:min7 i:min7",
        "major | I:6 VI:7 ii:min9 V:9",
    ),
    beats_per_chord=(2, 4),
    parts=(
        Part("comping", "block", (0, 4, 26, 1, 11, 16),
             ("x-.....x-.......", "...x-.....x-....", "x-....x-...x-...", ".....x-.x-......"), (52, 72), (-8.0, -2.0)),
        Part("bass", "bass_walk", (32, 33, 35), ("x---x---x---x---",), (28, 52), (-5.0, 0.0)),
        Part("horn", "melody", (65, 66, 56, 57, 73, 26), ("x-xx-x..x-x-xx-.", "x--xx-x-....x-x-", "..x-x-xx-x--x..."),
             (55, 80), (-8.0, -2.0), 0.8),
    ),
    drums=Drums(
        kits=(32, 40, 0, 8),
        grooves=(
            {51: "x...x.x.x...x.x.", 44: "....x.......x...", 36: "o..............."},
            {51: "x...x.x.x...x.x.", 44: "....x.......x...", 38: "......o.......o."},
            {59: "x...x.x.x...x.x.", 44: "....x.......x...", 37: "..........o....."},
        ),
        fills=({51: "x...x...........", 38: "..o.x.o.x.x.oxx.", 36: "x..........x...."},),
        gain_db=(-8.0, -2.0),
    ),
    swing=(0.56, 0.68),
    humanize=0.01,
    reverb=(20, 70),
)

_CLASSICAL = Style(
    name="classical",
    tempo=(55, 125),
    progressions=(
        "major | I:maj IV:maj V:7 I:maj",
        "major | I:maj vi:min ii:min V:maj",
        "minor | i:min iv:min V:7 i:min",
        "major | I:maj V:maj vi:min iii:min IV:maj I:maj IV:maj V:maj",
        "minor | i:min bVI:maj iv:min V:maj",
    ),
    beats_per_chord=(2, 4),
    parts=(
        Part("accompaniment", "arpeggio", (0, 6, 46, 1, 24),
             ("x-x-x-x-x-x-x-x-", "xxxxxxxxxxxxxxxx", "x---x---x---x---"),
             (48, 72), (-6.0, -1.0)),
        Part("strings", "block", (48, 49, 44, 50), ("x---------------", "x-------x-------"), (48, 76), (-10.0, -3.0),
             0.7),
        Part("melody", "melody", (40, 73, 68, 71, 0, 56), ("x---x---x---x---", "x-x-x---x-x-x---", "x-------x---x---"),
             (62, 88), (-5.0, 0.0)),
        Part("bass", "bass_root", (42, 43, 32), ("x-------x-------", "x---------------"), (36, 55), (-8.0, -2.0)),
    ),
    humanize=0.015,
    reverb=(45, 115),
)

_ELECTRONIC = Style(
    name="electronic",
    tempo=(105, 140),
    progressions=(
        "minor | i:min bVI:maj bIII:maj bVII:maj",
        "minor | i:min iv:min i:min bVII:maj",
        "minor | i:min7 i:min7 bVI:maj7 bVII:maj",
        "major | vi:min IV:maj I:maj V:maj",
    ),
    beats_per_chord=(4, 8),
    parts=(
        Part("bass", "bass_octave", (38, 39, 87, 33), ("..x-..x-..x-..x-", "x.xxx.xxx.xxx.xx", "x-x-x-x-x-x-x-x-"),
             (28, 50), (-5.0, 0.0)),
        Part("arpeggio", "arpeggio", (80, 81, 98, 4, 11, 0),
             ("xxxxxxxxxxxxxxxx", "x.xxx.xxx.xxx.xx", "x-x-x-x-x-x-x-x-"),
             (60, 84), (-10.0, -3.0), 0.85),
        Part("pad", "block", (89, 90, 50, 88, 48), ("x---------------",), (55, 79), (-10.0, -3.0), 0.7),
    ),
    drums=Drums(
        kits=(24, 25, 0, 16),
        grooves=(
            {36: "X...X...X...X...", 39: "....x.......x...", 42: "xxxxxxxxxxxxxxxx", 46: "..x...x...x...x."},
            {36: "X...X...X...X...", 38: "....X.......X...", 46: "..x...x...x...x."},
            {36: "X...X...X...X...", 39: "....x.......x...", 42: "x.x.x.x.x.x.x.x.", 70: "xxxxxxxxxxxxxxxx"},
        ),
        fills=({36: "X...X...X...X...", 38: "x.x.x.x.xxxxxxxx"},),
        gain_db=(-5.0, 0.0),
    ),
    humanize=0.0,
    reverb=(10, 70),
)

_FOLK = Style(
    name="folk",
    tempo=(75, 140),
    progressions=(
        "major | I:maj IV:maj I:maj V:maj",
        "major | I:maj V:maj IV:maj I:maj",
        "major | I:maj vi:min IV:maj V:maj",
        "mixolydian | I:maj bVII:maj IV:maj I:maj",
        "minor | i:min bVII:maj bVI:maj bVII:maj",
    ),
    beats_per_chord=(4,),
    parts=(
        Part("guitar", "strum", (25, 24, 26, 0, 27), ("x-x-x-x-x-x-x-x-", "x---x-x-x---x-x-", "x-.xx-x-x-.xx-x-"),
             (48, 67), (-4.0, 0.0)),
        Part("melody", "melody", (110, 73, 22, 21, 105, 40, 65),
             ("x-x-x-x-x-x-x-x-", "x---x-x-x---x-x-", "x-xxx-x-x-xxx---"), (62, 86), (-8.0, -2.0)),
        Part("bass", "bass_fifth", (32, 33, 43), ("x-------x-------", "x---x---x---x---"), (33, 52), (-8.0, -2.0), 0.7),
    ),
    drums=Drums(
        kits=(0, 8, 32),
        grooves=(
            {54: "....x.......x..."},
            {54: "....x.......x...", 70: "x.x.x.x.x.x.x.x."},
            {36: "x.......x.......", 37: "....x.......x..."},
        ),
        gain_db=(-9.0, -2.0),
        presence=0.6,
    ),
    swing=(0.5, 0.58),
    humanize=0.012,
    reverb=(15, 70),
)

_HIP_HOP = Style(
    name="hip-hop",
    tempo=(72, 105),
    progressions=(
        "minor | i:min7 i:min7 iv:min7 iv:min7",
        "minor | i:min7 bVI:maj7 bVII:7 i:min7",
        "dorian | i:min7 IV:7 i:min7 IV:7",
        "minor | i:min9 iv:min9",
    ),
    beats_per_chord=(4, 8),
    parts=(
        Part("keys", "block", (4, 5, 11, 0, 89, 48, 16), ("x-----x---------", "x-------..x-----", "x--x------x-----"),
             (55, 74), (-9.0, -3.0)),
        Part("bass", "bass_root", (38, 33, 35, 32, 39), ("x-----x-..x-----", "x--x------x--x--", "x-------x-x-...."),
             (26, 45), (-5.0, 0.0)),
        Part("sample", "melody", (73, 10, 61, 56, 65, 40), ("x---.......x-x--", "....x---x-------"), (64, 86),
             (-10.0, -4.0), 0.5),
    ),
    drums=Drums(
        kits=(0, 25, 8, 24, 16),
        grooves=(
            {36: "X.........X.....", 38: "....X.......X...", 42: "x.x.x.x.x.x.x.x."},
            {36: "X......x..X.....", 38: "....X.......X..o", 42: "x.x.x.x.x.x.x.x."},
            {36: "X.....X...X.x...", 38: "....X.......X...", 42: "xxx.x.xxx.x.x.xx"},
            {36: "X..X......X.....", 39: "....X.......X...", 42: "x.x.x.x.x.x.x.x."},
        ),
        fills=({36: "X.........X.X...", 38: "....X.......X.xx", 42: "x.x.x.x.x.x....."},),
        gain_db=(-5.0, 0.0),
    ),
    swing=(0.5, 0.62),
    humanize=0.006,
    reverb=(5, 50),
)

_LATIN = Style(
    name="latin",
    tempo=(88, 135),
    progressions=(
        "minor | i:min iv:min V:7 i:min",
        "major | I:maj IV:maj V:7 IV:maj",
        "minor | ii:m7b5 V:7 i:min7 i:min7",
        "major | ii:min7 V:7 I:maj7 VI:7",
    ),
    beats_per_chord=(2, 4),
    parts=(
        Part("montuno", "block", (0, 1, 24, 4, 11, 25), ("x..x..x...x..x..", "x.x.x..x.x.x..x.", ".x.x.xx..x.x.xx."),
             (60, 79), (-7.0, -1.0)),
        Part("bass", "bass_fifth", (32, 33, 35), ("...x---.x-----..", "...x--x-...x--x-"), (28, 50), (-5.0, 0.0)),
        Part("horns", "melody", (56, 61, 65, 66, 73, 40), ("x.x..x.x....x.x.", "..x.x..x..x.x..."), (60, 84),
             (-9.0, -3.0), 0.6),
    ),
    drums=Drums(
        kits=(0, 8, 32),
        grooves=(
            {75: "x..x..x...x.x...", 63: "..x...xx..x...xx", 62: "x...x...x...x...", 64: "......x.......x.",
             56: "x.x.x.x.x.x.x.x."},
            {75: "..x.x...x..x..x.", 65: "x.xx.xx.x.xx.xx.", 64: "...x.......x....", 70: "xxxxxxxxxxxxxxxx"},
            {37: "x..x..x...x..x..", 36: "x..xx..xx..xx..x", 69: "x.x.x.x.x.x.x.x."},
        ),
        fills=({65: "x.x.x.x.xxxx....", 66: "x.x.x.x.....xxxx", 75: "x..x..x...x.x..."},),
        gain_db=(-6.0, 0.0),
    ),
    reverb=(15, 70),
)

_AMBIENT = Style(
    name="ambient",
    tempo=(55, 95),
    progressions=(
        "major | I:add9 IV:maj7 I:add9 IV:maj7",
        "major | I:sus2 vi:min7 IV:maj7 V:sus4",
        "minor | i:min9 bVI:maj7",
        "major | IV:maj7 I:add9",
    ),
    beats_per_chord=(4, 8),
    parts=(
        Part("pad", "block", (88, 89, 91, 92, 94, 95, 52, 48, 16), ("x---------------",), (48, 76), (-4.0, 0.0)),
        Part("strings", "block", (48, 49, 50, 53), ("x---------------", "x-------x-------"), (40, 64), (-10.0, -3.0),
             0.6),
        Part("bells", "melody", (8, 9, 11, 14, 98, 0, 46, 4),
             ("x.......x.......", "x...........x...", "....x..........."),
             (67, 91), (-12.0, -4.0), 0.8),
        Part("drone", "bass_root", (89, 42, 32, 33), ("x---------------",), (28, 48), (-10.0, -3.0), 0.6),
    ),
    humanize=0.02,
    reverb=(70, 127),
)

#: The default dataset's styles by name.
STYLES: dict[str, Style] = {
    style.name: style
    for style in (_ROCK, _JAZZ, _CLASSICAL, _ELECTRONIC, _FOLK, _HIP_HOP, _LATIN, _AMBIENT)
}
#: The styles generated by default.
DEFAULT_STYLES: tuple[str, ...] = tuple(STYLES)


def get_style(style: Style | str) -> Style:
    """The style itself, or the one of :data:`STYLES` with that name (a :class:`SynthError` naming them if none)."""
    if isinstance(style, Style):
        return style
    if style not in STYLES:
        raise SynthError(f"unknown style {style!r}; the styles are {', '.join(STYLES)}")
    return STYLES[style]
