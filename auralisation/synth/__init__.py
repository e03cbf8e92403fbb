"""Generated audio: the bundled default dataset and the paper's 124 correlation stimuli.

Both are rendered from MIDI with FluidSynth and a General MIDI soundfont (:func:`find_soundfont`), deterministically
from a seed, at 11,025 Hz mono.

- :func:`generate_default` writes eight styles (:data:`STYLES`) in GTZAN's layout, ``out/<style>/<style>.000NN.wav``,
  and with ``stems=True`` each track's stems (:data:`STEMS`), which :func:`load_stems` reads back;
  :func:`render_stems` renders them in memory. The package's modules: ``theory`` (rhythms, chords, scales),
  ``styles`` (the styles' data), ``compose`` (a track's parts and recording), ``dataset`` (rendering and writing).
- :func:`generate_stimuli` writes the 124 stimuli and ``manifest.json``; :func:`load_stimuli` reads them back as
  :class:`Stimulus` records.
- :func:`render` plays any list of pretty_midi instruments; :func:`demo_clips` renders three example clips.
- ``auralisation generate default|stimuli`` on the command line (:mod:`auralisation.cli.generate`).

Importing this package loads neither TensorFlow nor pretty_midi nor FluidSynth; they load when something is rendered.
"""

from __future__ import annotations

from .compose import compose_track
from .dataset import generate_default, load_stems, render_stems, render_track, stems_folder, track_path
from .examples import demo_clips
from .fluid import SAMPLE_RATE, find_soundfont, render
from .stimuli import (
    CHORD_GROUPS,
    DRUM_PATTERNS,
    INSTRUMENTS,
    KEYS,
    Stimulus,
    generate_stimuli,
    load_stimuli,
    midi_to_hz,
)
from .styles import DEFAULT_STYLES, STEMS, STYLES, Style

__all__ = [
    "CHORD_GROUPS",
    "DEFAULT_STYLES",
    "DRUM_PATTERNS",
    "INSTRUMENTS",
    "KEYS",
    "SAMPLE_RATE",
    "STEMS",
    "STYLES",
    "Stimulus",
    "Style",
    "compose_track",
    "demo_clips",
    "find_soundfont",
    "generate_default",
    "generate_stimuli",
    "load_stems",
    "load_stimuli",
    "midi_to_hz",
    "render",
    "render_stems",
    "render_track",
    "stems_folder",
    "track_path",
]
