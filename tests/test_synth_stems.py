"""Tests of the default dataset's stems: drums, bass, harmony and melody rendered beside each track.

One small dataset (rock and classical, one 3 s track each) is generated with its stems per session. The checks use
soundfile's integers and numpy's FFT, and FluidSynth's joint rendering of all the parts as the independent
reference for what the stems add up to.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from auralisation.audio import AudioConfig
from auralisation.data import scan_folder
from auralisation.errors import SynthError
from auralisation.synth import (
    STEMS,
    generate_default,
    load_stems,
    render,
    render_stems,
    render_track,
    stems_folder,
)
from auralisation.synth.compose import Recording, compose_track, recording
from auralisation.synth.fluid import Room

SR = 11025
SECONDS = 3.0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("stems") / "generated"
    paths = generate_default(out, tracks_per_style=1, seconds=SECONDS, styles=["rock", "classical"], stems=True,
                             progress=False)
    return out, dict(zip(("rock", "classical"), paths))


def centroid(y: np.ndarray) -> float:
    """Spectral centroid in Hz of a whole waveform."""
    magnitudes = np.abs(np.fft.rfft(y))
    return float(np.sum(np.fft.rfftfreq(len(y), 1 / SR) * magnitudes) / np.sum(magnitudes))


def test_written_stems_add_up_to_the_track_sample_for_sample(dataset):
    _, paths = dataset
    for path in paths.values():
        track, _ = sf.read(path, dtype="int16")
        stems = {stem: sf.read(stems_folder(path) / f"{stem}.wav", dtype="int16")[0] for stem in STEMS}
        assert np.array_equal(np.sum(list(stems.values()), axis=0, dtype=np.int32), track)
        assert 0.98 * 32767 < np.max(np.abs(track)) <= 0.99 * 32767 + 4  # normalised by the track's peak
        assert all(np.any(stems[stem]) for stem in ("bass", "harmony", "melody")), path.name
    loaded = load_stems(paths["rock"])
    assert list(loaded) == list(STEMS) and all(y.dtype == np.float32 for y in loaded.values())
    assert np.array_equal(np.sum(list(loaded.values()), axis=0), sf.read(paths["rock"], dtype="float32")[0])


def test_a_style_without_drums_has_a_silent_drums_stem(dataset):
    _, paths = dataset
    assert not np.any(load_stems(paths["classical"])["drums"])
    assert np.any(load_stems(paths["rock"])["drums"])


def test_stems_are_the_parts_the_track_plays_together():
    stems = render_stems("rock", 0, 0, SECONDS)
    mix = render_track("rock", 0, 0, SECONDS)
    assert list(stems) == list(STEMS) and all(y.shape == (int(SECONDS * SR),) for y in stems.values())
    assert np.array_equal(np.sum(list(stems.values()), axis=0, dtype=np.float64).astype(np.float32), mix)
    # reference: FluidSynth playing all the parts on one synthesizer, through the same room and channel colour;
    # separate synthesizers start notes on other 64-sample blocks, so the two agree only to within a percent
    take = recording("rock", 0, 0)
    joint = take.colour(render(compose_track("rock", 0, 0, SECONDS), SECONDS, room=take.room))
    assert np.sqrt(np.mean((mix - joint) ** 2)) < 0.01 * np.sqrt(np.mean(joint**2))
    # each stem holds its role: the bass sounds lowest, the melody highest of the pitched stems
    assert centroid(stems["bass"]) < centroid(stems["harmony"]) < centroid(stems["melody"])


def test_a_dataset_scan_sees_the_tracks_and_not_the_stems(dataset):
    out, paths = dataset
    classes, excerpts = scan_folder(out, AudioConfig())
    assert classes == ["classical", "rock"]
    assert {excerpt.path for excerpt in excerpts} == set(paths.values())
    assert stems_folder(paths["rock"]) == out.parent / "generated-stems" / "rock" / "rock.00000"


def test_a_rerun_keeps_written_tracks_and_redoes_broken_ones(dataset):
    out, paths = dataset
    folder = stems_folder(paths["rock"])
    record = json.loads((folder / "track.json").read_text())
    assert record == {"style": "rock", "index": 0, "seed": 0, "seconds": SECONDS, "sample_rate": SR,
                      "soundfont": record["soundfont"]}
    before = {path: path.stat().st_mtime_ns for path in (paths["rock"], folder / "bass.wav")}
    (stems_folder(paths["classical"]) / "melody.wav").unlink()  # as if interrupted
    generate_default(out, tracks_per_style=1, seconds=SECONDS, styles=["rock", "classical"], stems=True,
                     progress=False)
    assert {path: path.stat().st_mtime_ns for path in before} == before
    assert np.any(load_stems(paths["classical"])["melody"])


def test_load_stems_says_how_to_make_missing_or_mismatched_stems(tmp_path, dataset):
    out, paths = dataset
    plain = generate_default(tmp_path / "plain", tracks_per_style=1, seconds=1.0, styles=["folk"], progress=False)
    with pytest.raises(SynthError, match=r"no stem drums, bass, harmony, melody.*generate default --stems"):
        load_stems(plain[0])
    with pytest.raises(SynthError, match="no such track"):
        load_stems(tmp_path / "plain" / "folk" / "folk.00007.wav")
    track = tmp_path / "copy" / "rock" / "rock.00000.wav"
    track.parent.mkdir(parents=True)
    track.write_bytes(paths["rock"].read_bytes())
    stems_folder(track).mkdir(parents=True)
    for stem in STEMS:
        y, _ = sf.read(stems_folder(paths["rock"]) / f"{stem}.wav", dtype="int16")
        sf.write(stems_folder(track) / f"{stem}.wav", y // 2 if stem == "bass" else y, SR, subtype="PCM_16")
    with pytest.raises(SynthError, match="do not add up"):
        load_stems(track)
    with pytest.raises(SynthError, match="unknown style 'polka'"):
        render_stems("polka", 0, 0, 1.0)


def test_the_channel_colour_is_a_linear_filter_with_the_stated_gain():
    take = Recording(Room(), highpass_hz=30.0, lowpass_hz=5500.0, peak_hz=1000.0, peak_db=6.0, peak_q=1.0)
    t = np.arange(2 * SR) / SR
    tone = np.sin(2 * np.pi * 1000.0 * t)
    steady = slice(SR, None)  # after the filters' transients
    gain = np.max(np.abs(take.colour(tone)[steady])) / np.max(np.abs(tone[steady]))
    assert gain == pytest.approx(10 ** (6 / 20), rel=0.01)  # the peak's boost; the high-pass passes 1 kHz
    other = np.random.default_rng(0).standard_normal(len(t))
    assert np.allclose(take.colour(tone + other), take.colour(tone) + take.colour(other))


def test_cli_writes_stems_beside_the_dataset(tmp_path, capsys):
    from auralisation.cli import main

    code = main(["generate", "default", "--out", str(tmp_path / "data"), "--tracks-per-style", "1", "--seconds",
                 "1", "--styles", "latin", "--stems", "--quiet"])
    assert code == 0
    assert f"their stems under {tmp_path / 'data-stems'}" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "data-stems" / "latin" / "latin.00000").iterdir()) == [
        "bass.wav", "drums.wav", "harmony.wav", "melody.wav", "track.json"]


def test_the_manifest_says_which_soundfont_rendered_the_data(dataset, tmp_path, monkeypatch):
    from auralisation.synth.fluid import FLUIDR3_PATH, SOUNDFONT_ENV, find_soundfont, soundfont_candidates

    out, _ = dataset
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["soundfont"]["path"] == str(find_soundfont())
    assert manifest["soundfont"]["default"] == (find_soundfont().name == FLUIDR3_PATH.name)
    bundled = soundfont_candidates()[-1]  # pretty_midi's small TimGM6mb, not the default data's FluidR3
    monkeypatch.setenv(SOUNDFONT_ENV, str(bundled))
    generate_default(tmp_path / "other", tracks_per_style=1, seconds=1.0, styles=["rock"], progress=False)
    other = json.loads((tmp_path / "other" / "manifest.json").read_text())["soundfont"]
    assert (other["name"], other["default"]) == ("TimGM6mb.sf2", False)
    assert other["note"].startswith("rendered with TimGM6mb.sf2, not FluidR3_GM.sf2")
