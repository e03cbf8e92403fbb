"""Tests of auralisation.analysis: pairs, correlations, bootstrap, line and onset measures, tables, verdicts.

The measures are checked on constructed cases whose answer is known independently: a hand-built feature that
responds only to pitch class, arrays with an exact correlation, a seeded bootstrap, line images against
textures, and filters that pass or smooth onsets.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

from auralisation.analysis import (
    ATTRIBUTES,
    FLOOR,
    Responses,
    active_frames,
    analyse,
    attribute_pairs,
    bootstrap_ci,
    clip_correlations,
    correlation_table,
    extreme_features,
    invariance_index,
    invariance_matrix,
    line_share,
    line_shares,
    onset_extremes,
    onset_frames,
    onset_log_ratio,
    onset_masks,
    pair_correlations,
    pearson,
    records,
    select_stimuli,
    summarise_findings,
    write_csv,
)
from auralisation.audio import AudioConfig, magnitude
from auralisation.errors import AuralisationError

KEYS = {"Bb2": -2, "Eb2": -9, "A3": 9, "G4": 19}
INSTRUMENTS = ("sine", "piano", "acoustic_guitar", "electric_guitar", "saxophone", "strings")
CHORDS = {  # pitch classes above the root of each chord group (stand-ins for the real groups)
    "intervals": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
    "major_minor": (0, 4, 7, 3),
    "sus4_major7": (0, 5, 7, 4, 11),
    "dom7_min7": (0, 4, 7, 10, 3),
    "dim7": (0, 3, 6, 9),
}
DRUMS = ("4beat", "8beat", "16beat", "fills")


@dataclasses.dataclass(frozen=True)
class FakeStimulus:
    """The fields of auralisation.synth.Stimulus that the analysis reads."""

    name: str
    kind: str
    key: str | None
    key_semitones: int | None
    instrument: str
    chord_group: str | None
    drum_pattern: str | None = None
    path: Path = Path("unused.wav")
    notes: tuple = ()


def grid(keys=KEYS, instruments=INSTRUMENTS, chords=CHORDS, drums=DRUMS) -> list[FakeStimulus]:
    """The paper's stimulus grid: keys x instruments x chord groups, then the drum clips."""
    stimuli = [
        FakeStimulus(f"{k}_{i}_{c}", "harmonic", k, keys[k], i, c)
        for k, i, c in itertools.product(keys, instruments, chords)
    ]
    return stimuli + [FakeStimulus(f"drums_{d}", "drums", None, None, "drums", None, d) for d in drums]


# ----------------------------------------------------------------------------------------------- pairs


def real_grid() -> list:
    """The synth package's own specification of the 124 stimuli (nothing rendered)."""
    from auralisation.synth.stimuli import stimulus_clips

    return stimulus_clips()


def test_pairs_on_the_paper_grid_have_the_expected_counts():
    stimuli = real_grid()
    assert len(stimuli) == 124
    counts = {attribute: len(attribute_pairs(stimuli, attribute)) for attribute in (*ATTRIBUTES, FLOOR)}
    # key: C(4,2) per (instrument, chord) = 6 * 30; chord: C(5,2) * 24; instrument: C(6,2) * 20;
    # floor: each of 120 clips differs in all three from 3 * 5 * 4 = 60 others, each pair counted once.
    assert counts == {"key": 180, "chord_group": 240, "instrument": 300, FLOOR: 3600}


@pytest.mark.parametrize("attribute", [*ATTRIBUTES, FLOOR])
def test_pairs_differ_in_exactly_the_named_attribute(attribute):
    stimuli = real_grid()
    pairs = attribute_pairs(stimuli, attribute)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert len({tuple(p) for p in pairs.tolist()}) == len(pairs)
    for i, j in pairs:
        a, b = stimuli[i], stimuli[j]
        assert a.kind == b.kind == "harmonic"
        differs = {name: getattr(a, name) != getattr(b, name) for name in ATTRIBUTES}
        if attribute == FLOOR:
            assert all(differs.values())
        else:
            assert differs == {name: name == attribute for name in ATTRIBUTES}


def test_pairs_reject_an_unknown_attribute():
    with pytest.raises(AuralisationError, match="tempo"):
        attribute_pairs(grid(), "tempo")


def test_select_stimuli_keeps_the_chosen_subgrid_and_the_drums():
    chosen = select_stimuli(grid(), keys=["Bb2", "A3"], instruments=["sine", "piano"])
    harmonic = [s for s in chosen if s.kind == "harmonic"]
    assert len(harmonic) == 2 * 2 * 5 and len(chosen) == 20 + 4
    assert {s.key for s in harmonic} == {"Bb2", "A3"}
    assert len(attribute_pairs(chosen, "key")) == 1 * 2 * 5
    assert len(select_stimuli(grid(), keys=["G4"], drums=False)) == 30


# ------------------------------------------------------------------------------------------ correlation


@pytest.mark.parametrize("rho", [-0.8, 0.0, 0.3, 0.95])
def test_pearson_recovers_a_constructed_correlation_exactly(rho):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(50)
    z = rng.standard_normal(50)
    x -= x.mean()
    z -= z.mean()
    z -= (z @ x) / (x @ x) * x  # orthogonal to x, so corr(x, y) is exactly rho
    y = rho * x / np.linalg.norm(x) + np.sqrt(1 - rho**2) * z / np.linalg.norm(z)
    assert pearson(x, 3.0 * y + 7.0) == pytest.approx(rho, abs=1e-12)


def test_pearson_matches_numpy_row_by_row_and_flags_constant_vectors():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 5, 9))
    expected = [np.corrcoef(a[i], b[i])[0, 1] for i in range(5)]
    np.testing.assert_allclose(pearson(a, b), expected, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = pearson(np.array([[0.0, 0, 0], [0.3, 0.3, 0.3], [1, 2, 3]]), np.array([[1.0, 2, 3]] * 3))
    assert np.isnan(r[0]) and np.isnan(r[1]) and r[2] == pytest.approx(1.0)


def test_pair_correlations_index_the_right_clips():
    rng = np.random.default_rng(3)
    responses = rng.standard_normal((4, 3, 6))
    pairs = np.array([[0, 2], [1, 3]])
    r = pair_correlations(responses, pairs)
    assert r.shape == (2, 3)
    assert r[1, 2] == pytest.approx(np.corrcoef(responses[1, 2], responses[3, 2])[0, 1])
    with pytest.raises(AuralisationError, match="only 4 clips"):
        pair_correlations(responses, np.array([[0, 4]]))


def test_clip_correlations_match_numpy_for_every_pair_and_check_their_inputs():
    rng = np.random.default_rng(10)
    responses = rng.standard_normal((5, 2, 7))
    responses[3, 1] = 0.0  # a silent feature on clip 3
    matrix = clip_correlations(responses)
    assert matrix.shape == (2, 5, 5)
    for f, i, j in itertools.product(range(2), range(5), range(5)):
        if f == 1 and 3 in (i, j):
            assert np.isnan(matrix[f, i, j])
        else:
            assert matrix[f, i, j] == pytest.approx(np.corrcoef(responses[i, f], responses[j, f])[0, 1], abs=1e-12)
    with pytest.raises(AuralisationError, match="124 stimuli"):
        correlation_table({"pool1": responses}, grid())
    with pytest.raises(AuralisationError, match="n_clips, n_features, d"):
        clip_correlations(responses[:, 0])


def _chroma(stimulus: FakeStimulus) -> np.ndarray:
    """A pitch-class histogram of the stimulus's notes: a feature that hears only pitch class."""
    vector = np.zeros(12)
    for step, interval in enumerate(CHORDS[stimulus.chord_group]):
        vector[(stimulus.key_semitones + interval) % 12] += 1.0 + step  # weights make chord groups distinct
    return vector


def test_a_pitch_class_feature_is_key_invariant_and_an_instrument_feature_is_not():
    keys = {"C3": 0, "C4": 12, "C5": 24}  # keys an octave apart: the same pitch classes
    instruments = ("sine", "piano", "strings")
    stimuli = grid(keys=keys, instruments=instruments)
    one_hot = {name: np.eye(12)[i] for i, name in enumerate(instruments)}  # hears only the instrument
    harmonic = [s for s in stimuli if s.kind == "harmonic"]
    responses = np.zeros((len(stimuli), 2, 12))
    for index, stimulus in enumerate(harmonic):
        responses[index, 0] = _chroma(stimulus)
        responses[index, 1] = one_hot[stimulus.instrument]
    matrix = invariance_matrix(responses, stimuli)
    columns = {name: i for i, name in enumerate((*ATTRIBUTES, FLOOR))}
    # pitch-class feature: identical across octave keys and across instruments
    assert matrix[0, columns["key"]] == pytest.approx(1.0)
    assert matrix[0, columns["instrument"]] == pytest.approx(1.0)
    chord_pairs = attribute_pairs(stimuli, "chord_group")
    expected_chord = np.mean([np.corrcoef(_chroma(stimuli[i]), _chroma(stimuli[j]))[0, 1] for i, j in chord_pairs])
    assert matrix[0, columns["chord_group"]] == pytest.approx(expected_chord)
    assert expected_chord < 0.9
    # instrument feature: two different one-hot vectors of length 12 correlate at exactly -1/11
    assert matrix[1, columns["instrument"]] == pytest.approx(-1 / 11)
    assert matrix[1, columns["key"]] == pytest.approx(1.0)
    assert matrix[1, columns[FLOOR]] == pytest.approx(-1 / 11)
    rows = correlation_table({"hand": responses}, stimuli, n_boot=50)
    by_attribute = {row.attribute: row for row in rows}
    assert by_attribute["key"].mean == pytest.approx(1.0)
    assert by_attribute["instrument"].mean == pytest.approx((1.0 - 1 / 11) / 2)
    assert by_attribute["key"].n_pairs == 3 * 3 * 5 and by_attribute["key"].n_features == 2
    index = invariance_index(matrix)
    assert index[1, 0] == pytest.approx(1.0) and index[1, 2] == pytest.approx(0.0)


# -------------------------------------------------------------------------------------------- bootstrap


def test_bootstrap_interval_covers_the_truth_and_narrows_with_more_samples():
    rng = np.random.default_rng(4)
    small = bootstrap_ci(rng.normal(0.3, 1.0, 200), n_boot=2000, seed=0)
    large = bootstrap_ci(rng.normal(0.3, 1.0, 5000), n_boot=2000, seed=0)
    assert small.covers(0.3) and large.covers(0.3)
    assert large.width < small.width / 3  # width shrinks like 1/sqrt(n): sqrt(25) = 5
    assert small.width == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.2)


def test_bootstrap_coverage_is_near_the_nominal_level():
    rng = np.random.default_rng(5)
    hits = [bootstrap_ci(rng.exponential(1.0, 80), n_boot=400, seed=s).covers(1.0) for s in range(300)]
    assert 0.88 <= np.mean(hits) <= 0.98


def test_bootstrap_is_reproducible_and_handles_edge_cases():
    values = np.array([1.0, np.nan, 2.0, 4.0])
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values).n == 3 and bootstrap_ci(values).mean == pytest.approx(7 / 3)
    empty = bootstrap_ci(np.array([np.nan]))
    assert empty.n == 0 and np.isnan(empty.mean)
    single = bootstrap_ci(np.array([0.5]))
    assert single.low == single.high == 0.5
    with pytest.raises(AuralisationError, match="level"):
        bootstrap_ci(values, level=95)


# ----------------------------------------------------------------------------------------- line measure


def _line_image() -> np.ndarray:
    """Held partials (horizontal) and onsets (vertical), like a spectrogram of struck chords."""
    image = np.zeros((257, 173))
    for start in range(2, 173, 43):
        image[[20, 40, 60, 80, 100], start : start + 38] = 1.0
        image[:120, start] += 1.0
    return image


def test_line_measure_ranks_lines_above_textures():
    rng = np.random.default_rng(6)
    noise = rng.standard_normal((257, 173))
    smooth = scipy.ndimage.gaussian_filter(noise, 3.0)
    assert line_share(_line_image()) > 0.8
    assert abs(line_share(noise)) < 0.05
    assert abs(line_share(smooth)) < 0.15
    assert line_share(_line_image()) > line_share(np.abs(noise)) + 0.7


def test_line_shares_tell_horizontal_from_vertical_lines():
    horizontal = np.zeros((257, 173))
    horizontal[[30, 90, 150]] = 1.0
    vertical = np.zeros((257, 173))
    vertical[:, [30, 90, 150]] = 1.0
    batch = line_shares(np.stack([horizontal, vertical]))
    assert batch.shape == (2, 2)
    assert batch[0, 0] > 0.95 and abs(batch[0, 1]) < 0.1
    assert batch[1, 1] > 0.95 and abs(batch[1, 0]) < 0.1
    np.testing.assert_allclose(batch.sum(axis=-1), line_share(np.stack([horizontal, vertical])))
    assert np.isnan(line_share(np.ones((20, 20))))


# ---------------------------------------------------------------------------------------- onset measure


CONFIG = AudioConfig()


def _plucked_notes() -> tuple[np.ndarray, list[float]]:
    """Four decaying harmonic notes with sharp attacks; returns the clip and the note starts in seconds."""
    sr = CONFIG.sr
    t = np.arange(CONFIG.n_samples) / sr
    starts = [0.25, 1.25, 2.25, 3.25]
    y = np.zeros_like(t)
    for start, f0 in zip(starts, [220.0, 330.0, 262.0, 392.0]):
        local = t - start
        envelope = np.where(local >= 0, np.exp(-np.maximum(local, 0) * 4.0), 0.0)
        y += envelope * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
    return (0.3 * y).astype(np.float32), starts


def test_onset_frames_find_the_note_starts():
    y, starts = _plucked_notes()
    onsets = onset_frames(y, CONFIG)
    expected = np.round(np.array(starts) * CONFIG.sr / CONFIG.hop_length)
    assert len(onsets) == len(starts)
    assert np.all(np.abs(onsets - expected) <= 2)


def test_onset_measure_ranks_an_onset_passing_filter_above_a_smoothing_one():
    y, _ = _plucked_notes()
    S = magnitude(y, CONFIG)
    masks = onset_masks(onset_frames(y, CONFIG), active_frames(S))
    assert masks[0].sum() >= 8 and masks[1].sum() >= 40 and not (masks[0] & masks[1]).any()
    passes_vertical_lines = np.array([[-1.0, 2.0, -1.0]] * 3) / 3.0  # high-pass along time
    smooths = np.ones((3, 9)) / 27.0  # low-pass along time
    D = np.stack([scipy.signal.convolve2d(S, k, mode="same") for k in (passes_vertical_lines, smooths)])
    ratio = onset_log_ratio(D, *masks, reference=S)
    assert ratio.shape == (2,)
    assert ratio[0] > 1.0 > 0.0 > ratio[1]
    assert onset_log_ratio(S, *masks, reference=S) == pytest.approx(0.0)


def test_onset_masks_and_ratio_edge_cases():
    active = np.ones(20, dtype=bool)
    onset, sustained = onset_masks(np.array([5]), active, width=1, guard=3)
    assert np.flatnonzero(onset).tolist() == [4, 5, 6]
    assert not sustained[2:9].any() and sustained[9:].all() and sustained[:2].all()
    no_onset = onset_masks(np.array([], dtype=int), active)
    assert not no_onset[0].any() and no_onset[1].all()
    assert np.isnan(onset_log_ratio(np.ones((3, 20)), *no_onset))


# ------------------------------------------------------------------------------------ tables and verdict


def test_write_csv_round_trips_and_rejects_ragged_rows(tmp_path):
    rows = correlation_table({"pool1": np.random.default_rng(8).standard_normal((124, 2, 5))}, grid(), n_boot=20)
    path = write_csv(rows, tmp_path / "sub" / "table.csv")
    with open(path, newline="") as handle:
        read = list(csv.DictReader(handle))
    assert [r["attribute"] for r in read] == [*ATTRIBUTES, FLOOR]
    assert float(read[0]["mean"]) == pytest.approx(rows[0].mean)
    assert [p.name for p in path.parent.iterdir()] == ["table.csv"]  # no temporary file left behind
    with pytest.raises(AuralisationError, match="row 1"):
        write_csv([{"a": 1}, {"b": 2}], tmp_path / "bad.csv")
    with pytest.raises(AuralisationError, match="empty"):
        write_csv([], tmp_path / "empty.csv")
    assert records([{"a": 1}]) == [{"a": 1}]


def _synthetic_responses(label: str, learned: bool) -> Responses:
    """Two layers on a small grid. If ``learned``: layer 2's features hear only the instrument, except feature 0,
    which hears only the chord; its deconvolutions are textures where layer 1's are lines; and layer 1 has an
    onset suppressor (feature 1) and an onset detector (feature 2). Otherwise all is noise."""
    stimuli = grid(keys={"Bb2": -2, "A3": 9}, instruments=("sine", "piano", "strings"))
    rng = np.random.default_rng(9)
    n, f = len(stimuli), 4
    first = rng.random((n, f, 16))
    if learned:
        by_instrument = {name: rng.random((f, 8)) for name in ("sine", "piano", "strings", "drums")}
        second = np.stack([by_instrument[s.instrument] for s in stimuli]) + 0.01 * rng.random((n, f, 8))
        by_chord = {name: rng.random(8) for name in (*CHORDS, None)}
        second[:, 0] = np.stack([by_chord[s.chord_group] for s in stimuli])  # feature 0: hears only the chord
    else:
        second = rng.random((n, f, 8))
    line = 0.6 if learned else 0.0
    lines = {"pool1": line / 2 + 0.05 * rng.random((n, f, 2)), "pool2": 0.05 * rng.random((n, f, 2))}
    onset = rng.normal(0.0, 0.05, (n, f))
    if learned:
        onset[:, 1] -= 1.0
        onset[:, 2] += 1.0
    features = {"pool1": np.arange(f), "pool2": np.arange(f)}
    return Responses(
        label=label, stimuli=stimuli, layers=["pool1", "pool2"], features=features,
        activation={"pool1": first, "pool2": second}, deconvolution={}, lines=lines,
        onset={"pool1": onset, "pool2": onset}, input_lines=np.full((n, 2), 0.4),
    )


def test_summary_reports_reproduced_findings_with_their_numbers(tmp_path):
    trained = analyse(_synthetic_responses("trained", learned=True), n_boot=200)
    control = analyse(_synthetic_responses("untrained", learned=False), n_boot=200)
    text = summarise_findings(trained, control)
    verdicts = dict(line[2:].split(": ", 1) for line in text.splitlines()[text.splitlines().index(
        "Verdicts (paper's claim: this model | untrained control)") + 1 :])
    assert set(verdicts.values()) == {"REPRODUCED | not in the untrained control (so it was learned)"}
    assert len(verdicts) == 4
    same = summarise_findings(trained, analyse(_synthetic_responses("copy", learned=True), n_boot=200))
    assert same.count("| holds in the untrained control too (the architecture, not the training, produces it)") == 4
    key_row = trained.correlation("pool2", "key")
    assert f"{key_row.mean:.3f}" in text and key_row.mean > 0.99
    assert [(row.layer, row.depth) for row in trained.lines if row.orientation == "total"] == [
        ("input", 0), ("pool1", 1), ("pool2", 2)]
    assert trained.line("input").mean == pytest.approx(0.8) and trained.line("input", "vertical").mean == 0.4
    suppressors, detectors = onset_extremes(trained.onsets, k=1)
    assert suppressors[0].feature == 1 and detectors[0].feature == 2
    rare = dataclasses.replace(detectors[0], feature=99, mean=9.0, n_clips=2)  # a feature silent on most clips
    assert onset_extremes([*trained.onsets, rare], k=1)[1][0].feature == 2
    assert extreme_features(trained, "pool2", "instrument")[0] == 0
    assert "Features of pool2 invariant to (index >= 0.5): key 4/4, chord 3/4, instrument 1/4" in text
    written = trained.write(tmp_path)
    assert [p.name for p in written] == ["trained_correlations.csv", "trained_lines.csv", "trained_onsets.csv"]


# ---------------------------------------------------------------------------------------------- figures


def test_figures_draw_the_table_values():
    from auralisation import plotting

    trained = analyse(_synthetic_responses("trained", learned=True), n_boot=50)
    control = analyse(_synthetic_responses("untrained", learned=False), n_boot=50)
    ax = plotting.correlation_by_layer(trained.correlations + control.correlations)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert len(lines) == 8  # 4 attributes x 2 models
    key = lines["key (trained)"]
    expected = [trained.correlation(layer, "key").mean for layer in ("pool1", "pool2")]
    np.testing.assert_allclose(key.get_ydata(), expected)
    assert lines["key (untrained)"].get_linestyle() == "--"
    heat = plotting.invariance_heatmap(trained, "pool2")
    shown = heat.images[0].get_array()
    np.testing.assert_allclose(shown.filled(np.nan), invariance_index(trained.invariance["activation"]["pool2"]).T)
    assert len(plotting.invariance_grid(trained).axes) == 2 * 2  # a heat map and a colour bar per layer
    lines_ax = plotting.line_share_by_layer(trained.lines)
    total = {line.get_label(): line for line in lines_ax.get_lines()}["total"]
    np.testing.assert_allclose(total.get_ydata(), [trained.line(layer).mean for layer in ("input", "pool1", "pool2")])
    bars = plotting.onset_sensitivity(trained.onsets, k=1).patches
    heights = [bar.get_height() for bar in bars]
    assert heights == sorted(heights) and heights[0] == pytest.approx(onset_extremes(trained.onsets, 1)[0][0].mean)
    with pytest.raises(AuralisationError, match="deconvolution"):
        plotting.correlation_by_layer(trained.correlations, representation="deconvolution")


# ------------------------------------------------------------------------------- responses of a real model


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 4-filter choi2016 (seed 0) over six plucked-note clips: two keys x three instruments (timbres)."""
    from auralisation.analysis import compute_responses
    from auralisation.audio import write_wav
    from auralisation.models import choi2016

    folder = tmp_path_factory.mktemp("stimuli")
    t = np.arange(CONFIG.n_samples) / CONFIG.sr
    stimuli = []
    for (key, semitones), (instrument, harmonics) in itertools.product(
        {"C3": 0, "G3": 7}.items(), {"sine": (1,), "reed": (1, 3, 5), "string": (1, 2, 3, 4)}.items()
    ):
        f0 = 130.8 * 2 ** (semitones / 12)
        envelope = np.exp(-4.0 * (t % 1.0))
        y = 0.2 * envelope * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in harmonics)
        path = write_wav(folder / f"{instrument}_{key}.wav", y.astype(np.float32), CONFIG.sr, normalize="none")
        stimuli.append(FakeStimulus(path.stem, "harmonic", key, semitones, instrument, "plucks", path=path))
    model = choi2016(CONFIG, 3, width=4, seed=0)
    responses = compute_responses(model, stimuli, CONFIG, label="tiny", layers=[1, "pool3"], n_features=3,
                                  progress=False)
    return model, stimuli, responses


def test_responses_match_an_independent_forward_pass_and_the_deconvolution(tiny_run):
    import keras

    from auralisation.audio import compress, load_clip
    from auralisation.deconv import deconvolve

    model, stimuli, responses = tiny_run
    assert responses.layers == ["pool1", "pool3"]
    assert responses.features["pool3"].tolist() == [0, 1, 2]
    assert responses.activation["pool1"].shape == (6, 3, 128)
    assert responses.activation["pool3"].shape == (6, 3, 32)
    assert responses.deconvolution["pool3"].shape == (6, 3, 257)
    probe = keras.Model(model.input, model.get_layer("pool3").output)
    y = load_clip(stimuli[4].path, CONFIG)
    S = magnitude(y, CONFIG)
    maps = probe(S[None, ..., None]).numpy()[0]  # (rows, columns, channels)
    np.testing.assert_allclose(responses.activation["pool3"][4], maps[..., :3].mean(axis=1).T, rtol=1e-4, atol=1e-6)
    D = deconvolve(model, S, "pool3", [0, 1, 2])
    np.testing.assert_allclose(responses.deconvolution["pool3"][4], np.abs(D).mean(axis=-1), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(responses.lines["pool3"][4], line_shares(D), rtol=1e-4, atol=1e-6)
    masks = onset_masks(onset_frames(y, CONFIG), active_frames(S))
    expected = onset_log_ratio(D, *masks, reference=compress(S, CONFIG.scaling))
    np.testing.assert_allclose(responses.onset["pool3"][4], expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(responses.input_lines[4], line_shares(compress(S, CONFIG.scaling)), rtol=1e-5)


def test_analysis_of_a_real_model_runs_end_to_end(tiny_run, tmp_path):
    from auralisation.analysis import feature_audio, untrained_copy

    model, stimuli, responses = tiny_run
    result = analyse(responses, n_boot=50)
    assert {row.n_pairs for row in result.correlations if row.attribute == "key"} == {3}
    assert {row.n_pairs for row in result.correlations if row.attribute == "instrument"} <= {6}
    assert result.invariance["deconvolution"]["pool3"].shape == (3, 4)
    assert "Model 'tiny'" in summarise_findings(result)
    copy = untrained_copy(model)
    assert all(np.array_equal(a, b) for a, b in zip(copy.get_weights(), model.get_weights()))  # never trained
    audio = feature_audio(model, stimuli[0], 1, 2, CONFIG)
    assert audio.shape == (CONFIG.n_samples,) and np.isfinite(audio).all() and np.abs(audio).max() > 0


def test_responses_reject_unknown_layers_and_features(tiny_run):
    from auralisation.analysis import compute_responses
    from auralisation.errors import ModelError

    model, stimuli, _ = tiny_run
    with pytest.raises(ModelError, match="block 9"):
        compute_responses(model, stimuli[:1], CONFIG, layers=[9], progress=False)
    with pytest.raises(ModelError, match="out of range"):
        compute_responses(model, stimuli[:1], CONFIG, layers=[1], features=[7], progress=False)
    with pytest.raises(ModelError, match="no stimuli"):
        compute_responses(model, [], CONFIG, progress=False)


def test_analyse_command_writes_tables_and_summary(tiny_run, tmp_path, monkeypatch, capsys):
    import argparse

    from auralisation import synth
    from auralisation.cli.analyse import add_analyse_arguments, run_analyse
    from auralisation.io import save_model

    model, stimuli, _ = tiny_run
    save_model(tmp_path / "model", model, CONFIG, ["a", "b", "c"])
    (tmp_path / "stimuli").mkdir()
    (tmp_path / "stimuli" / "manifest.json").write_text("{}")  # present, so nothing is rendered
    monkeypatch.setattr(synth, "load_stimuli", lambda folder: stimuli)
    parser = argparse.ArgumentParser()
    add_analyse_arguments(parser)
    args = parser.parse_args(["--model", str(tmp_path / "model"), "--stimuli", str(tmp_path / "stimuli"),
                              "--out", str(tmp_path / "out"), "--n-layers", "1", "--n-features", "2", "--n-boot", "20", "--quiet"])
    assert run_analyse(args) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    tables = [f"{label}_{table}.csv" for label in ("trained", "untrained") for table in ("correlations", "lines")]
    assert names == sorted([*tables, "trained_onsets.csv", "untrained_onsets.csv", "summary.txt"])
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "Model 'trained'" in summary and "Model 'untrained'" in summary
    assert summary.strip() in capsys.readouterr().out


def test_onset_verdict_does_not_hinge_on_the_noisiest_extreme_feature():
    responses = _synthetic_responses("trained", learned=True)
    noisy = responses.onset["pool1"].copy()
    # Feature 0 has the lowest mean of all (-3) but an interval that crosses 0; feature 1 is a clear suppressor.
    noisy[:, 0] = np.where(np.arange(noisy.shape[0]) % 2 == 0, -20.0, 14.0)
    responses = dataclasses.replace(responses, onset={"pool1": noisy, "pool2": noisy})
    analysis = analyse(responses, n_boot=200)
    suppressors, _ = onset_extremes(analysis.onsets)
    assert suppressors[0].feature == 0 and suppressors[0].high > 0.0  # the premise: the extreme one is noisy
    text = summarise_findings(analysis)
    assert "- layer 1 has attack suppressors and onset detectors: REPRODUCED" in text
    flat = dataclasses.replace(responses, onset={"pool1": noisy * 0.0, "pool2": noisy * 0.0})
    assert "- layer 1 has attack suppressors and onset detectors: NOT REPRODUCED" in summarise_findings(
        analyse(flat, n_boot=200))
