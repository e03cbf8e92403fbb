"""Rendering MIDI parts to audio with FluidSynth and a General MIDI soundfont.

Parts are :class:`pretty_midi.Instrument` objects (notes and control changes). :func:`render` plays them all at
once on separate MIDI channels of a fresh FluidSynth instance, at :data:`RENDER_SR` to avoid aliasing, averages the
two stereo channels (pretty_midi's own ``fluidsynth()`` keeps only the left one, which loses right-panned drum kit
pieces) and resamples to the network's 11,025 Hz. A fresh synthesizer per call makes every rendering depend only on
its own parts, so the same seed always gives the same bytes, whatever else was rendered before.
:func:`render_groups` renders several groups of parts (a track's stems) that way with one gain and one
:class:`Room` (the reverb's settings).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

from ..errors import SynthError

__all__ = [
    "FLUIDR3_PATH",
    "INSTALL_HINT",
    "RENDER_SR",
    "Room",
    "SAMPLE_RATE",
    "SOUNDFONT_ENV",
    "fade_out",
    "describe_soundfont",
    "find_soundfont",
    "gain_to_cc7",
    "load_fluidsynth",
    "render",
    "render_groups",
    "soundfont_candidates",
]

#: Sample rate of every generated file (the network's rate).
SAMPLE_RATE = 11025
#: Rate FluidSynth renders at before resampling to :data:`SAMPLE_RATE` (high enough that nothing aliases).
RENDER_SR = 44100
#: Debian/Ubuntu's FluidR3 General MIDI soundfont (package ``fluid-soundfont-gm``), preferred where installed.
FLUIDR3_PATH = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: Environment variable naming a soundfont to use instead of the default ones.
SOUNDFONT_ENV = "AURALISATION_SOUNDFONT"
#: What to install when FluidSynth or a soundfont is missing.
INSTALL_HINT = (
    "install FluidSynth and a General MIDI soundfont (Debian/Ubuntu: `sudo apt-get install libfluidsynth3 "
    "fluid-soundfont-gm`; macOS: `brew install fluid-synth`), then `pip install pyfluidsynth pretty_midi`, or "
    "run `make setup`"
)

#: FluidSynth's output gain; halved and retried when the 16-bit output would clip.
_SYNTH_GAIN = 0.2
_MAX_GAIN_HALVINGS = 6
_INT16_FULL_SCALE = 32768.0
_DRUM_CHANNEL = 9
_DRUM_BANK = 128
#: Fade at the end of every rendering, so that cutting ringing notes does not click.
_END_FADE_S = 0.01


@dataclasses.dataclass(frozen=True)
class Room:
    """FluidSynth's reverb (its room): every part's reverb send (CC91) feeds it.

    Attributes
    ----------
    size, damping : float
        Room size and high-frequency damping, 0..1.
    width : float
        Stereo width, 0..100.
    level : float
        Output level of the reverb, 0..1.
    """

    size: float = 0.2
    damping: float = 0.0
    width: float = 0.5
    level: float = 0.9


def find_soundfont() -> Path:
    """The General MIDI soundfont to render with.

    ``$AURALISATION_SOUNDFONT`` when set; else Debian's FluidR3_GM (:data:`FLUIDR3_PATH`) where installed; else the
    small ``TimGM6mb.sf2`` that pretty_midi ships in its package folder.

    Raises
    ------
    SynthError
        The soundfont named by the environment variable does not exist, or none of the others is installed.
    """
    override = os.environ.get(SOUNDFONT_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise SynthError(f"${SOUNDFONT_ENV} names {path}, which is not a file; fix or unset the variable")
        return path
    candidates = soundfont_candidates()
    for path in candidates:
        if path.is_file():
            return path
    raise SynthError(
        f"no General MIDI soundfont found (looked for {', '.join(str(p) for p in candidates)}); {INSTALL_HINT}"
    )


def describe_soundfont(soundfont: str | os.PathLike[str]) -> dict[str, object]:
    """How a manifest names the soundfont its audio was rendered with.

    ``default`` says whether it is FluidR3 GM (Debian's ``fluid-soundfont-gm``, :data:`FLUIDR3_PATH`), the
    soundfont the bundled data is made with; any other soundfont gets a ``note`` saying the data sounds different.

    Examples
    --------
    >>> describe_soundfont("/usr/share/sounds/sf2/FluidR3_GM.sf2")["default"]
    True
    >>> print(describe_soundfont("/somewhere/TimGM6mb.sf2")["note"])  # doctest: +NORMALIZE_WHITESPACE
    rendered with TimGM6mb.sf2, not FluidR3_GM.sf2 (fluid-soundfont-gm): the instruments sound different
    from the bundled data
    """
    path = Path(soundfont)
    record: dict[str, object] = {"path": str(path), "name": path.name, "default": path.name == FLUIDR3_PATH.name}
    if not record["default"]:
        record["note"] = (f"rendered with {path.name}, not {FLUIDR3_PATH.name} (fluid-soundfont-gm): the instruments "
                          "sound different from the bundled data")
    return record


def soundfont_candidates() -> list[Path]:
    """The default soundfonts in order of preference: FluidR3_GM, then pretty_midi's bundled TimGM6mb."""
    candidates = [FLUIDR3_PATH]
    spec = importlib.util.find_spec("pretty_midi")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "TimGM6mb.sf2")
    return candidates


def load_fluidsynth() -> ModuleType:
    """Import pyfluidsynth, turning a missing library into a :class:`SynthError`.

    pyfluidsynth prints where it found the library when the environment variable ``CI`` is set (as on CI
    machines); that line is swallowed here so that it never mixes into a command's output.
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module("fluidsynth")
    except (ImportError, OSError) as error:
        raise SynthError(f"the FluidSynth library cannot be loaded ({error}); {INSTALL_HINT}") from error


def gain_to_cc7(gain_db: float) -> int:
    """MIDI channel volume (CC7) giving ``gain_db`` (<= 0) relative to full volume.

    FluidSynth's default CC7 modulator attenuates by ``40 log10(127 / value)`` dB.

    Examples
    --------
    >>> gain_to_cc7(0.0), gain_to_cc7(-6.0)
    (127, 90)
    """
    if gain_db > 0:
        raise SynthError(f"a part's gain must be <= 0 dB (CC7 cannot amplify), got {gain_db} dB")
    return max(1, int(round(127 * 10 ** (gain_db / 40))))


def fade_out(y: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Return ``y`` with a raised-cosine fade from sample ``start`` to ``stop`` and zeros after ``stop``."""
    y = y.copy()
    length = max(stop - start, 0)
    if length:
        y[start:stop] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, length, endpoint=False)))
    y[stop:] = 0
    return y


def _channels(parts: Sequence) -> list[int]:
    """MIDI channel of each part: drums on channel 10 (index 9), the others on the remaining 15."""
    melodic = [c for c in range(16) if c != _DRUM_CHANNEL]
    if sum(1 for p in parts if p.is_drum) > 1:
        raise SynthError("render() takes at most one drum part (GM has one drum channel); merge the drum parts")
    if sum(1 for p in parts if not p.is_drum) > len(melodic):
        raise SynthError(f"render() takes at most {len(melodic)} melodic parts, got {len(parts)}")
    channels, next_melodic = [], iter(melodic)
    for part in parts:
        channels.append(_DRUM_CHANNEL if part.is_drum else next(next_melodic))
    return channels


def _events(parts: Sequence, channels: Sequence[int], sr: int) -> list[tuple[int, int, tuple]]:
    """Sorted ``(sample, order, action)`` events; at equal times controls, then note-offs, then note-ons."""
    events = []
    for part, channel in zip(parts, channels):
        for control in part.control_changes:
            events.append((int(round(control.time * sr)), 0, ("cc", channel, control.number, control.value)))
        for note in part.notes:
            events.append((int(round(note.end * sr)), 1, ("noteoff", channel, note.pitch)))
            events.append((int(round(note.start * sr)), 2, ("noteon", channel, note.pitch, note.velocity)))
    events.sort(key=lambda event: (event[0], event[1]))
    return events


def _select_program(synth, sfid: int, channel: int, part) -> None:
    """Select the part's GM program (a drum kit for drums), falling back to preset 0 where the font lacks it."""
    bank = _DRUM_BANK if part.is_drum else 0
    program = part.program if synth.sfpreset_name(sfid, bank, part.program) is not None else 0
    if synth.program_select(channel, sfid, bank, program) != 0:
        raise SynthError(f"the soundfont has no preset {program} in bank {bank}; use a General MIDI soundfont")


def _render_stereo(parts: Sequence, n_samples: int, soundfont: Path, gain: float,
                   room: Room | None) -> np.ndarray:
    """Play the parts on a fresh synthesizer; int16-valued float array ``(n_samples, 2)``."""
    fluidsynth = load_fluidsynth()
    # Dynamic sample loading reads only the samples of the selected presets: 5x faster for a 4 s clip.
    synth = fluidsynth.Synth(gain=gain, samplerate=float(RENDER_SR), **{"synth.dynamic-sample-loading": 1})
    try:
        if room is not None:
            synth.set_reverb(room.size, room.damping, room.width, room.level)
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise SynthError(f"FluidSynth cannot load the soundfont {soundfont}; replace it, or {INSTALL_HINT}")
        channels = _channels(parts)
        for part, channel in zip(parts, channels):
            _select_program(synth, sfid, channel, part)
        out = np.zeros((n_samples, 2), dtype=np.float64)
        position = 0
        for sample, _, action in _events(parts, channels, RENDER_SR):
            sample = min(sample, n_samples)
            if sample > position:
                out[position:sample] = synth.get_samples(sample - position).reshape(-1, 2)
                position = sample
            kind, *arguments = action
            getattr(synth, kind)(*arguments)
        if position < n_samples:
            out[position:] = synth.get_samples(n_samples - position).reshape(-1, 2)
        return out
    finally:
        synth.delete()


def render(
    parts: Sequence,
    duration: float,
    *,
    soundfont: str | os.PathLike[str] | None = None,
    sr: int = SAMPLE_RATE,
    room: Room | None = None,
) -> np.ndarray:
    """Render MIDI parts to a mono waveform of exactly ``duration`` seconds.

    Parameters
    ----------
    parts : sequence of pretty_midi.Instrument
        The parts, each played on its own MIDI channel (drums, ``is_drum=True``, on GM channel 10). Their control
        changes (volume CC7, reverb CC91, ...) apply from their times; notes past ``duration`` are cut off.
    duration : float
        Length of the result in seconds; the last 10 ms fade out.
    soundfont : path-like, optional
        A General MIDI ``.sf2``; :func:`find_soundfont` by default.
    sr : int
        Sample rate of the result.
    room : Room, optional
        The reverb's settings; FluidSynth's defaults (:class:`Room`'s) by default.

    Returns
    -------
    numpy.ndarray
        float32 mono waveform of ``round(duration * sr)`` samples at FluidSynth's level (16-bit full scale = 1;
        not normalised).

    Raises
    ------
    SynthError
        FluidSynth or the soundfont is missing, or the parts cannot be played.
    """
    return render_groups([parts], duration, soundfont=soundfont, sr=sr, room=room)[0]


def render_groups(
    groups: Sequence[Sequence],
    duration: float,
    *,
    soundfont: str | os.PathLike[str] | None = None,
    sr: int = SAMPLE_RATE,
    room: Room | None = None,
) -> list[np.ndarray]:
    """Render groups of parts each on its own synthesizer, all with the same gain and room, as :func:`render` does.

    This renders a track's stems. FluidSynth mixes its voices, reverb and chorus linearly, but it starts a note at
    the next of its 64-sample blocks, whose phase depends on what else the synthesizer played; so the groups add up
    to all the parts played together only to within about 0.3 % RMS, and a track is defined as the sum of its
    stems. The
    gain is halved for every group when any one of them would clip. An empty group gives silence.

    Parameters
    ----------
    groups : sequence of sequences of pretty_midi.Instrument
        The groups of parts.
    duration, soundfont, sr, room
        As for :func:`render`.

    Returns
    -------
    list of numpy.ndarray
        One float32 waveform per group, as :func:`render` returns.

    Raises
    ------
    SynthError
        FluidSynth or the soundfont is missing, or the parts cannot be played.
    """
    import librosa

    soundfont = Path(soundfont) if soundfont is not None else find_soundfont()
    if not soundfont.is_file():
        raise SynthError(f"soundfont {soundfont} does not exist; {INSTALL_HINT}")
    if duration <= 0:
        raise SynthError(f"duration must be positive, got {duration} s")
    n_render = int(round(duration * RENDER_SR))
    gain = _SYNTH_GAIN
    for _ in range(_MAX_GAIN_HALVINGS):
        stereo = [_render_stereo(parts, n_render, soundfont, gain, room) if len(parts) else np.zeros((n_render, 2))
                  for parts in groups]
        if max((np.max(np.abs(s), initial=0.0) for s in stereo), default=0.0) < _INT16_FULL_SCALE - 1:
            break
        gain /= 2
    else:
        raise SynthError(f"the parts clip FluidSynth's output even at gain {gain * 2:g}; lower their velocities")
    n_samples = int(round(duration * sr))
    waveforms = []
    for channels in stereo:
        mono = channels.mean(axis=1) / _INT16_FULL_SCALE
        y = librosa.resample(mono, orig_sr=RENDER_SR, target_sr=sr) if sr != RENDER_SR else mono
        y = np.pad(y, (0, max(n_samples - len(y), 0)))[:n_samples]
        waveforms.append(fade_out(y, n_samples - int(round(_END_FADE_S * sr)), n_samples).astype(np.float32))
    return waveforms
