"""Tests of auralisation.synth: the paper's 124 stimuli, the default dataset, errors and the command line.

The stimuli are generated once per session (about 10 s); the default dataset tests use 2 styles x 2 tracks x 4 s
(one run with stems: tests/test_synth_stems.py has their own tests).
Pitch checks use their own MIDI-to-Hz formula and an FFT, not the package's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf

from auralisation.audio import AudioConfig, load_clip
from auralisation.errors import SynthError
from auralisation.cli.generate import run_generate
from auralisation.synth import generate_default, generate_stimuli, load_stimuli, render
from auralisation.synth import fluid
from auralisation.synth.compose import compose_track
from auralisation.synth.styles import STYLES, Part, Style
from auralisation.synth.theory import parse_pattern, parse_progression

SR = 11025
KEYS = {"Bb2": -2, "Eb2": -9, "A3": 9, "G4": 19}
INSTRUMENTS = ("sine", "piano", "acoustic_guitar", "electric_guitar", "saxophone", "strings")
DRUMS = ("4beat", "8beat", "16beat", "fills")


def hz(pitch: float) -> float:
    return 440.0 * 2 ** ((pitch - 69) / 12)


def spectrum(y: np.ndarray, t0: float, t1: float) -> tuple[np.ndarray, float]:
    """Hann-windowed magnitude spectrum of y[t0:t1] zero-padded to 2**16 points, and its bin width in Hz."""
    segment = y[int(t0 * SR) : int(t1 * SR)]
    n = 1 << 16
    return np.abs(np.fft.rfft(segment * np.hanning(len(segment)), n)), SR / n


def level(magnitudes: np.ndarray, df: float, pitch: float) -> float:
    """Largest magnitude within 20 cents of the pitch's frequency."""
    low, high = hz(pitch - 0.2) / df, hz(pitch + 0.2) / df
    return float(magnitudes[int(low) : int(np.ceil(high)) + 1].max())


@pytest.fixture(scope="module")
def stimuli_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stimuli")
    generate_stimuli(folder, seed=0, progress=False)
    return folder


@pytest.fixture(scope="module")
def stimuli(stimuli_dir):
    return {s.name: s for s in load_stimuli(stimuli_dir)}


def read(stimulus) -> np.ndarray:
    y, sr = sf.read(stimulus.path, dtype="float64")
    assert sr == SR
    return y


# --- the 124 stimuli ---------------------------------------------------------------------------------------------


def test_stimuli_are_124_clips_of_44100_samples(stimuli_dir, stimuli):
    expected = {f"{i}_{k}_group{g}" for i, k, g in itertools.product(INSTRUMENTS, KEYS, range(1, 6))}
    expected |= {f"drums_{d}" for d in DRUMS}
    assert len(expected) == 124
    assert set(stimuli) == expected
    assert {p.stem for p in stimuli_dir.glob("*.wav")} == expected
    for stimulus in stimuli.values():
        info = sf.info(stimulus.path)
        assert (info.samplerate, info.frames, info.channels) == (SR, 44100, 1), stimulus.name


def test_records_match_file_names_and_the_paper_keys(stimuli):
    groups = ("intervals", "major_minor", "sus4_maj7", "dom7_min7", "dim7_silence")
    for name, s in stimuli.items():
        if s.kind == "drums":
            assert (s.instrument, s.key, s.key_semitones, s.chord_group) == ("drums", None, None, None)
            assert name == f"drums_{s.drum_pattern}"
            continue
        instrument, key, group = name.rsplit("_", 2)
        assert (s.kind, s.instrument, s.key, s.drum_pattern) == ("harmonic", instrument, key, None)
        assert s.key_semitones == KEYS[key]
        assert s.chord_group == groups[int(group[-1]) - 1]
        # the key's root (C3 = MIDI 60) is the lowest note, sounding from the start
        assert min(s.notes) == (60 + KEYS[key], 0.0, min(s.notes)[2])


def test_only_the_second_half_of_group_5_is_silent(stimuli):
    for s in stimuli.values():
        y = read(s)
        windows = np.array([np.sqrt(np.mean(w**2)) for w in np.array_split(y, 8)])  # RMS of each 0.5 s
        if s.chord_group == "dim7_silence":
            assert np.all(y[22050:] == 0), s.name
            assert np.all(windows[:4] > 5e-3), s.name
        else:
            assert np.all(windows > 1e-3), (s.name, windows)


def test_loudness_is_a_fixed_rms_without_clipping(stimuli):
    for s in stimuli.values():
        y = read(s)
        sounding = y[:22050] if s.chord_group == "dim7_silence" else y
        assert np.sqrt(np.mean(sounding**2)) == pytest.approx(0.05, rel=0.01), s.name
        assert np.max(np.abs(y)) < 0.99, s.name


def test_sine_clips_sound_exactly_the_manifest_notes(stimuli):
    """In segments where the manifest holds a fixed set of notes, the strong spectral peaks are those notes."""
    candidates = np.arange(30, 110)
    for s in (s for s in stimuli.values() if s.instrument == "sine"):
        y = read(s)
        bounds = sorted({t for _, start, end in s.notes for t in (start, end)})
        for t0, t1 in zip(bounds, bounds[1:]):
            if t1 - t0 < 0.2:
                continue
            sounding = {p for p, start, end in s.notes if start <= t0 and end >= t1}
            magnitudes, df = spectrum(y, t0 + 0.04, t1 - 0.04)
            levels = np.array([level(magnitudes, df, p) for p in candidates])
            strong = set(candidates[levels > 0.3 * levels.max()].tolist())
            assert strong == sounding, (s.name, t0, t1)


def test_sine_lowest_peak_is_the_root_frequency(stimuli):
    for key, semitones in KEYS.items():
        y = read(stimuli[f"sine_{key}_group2"])
        magnitudes, df = spectrum(y, 0.05, 0.85)
        strong = np.flatnonzero(magnitudes > 0.3 * magnitudes.max())
        peak = strong[0] + np.argmax(magnitudes[strong[0] : strong[0] + 50])
        assert peak * df == pytest.approx(hz(60 + semitones), rel=0.002), key


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_rendered_chords_are_in_the_right_key(stimuli, instrument):
    """Energy at the chord's pitches dwarfs that at other semitones; shifting the key by a semitone reverses it."""
    halves = (
        ((0.1, 0.85), (0, 4, 7, 12, 16, 19, 24), (1, 3, 6, 13, 15, 18)),  # major triad
        ((2.1, 2.85), (0, 3, 7, 12, 15, 19, 24), (1, 4, 6, 13, 16, 18)),  # minor triad
    )
    for key, semitones in KEYS.items():
        y = read(stimuli[f"{instrument}_{key}_group2"])
        root = 60 + semitones
        for (t0, t1), chord, other in halves:
            magnitudes, df = spectrum(y, t0, t1)

            def ratio(shift: int) -> float:
                return np.mean([level(magnitudes, df, root + shift + c) for c in chord]) / np.mean(
                    [level(magnitudes, df, root + shift + c) for c in other]
                )

            assert ratio(0) > 4, (instrument, key, t0)
            assert ratio(1) < 1, (instrument, key, t0)


def test_drum_clips_differ_and_follow_their_notes(stimuli):
    clips = {d: read(stimuli[f"drums_{d}"]) for d in DRUMS}
    for a, b in itertools.combinations(DRUMS, 2):
        assert np.abs(clips[a] - clips[b]).mean() > 1e-3, (a, b)
    # the 4-beat clip has hits on every beat at 120 bpm: onsets every 0.5 s
    notes = stimuli["drums_4beat"].notes
    assert sorted({start for _, start, _ in notes}) == pytest.approx(np.arange(8) * 0.5)
    assert {p for p, *_ in notes} == {36, 38, 42}  # kick, snare, closed hi-hat
    envelope = np.array([np.sqrt(np.mean(w**2)) for w in np.array_split(clips["4beat"], 80)])  # 50 ms frames
    assert np.all(envelope[::10] > 3 * envelope[5::10])  # loud on the beat, quieter between


def test_manifest_is_complete_and_loads(stimuli_dir):
    manifest = json.loads((stimuli_dir / "manifest.json").read_text())
    assert (manifest["sample_rate"], manifest["n_samples"], manifest["seed"]) == (SR, 44100, 0)
    entry = next(c for c in manifest["clips"] if c["name"] == "piano_A3_group2")
    assert (entry["root_midi"], entry["program"], entry["group_number"]) == (69, 0, 2)
    assert [seg["label"] for seg in entry["segments"]] == ["maj", "min"]
    assert len(load_stimuli(stimuli_dir)) == 124


def test_load_stimuli_errors(tmp_path, stimuli_dir):
    with pytest.raises(SynthError, match="generate stimuli"):
        load_stimuli(tmp_path)
    (tmp_path / "manifest.json").write_text((stimuli_dir / "manifest.json").read_text())
    with pytest.raises(SynthError, match="missing"):
        load_stimuli(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(SynthError, match="not a valid"):
        load_stimuli(tmp_path)


# --- the default dataset -----------------------------------------------------------------------------------------

TINY = dict(tracks_per_style=2, seconds=4.0, styles=["rock", "ambient"], progress=False)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    runs = {}
    for label, seed in (("a", 0), ("b", 0), ("c", 1)):
        out = tmp_path_factory.mktemp(f"default_{label}")
        runs[label] = (out, generate_default(out, seed=seed, stems=label == "a", **TINY))
    return runs


def test_default_dataset_has_the_gtzan_layout(tiny_runs):
    out, paths = tiny_runs["a"]
    expected = [out / s / f"{s}.{i:05d}.wav" for s in ("rock", "ambient") for i in range(2)]
    assert paths == expected
    assert sorted(out.rglob("*.wav")) == sorted(expected)
    config = AudioConfig()
    for path in paths:
        info = sf.info(path)
        assert (info.samplerate, info.frames, info.channels) == (SR, 44100, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = load_clip(path, config, silence="error")
        assert 0.98 < np.max(np.abs(y)) <= 1.0  # peak-normalised


def test_same_seed_same_bytes_other_seed_other_tracks(tiny_runs):
    # run a also wrote the stems, run b did not: the tracks are the same either way
    (_, a), (_, b), (_, c) = tiny_runs["a"], tiny_runs["b"], tiny_runs["c"]
    for pa, pb, pc in zip(a, b, c):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
        assert pa.read_bytes() != pc.read_bytes(), pa.name


def test_tracks_within_a_style_differ(tiny_runs):
    _, paths = tiny_runs["a"]
    rock0, rock1 = (sf.read(p)[0] for p in paths[:2])
    spectra = [np.abs(np.fft.rfft(y)) for y in (rock0, rock1)]
    assert np.corrcoef(*spectra)[0, 1] < 0.9


def test_a_track_depends_only_on_seed_style_and_index(tmp_path, tiny_runs):
    _, paths = tiny_runs["a"]
    single = generate_default(tmp_path, tracks_per_style=1, seconds=4.0, styles=["ambient"], progress=False)
    assert single[0].read_bytes() == paths[2].read_bytes()
    parallel = generate_default(tmp_path / "parallel", seed=0, workers=2, **TINY)
    assert [p.read_bytes() for p in parallel] == [p.read_bytes() for p in paths]


def test_styles_differ_in_instruments_and_rhythm():
    for name, style in STYLES.items():
        parts = compose_track(name, 0, 0, 12.0)
        assert parts and all(part.notes for part in parts), name
        assert all(0 <= n.start < 12.0 and n.end > n.start for part in parts for n in part.notes), name
    has_drums = {name: any(p.is_drum for i in range(4) for p in compose_track(name, 0, i, 12.0)) for name in STYLES}
    assert not has_drums["classical"] and not has_drums["ambient"] and has_drums["rock"] and has_drums["electronic"]
    kicks = [n.start for p in compose_track("electronic", 0, 0, 12.0) if p.is_drum for n in p.notes if n.pitch == 36]
    assert len(kicks) >= 20  # four on the floor at 105-140 bpm: at least 21 beats in 12 s


def test_stale_tracks_from_a_larger_run_warn(tmp_path):
    generate_default(tmp_path, tracks_per_style=2, seconds=1.0, styles=["folk"], progress=False)
    with pytest.warns(UserWarning, match="earlier, larger run"):
        generate_default(tmp_path, tracks_per_style=1, seconds=1.0, styles=["folk"], progress=False)


# --- errors ------------------------------------------------------------------------------------------------------


def test_missing_soundfont_raises_synth_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AURALISATION_SOUNDFONT", str(tmp_path / "nope.sf2"))
    with pytest.raises(SynthError, match="nope.sf2"):
        generate_default(tmp_path / "out", **TINY)
    assert not (tmp_path / "out").exists()
    monkeypatch.delenv("AURALISATION_SOUNDFONT")
    monkeypatch.setattr(fluid, "soundfont_candidates", lambda: [tmp_path / "FluidR3_GM.sf2", tmp_path / "Tim.sf2"])
    with pytest.raises(SynthError, match="apt-get install libfluidsynth3 fluid-soundfont-gm"):
        fluid.find_soundfont()
    with pytest.raises(SynthError, match="brew install fluid-synth"):
        generate_stimuli(tmp_path / "stimuli", progress=False)


def test_missing_fluidsynth_library_raises_synth_error(monkeypatch):
    import pretty_midi

    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # import fails as if libfluidsynth were absent
    piano = pretty_midi.Instrument(0)
    piano.notes.append(pretty_midi.Note(100, 60, 0.0, 0.5))
    with pytest.raises(SynthError, match="FluidSynth library cannot be loaded.*apt-get install"):
        render([piano], 1.0)


def test_render_lowers_the_gain_instead_of_clipping(monkeypatch):
    import pretty_midi

    chord = pretty_midi.Instrument(0)
    chord.notes += [pretty_midi.Note(127, 48 + 3 * k, 0.0, 0.5) for k in range(10)]  # clips FluidSynth at gain 1
    monkeypatch.setattr(fluid, "_SYNTH_GAIN", 0.5)
    reference = render([chord], 0.5)
    monkeypatch.setattr(fluid, "_SYNTH_GAIN", 4.0)  # 4 -> 2 -> 1 -> 0.5: three halvings
    loud = render([chord], 0.5)
    assert loud.shape == (int(0.5 * SR),) and loud.dtype == np.float32
    assert np.array_equal(loud, reference)
    assert 0.1 < np.max(np.abs(reference)) < 0.99


def test_bad_patterns_progressions_and_sizes_raise_synth_error(tmp_path):
    assert parse_pattern("X-x.o...........") == ((0, 2, 112), (2, 1, 92), (4, 1, 58))
    assert parse_progression("minor | i:min bVII:7") == ("minor", ((0, (0, 3, 7)), (10, (0, 4, 7, 10))))
    with pytest.raises(SynthError, match="16 characters"):
        parse_pattern("x-x-")
    with pytest.raises(SynthError, match="cannot read chord"):
        parse_progression("major | I:maj VIII:maj")
    with pytest.raises(SynthError, match="unknown style 'polka'"):
        generate_default(tmp_path, styles=["polka"], progress=False)
    with pytest.raises(SynthError, match="tracks_per_style"):
        generate_default(tmp_path, tracks_per_style=0, progress=False)
    with pytest.raises(SynthError, match="workers must be at least 1"):
        generate_default(tmp_path, workers=0, progress=False)
    keys = Part("keys", "block", (0,), ("x---------------",), (48, 72))
    with pytest.raises(SynthError, match="distinct names other than 'drums'"):
        Style("duo", (90, 100), ("major | I:maj",), (4,), (keys, keys))
    assert Style("solo", (90, 100), ("major | I:maj",), (4,), (keys,)).stem_of("keys") == "harmony"


# --- command line ------------------------------------------------------------------------------------------------


def test_cli_generates_the_default_dataset(tmp_path, capsys):
    from auralisation.cli import main

    code = main(["generate", "default", "--out", str(tmp_path), "--tracks-per-style", "1", "--seconds", "1",
                 "--styles", "jazz", "--seed", "3", "--quiet"])
    assert code == 0
    assert sf.info(tmp_path / "jazz" / "jazz.00000.wav").frames == SR
    assert "wrote 1 tracks" in capsys.readouterr().out
    assert main(["generate", "default", "--out", str(tmp_path), "--tracks-per-style", "0", "--quiet"]) == 1
    assert "tracks_per_style must be at least 1" in capsys.readouterr().err


def test_run_generate_defaults_to_the_project_stimuli_folder(tmp_path, monkeypatch):
    tmp_path = tmp_path.resolve()
    monkeypatch.setenv("AURALISATION_HOME", str(tmp_path))
    monkeypatch.setenv("AURALISATION_FAST", "1")
    calls = []
    monkeypatch.setattr("auralisation.synth.generate_stimuli",
                        lambda out, seed, progress: calls.append((out, seed)) or out / "manifest.json")
    args = argparse.Namespace(what="stimuli", out=None, seed=5, quiet=True)
    assert run_generate(args) == 0
    assert calls == [(tmp_path / "data" / "fast" / "stimuli", 5)]
