"""Composing a track of a style: its parts as pretty_midi instruments, and how it was recorded.

Each track draws what its :class:`~auralisation.synth.styles.Style` leaves open from its own random generator, seeded
by ``(seed, style, index)``: key, tempo, progression, voicing, instrument variants, which optional parts play,
per-part gain (the mix), reverb and chorus sends, the phase of the first bar, and small timing and velocity
deviations. Its :class:`Recording` (room and channel colour) comes from a second generator, the same for every style.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from .fluid import SAMPLE_RATE, Room, gain_to_cc7
from .styles import Drums, Part, Style, get_style
from .theory import (
    BEATS_PER_BAR,
    SCALES,
    STEP_BEATS,
    Chord,
    in_register,
    nearest_pitch,
    parse_pattern,
    parse_progression,
    voicing,
)

__all__ = ["Recording", "compose_track", "recording", "seed_sequence"]

#: Highest chorus send (CC93) a pitched part draws.
_MAX_CHORUS = 40


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
    chords: list[Chord]
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
            start = bar * BEATS_PER_BAR + step * STEP_BEATS
            end = start + length * STEP_BEATS
            for index, chord in enumerate(track.chords):
                piece_start, piece_end = max(start, chord.start), min(end, chord.end)
                if piece_end <= piece_start or (piece_start > start and part.play == "melody"):
                    continue
                hits.append(_Hit(piece_start, piece_end, velocity, index, counts[index]))
                counts[index] += 1
    return hits


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
        pitches = voicing(track.chords[hit.chord], center, drop2)
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
        previous = nearest_pitch(candidates, previous, rng)
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
        root = in_register(chord.root, low)
        pitch = root
        if part.play == "bass_fifth" and hit.index % 2:
            pitch = root + 7 if root + 7 <= high else root - 5
        elif part.play == "bass_octave" and hit.index % 2:
            pitch = root + 12 if root + 12 <= high else root
        elif part.play == "bass_walk" and hit.start > chord.start:
            if hit.end >= chord.end and hit.chord + 1 < len(track.chords):
                target = in_register(track.chords[hit.chord + 1].root, low)
                pitch = target + (1 if rng.random() < 0.5 and target + 1 <= high else -1)
            else:
                tones = chord.pitch_classes | track.scale if rng.random() < 0.3 else chord.pitch_classes
                candidates = [p for p in range(low, high + 1) if p % 12 in tones and 0 < abs(p - previous) <= 7]
                pitch = nearest_pitch(candidates, previous, rng) if candidates else root
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
                start = bar * BEATS_PER_BAR + step * STEP_BEATS
                notes.append((pitch, start, start + STEP_BEATS, velocity, 0.0))
    return notes


def _instrument(name: str, program: int, is_drum: bool, notes: Notes, clock: _Clock, seconds: float,
                gain_db: float, reverb: int, chorus: int, rng: np.random.Generator):
    """A pretty_midi instrument with the notes in seconds; volume (CC7), reverb (CC91) and chorus (CC93) sends set
    at time 0."""
    import pretty_midi

    instrument = pretty_midi.Instrument(program=program, is_drum=is_drum, name=name)
    for number, value in ((7, gain_to_cc7(gain_db)), (91, reverb), (93, chorus), (10, 64)):
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


def seed_sequence(seed: int, *names: str | int) -> list[int]:
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
    style = get_style(style)
    rng = np.random.default_rng(seed_sequence(seed, style.name, index))
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
        Chord(i * per_chord, (i + 1) * per_chord, (tonic + progression[i % len(progression)][0]) % 12,
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
        chorus = int(rng.integers(0, _MAX_CHORUS + 1))
        instruments.append(_instrument(part.name, program, False, notes, clock, seconds, gain, reverb, chorus, rng))
    if style.drums is not None and rng.random() < style.drums.presence:
        kit = int(style.drums.kits[rng.integers(len(style.drums.kits))])
        notes = _drum_notes(style.drums, track)
        gain = float(rng.uniform(*style.drums.gain_db))
        instruments.append(_instrument("drums", kit, True, notes, clock, seconds, gain, reverb, 0, rng))
    return instruments


@dataclasses.dataclass(frozen=True)
class Recording:
    """Where and how a track was recorded: its room (reverb) and the colour of its channel (filters).

    Attributes
    ----------
    room : Room
        FluidSynth's reverb settings.
    highpass_hz, lowpass_hz : float
        Cut-offs of a 2nd-order Butterworth high-pass and a 4th-order Butterworth low-pass.
    peak_hz, peak_db, peak_q : float
        A peaking equaliser: centre, gain (dB, negative cuts) and quality factor.
    """

    room: Room
    highpass_hz: float
    lowpass_hz: float
    peak_hz: float
    peak_db: float
    peak_q: float

    def colour(self, y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
        """Filter ``y`` through the channel: a linear, time-invariant filter, so the colour of a sum of parts is
        the sum of their colours."""
        from scipy import signal

        y = np.asarray(y, dtype=np.float64)
        nyquist = sr / 2
        y = signal.sosfilt(signal.butter(2, self.highpass_hz, "highpass", fs=sr, output="sos"), y)
        if self.lowpass_hz < 0.95 * nyquist:
            y = signal.sosfilt(signal.butter(4, self.lowpass_hz, "lowpass", fs=sr, output="sos"), y)
        b, a = signal.iirpeak(min(self.peak_hz, 0.9 * nyquist), self.peak_q, fs=sr)
        return y + (10 ** (self.peak_db / 20) - 1) * signal.lfilter(b, a, y)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A draw between ``low`` and ``high``, uniform on a log scale (frequencies)."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def recording(style: Style | str, seed: int, index: int) -> Recording:
    """The room and channel colour of track ``index`` of a style, drawn independently of its composition.

    Every style draws from the same ranges (recordings vary, whatever the music), so neither the reverb's tail nor
    the overall spectral balance tells the styles apart.
    """
    style = get_style(style)
    rng = np.random.default_rng(seed_sequence(seed, style.name, index, "recording"))
    room = Room(size=float(rng.uniform(0.1, 0.9)), damping=float(rng.uniform(0.0, 0.8)), width=0.5,
                level=float(rng.uniform(0.4, 1.0)))
    return Recording(room=room, highpass_hz=_log_uniform(rng, 30.0, 200.0),
                     lowpass_hz=_log_uniform(rng, 2500.0, 5500.0), peak_hz=_log_uniform(rng, 200.0, 4000.0),
                     peak_db=float(rng.uniform(-6.0, 6.0)), peak_q=float(rng.uniform(0.7, 2.0)))
