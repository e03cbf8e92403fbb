"""Music theory for the generated styles: rhythm patterns, chord qualities, scales, progressions and voicings.

Rhythms are written as one-bar strings of 16 sixteenth-note steps: ``X`` accented hit, ``x`` hit, ``o`` soft
(ghost) hit, ``-`` holds the previous hit one more step, ``.`` rest. Progressions read
``"<scale> | <degree>:<quality> ..."`` with Roman-numeral degrees relative to the tonic (``bVII`` is a flat
seventh), e.g. ``"major | ii:min7 V:7 I:maj7"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..errors import SynthError

__all__ = [
    "BEATS_PER_BAR",
    "Chord",
    "QUALITIES",
    "SCALES",
    "STEPS_PER_BAR",
    "STEP_BEATS",
    "in_register",
    "nearest_pitch",
    "parse_pattern",
    "parse_progression",
    "voicing",
]

STEPS_PER_BAR = 16
BEATS_PER_BAR = 4
STEP_BEATS = BEATS_PER_BAR / STEPS_PER_BAR
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
class Chord:
    """A chord of a track's timeline: ``[start, end)`` in beats, root pitch class, intervals."""

    start: float
    end: float
    root: int
    intervals: tuple[int, ...]

    @property
    def pitch_classes(self) -> set[int]:
        return {(self.root + interval) % 12 for interval in self.intervals}


def in_register(pitch_class: int, low: int) -> int:
    """The pitch of ``pitch_class`` in the octave starting at ``low``."""
    return low + (pitch_class - low) % 12


def voicing(chord: Chord, center: int, drop2: bool) -> list[int]:
    """Chord tones in the octave around ``center``; ``drop2`` lowers the second-highest by an octave."""
    pitches = sorted(in_register(pc, center - 6) for pc in chord.pitch_classes)
    if drop2 and len(pitches) >= 3:
        pitches[-2] -= 12
    return sorted(pitches)


def nearest_pitch(candidates: Sequence[int], previous: int, rng: np.random.Generator, scale: float = 2.5) -> int:
    """A candidate pitch drawn with weights falling off with the distance from ``previous``."""
    weights = np.exp(-np.abs(np.asarray(candidates) - previous) / scale)
    return int(candidates[rng.choice(len(candidates), p=weights / weights.sum())])
