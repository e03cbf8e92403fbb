"""Tests of auralisation.study: the verdict rules on responses whose answer is known, the report and README block,
and the study end to end (tiny), resumed without training or analysing again.

The synthetic responses are built so that each effect is known by hand: a layer that hears only the key has an
invariance index to key of exactly 0 (key pairs and floor pairs cover every pair of keys equally often) and to
chord and instrument of exactly 1 (pairs that keep the key give identical responses); constant line shares give a
known difference; a known number of features beyond the onset threshold gives a known share.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from auralisation.analysis import Responses
from auralisation.errors import ModelError, ParameterError
from auralisation.study import (
    BEGIN,
    CONTRADICTED,
    CRITERIA,
    END,
    HOLDS,
    UNCLEAR,
    Rule,
    RunRecord,
    StudySettings,
    VerdictRow,
    describe,
    evaluate,
    replace_block,
    summarise,
    write_reports,
)
from auralisation.analysis.measures import ONSET_THRESHOLD
from auralisation.study.criteria import evaluate_control
from auralisation.study.runner import CONTROL


@dataclasses.dataclass(frozen=True)
class Clip:
    """The fields of auralisation.synth.Stimulus that the analysis reads."""

    name: str
    key: str | None
    chord_group: str | None
    instrument: str
    kind: str = "harmonic"
    path: Path = Path("unused.wav")


KEYS, INSTRUMENTS, CHORDS = ("Bb2", "Eb2", "A3", "G4"), ("sine", "piano", "strings"), ("g1", "g2", "g3", "g4", "g5")
STIMULI = [Clip(f"{i}_{k}_{c}", k, c, i) for k, i, c in itertools.product(KEYS, INSTRUMENTS, CHORDS)]
N_FEATURES, N_ROWS = 8, 12


def _hears(attribute: str, rng: np.random.Generator) -> np.ndarray:
    """Responses ``(n_clips, N_FEATURES, N_ROWS)`` that depend on ``attribute`` alone (a random profile per value)."""
    profiles = {}
    return np.stack([profiles.setdefault(getattr(s, attribute), rng.random((N_FEATURES, N_ROWS))) for s in STIMULI])


def _responses(first: np.ndarray, second: np.ndarray, *, lines=(0.6, 0.1), onset: np.ndarray | None = None,
               label: str = "synthetic") -> Responses:
    """Two layers with the given activations, constant total line shares per layer, and layer-1 onset ratios."""
    n = len(STIMULI)
    shares = {layer: np.full((n, first.shape[1], 2), value / 2) for layer, value in zip(("pool1", "pool2"), lines)}
    onset = np.zeros((n, first.shape[1])) if onset is None else onset
    return Responses(
        label=label, stimuli=STIMULI, layers=["pool1", "pool2"],
        features={"pool1": np.arange(first.shape[1]), "pool2": np.arange(second.shape[1])},
        activation={"pool1": first, "pool2": second}, deconvolution={}, lines=shares,
        onset={"pool1": onset, "pool2": onset}, input_lines=np.full((n, 2), 0.4),
    )


def _by_key(verdicts):
    return {v.criterion: v for v in verdicts}


# ------------------------------------------------------------------------------------------------- the rules


def test_criteria_and_their_rules_are_the_ones_stated_in_advance():
    # Pinned: changing a threshold or a direction must change this test, not slip through.
    rules = {c.key: (c.rule.lower, c.rule.upper) for c in CRITERIA}
    assert rules == {
        "key_rises": (0.0, None), "chord_rises": (0.0, None), "key_over_instrument": (0.0, None),
        "chord_over_instrument": (0.0, None), "instrument_some": (0.05, 0.95), "lines_fall": (0.0, None),
        "attack_suppressors": (0.05, None), "onset_detectors": (0.05, None),
    }
    assert ONSET_THRESHOLD == 0.1
    assert all(c.finding and c.effect and "95 % interval" in c.rule.text for c in CRITERIA)


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.01, 0.2, HOLDS), (-0.2, -0.01, CONTRADICTED), (-0.01, 0.2, UNCLEAR), (0.0, 0.2, UNCLEAR),
    (-0.2, 0.0, UNCLEAR), (np.nan, np.nan, UNCLEAR),
])
def test_the_above_zero_rule_needs_the_whole_interval_on_one_side(low, high, expected):
    assert Rule(0.0).decide(low, high) == expected


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.1, 0.5, HOLDS), (0.0, 0.04, CONTRADICTED), (0.96, 1.0, CONTRADICTED), (0.02, 0.5, UNCLEAR),
    (0.5, 0.97, UNCLEAR),
])
def test_the_between_rule_holds_only_strictly_inside(low, high, expected):
    assert Rule(0.05, 0.95).decide(low, high) == expected


# ----------------------------------------------------------------------------- verdicts on known responses


def test_a_key_invariant_deep_layer_holds_and_a_chord_variant_one_is_contradicted():
    rng = np.random.default_rng(1)
    # layer 1 hears only the key; layer 2 only the chord: invariance to key rises from exactly 0 to exactly 1,
    # invariance to chord falls from exactly 1 to exactly 0; layer 2 ignores key and instrument alike.
    verdicts = _by_key(evaluate(_responses(_hears("key", rng), _hears("chord_group", rng)), n_boot=300))
    assert verdicts["key_rises"].effect == pytest.approx(1.0)
    assert verdicts["key_rises"].verdict == HOLDS and verdicts["key_rises"].low > 0.5
    assert verdicts["chord_rises"].effect == pytest.approx(-1.0)
    assert verdicts["chord_rises"].verdict == CONTRADICTED and verdicts["chord_rises"].high < -0.5
    assert verdicts["key_over_instrument"].effect == pytest.approx(0.0)  # both exactly 1 in every resample
    assert verdicts["key_over_instrument"].verdict == UNCLEAR
    assert verdicts["chord_over_instrument"].effect == pytest.approx(-1.0)
    assert verdicts["chord_over_instrument"].verdict == CONTRADICTED
    assert verdicts["key_rises"].n == len(STIMULI)  # the units resampled are the clips, not the pairs


def test_an_interval_straddling_zero_is_unclear_not_a_verdict():
    rng = np.random.default_rng(3)
    noise = _responses(rng.random((len(STIMULI), N_FEATURES, N_ROWS)), rng.random((len(STIMULI), N_FEATURES, N_ROWS)))
    verdict = _by_key(evaluate(noise, n_boot=300))["key_rises"]
    assert verdict.low < 0.0 < verdict.high  # the premise: no effect, an interval around 0
    assert abs(verdict.effect) < 0.1 and verdict.verdict == UNCLEAR


def test_instrument_share_counts_features_and_needs_some_of_each():
    rng = np.random.default_rng(2)
    first = _hears("key", rng)
    mixed = np.concatenate([_hears("chord_group", rng)[:, :4], _hears("instrument", rng)[:, 4:]], axis=1)
    verdict = _by_key(evaluate(_responses(first, mixed), n_boot=300))["instrument_some"]
    assert verdict.effect == pytest.approx(0.5) and verdict.verdict == HOLDS  # 4 of 8 ignore the instrument
    every = _by_key(evaluate(_responses(first, _hears("chord_group", rng)), n_boot=300))["instrument_some"]
    assert every.effect == pytest.approx(1.0) and every.verdict == CONTRADICTED  # all, not "some, some not"


def test_line_fall_is_the_difference_of_the_layers_line_shares():
    rng = np.random.default_rng(4)
    first, second = _hears("key", rng), _hears("chord_group", rng)
    with_silent = _responses(first, second, lines=(0.6, 0.1))
    with_silent.lines["pool2"][:, 0] = np.nan  # a feature silent at the last layer: left out, as in line_table
    falls = _by_key(evaluate(with_silent, n_boot=100))["lines_fall"]
    assert (falls.effect, falls.low, falls.high, falls.verdict) == (pytest.approx(0.5), pytest.approx(0.5),
                                                                     pytest.approx(0.5), HOLDS)
    rises = _by_key(evaluate(_responses(first, second, lines=(0.1, 0.6)), n_boot=100))["lines_fall"]
    assert rises.effect == pytest.approx(-0.5) and rises.verdict == CONTRADICTED


def test_onset_criteria_count_a_share_of_features_and_one_feature_is_not_enough():
    rng = np.random.default_rng(5)
    first, second = _hears("key", rng), _hears("chord_group", rng)
    onset = rng.normal(0.0, 0.01, (len(STIMULI), N_FEATURES))
    onset[:, :2] -= 0.5  # two attack suppressors
    onset[:, 2] += 0.5  # one onset detector
    verdicts = _by_key(evaluate(_responses(first, second, onset=onset), n_boot=300))
    assert verdicts["attack_suppressors"].effect == pytest.approx(2 / N_FEATURES)
    assert verdicts["onset_detectors"].effect == pytest.approx(1 / N_FEATURES)
    assert verdicts["attack_suppressors"].verdict == verdicts["onset_detectors"].verdict == HOLDS
    wide = 40  # one detector among 40 features: a share of 0.025, below the rule's 0.05
    one = np.zeros((len(STIMULI), wide))
    one[:, 0] = 0.5
    lone = _responses(np.repeat(first[:, :1], wide, axis=1), np.repeat(second[:, :1], wide, axis=1), onset=one)
    verdict = _by_key(evaluate(lone, n_boot=100))["onset_detectors"]
    assert verdict.effect == pytest.approx(1 / wide) and verdict.verdict == CONTRADICTED


def test_an_effect_the_untrained_copy_shows_as_much_is_not_learned():
    rng = np.random.default_rng(7)
    key, chord = _hears("key", rng), _hears("chord_group", rng)
    onset = rng.normal(0.0, 0.01, (len(STIMULI), N_FEATURES))
    onset[:, :4] += 0.5  # half the features detect onsets, in both networks: random filters do this too
    trained = _responses(key, chord, onset=onset, label="trained")
    same = _responses(key, chord, onset=onset, label="untrained")
    holds = _by_key(evaluate(trained, n_boot=200))
    control = _by_key(evaluate_control(trained, same, n_boot=200))
    assert holds["onset_detectors"].verdict == holds["key_rises"].verdict == HOLDS
    for name in ("onset_detectors", "key_rises"):  # identical networks: a paired difference of exactly 0
        assert (control[name].effect, control[name].low, control[name].high) == (0.0, 0.0, 0.0)
        assert control[name].verdict == UNCLEAR
    flat = _responses(_hears("key", rng), _hears("key", rng), onset=np.zeros_like(onset), label="untrained")
    learned = _by_key(evaluate_control(trained, flat, n_boot=200))
    assert learned["key_rises"].effect == pytest.approx(1.0) and learned["key_rises"].verdict == HOLDS
    assert learned["onset_detectors"].effect == pytest.approx(0.5) and learned["onset_detectors"].verdict == HOLDS
    assert learned["key_rises"].n == len(STIMULI)


def test_the_control_pairs_its_resamples():
    rng = np.random.default_rng(8)
    a = _responses(_hears("key", rng), _hears("chord_group", rng))
    per_clip = rng.uniform(0.1, 0.9, len(STIMULI))  # line shares that vary a lot from clip to clip
    lines = {"pool1": np.repeat(per_clip[:, None, None] / 2, N_FEATURES, axis=1).repeat(2, axis=2),
             "pool2": np.zeros((len(STIMULI), N_FEATURES, 2))}
    b = dataclasses.replace(a, lines=lines)
    a = dataclasses.replace(a, lines={"pool1": lines["pool1"] + 0.05, "pool2": lines["pool2"]})
    # the trained network's line fall is the untrained one's plus 0.1 on every clip: paired, exactly 0.1 always
    paired = _by_key(evaluate_control(a, b, n_boot=300))["lines_fall"]
    assert (paired.effect, paired.low, paired.high) == pytest.approx((0.1, 0.1, 0.1))
    alone = _by_key(evaluate(b, n_boot=300))["lines_fall"]
    assert alone.high - alone.low > 0.1  # each alone varies with the clips drawn
    with pytest.raises(ParameterError, match="same clips"):
        evaluate_control(a, dataclasses.replace(b, stimuli=STIMULI[::-1]))


def test_evaluate_refuses_responses_without_deconvolution_measures():
    rng = np.random.default_rng(6)
    responses = dataclasses.replace(_responses(_hears("key", rng), _hears("key", rng)), lines={}, onset={})
    with pytest.raises(ParameterError, match="deconvolve=True"):
        evaluate(responses)


# ----------------------------------------------------------------------------------- tables and the README


def _rows():
    verdicts = [HOLDS, HOLDS, UNCLEAR]
    return [VerdictRow(criterion.key, 0.1 * (seed + 1), 0.05 * seed - 0.01, 0.2 * (seed + 1), 60,
                       verdicts[seed] if condition == "trained" else CONTRADICTED, arch="choi2016", seed=seed,
                       condition=condition)
            for criterion in CRITERIA for seed in range(3) for condition in ("trained", "untrained")]


def test_summary_counts_seeds_and_takes_the_median_effect():
    summary = {(r.criterion, r.condition): r for r in summarise(_rows())}
    trained = summary["key_rises", "trained"]
    assert (trained.seeds, trained.holds, trained.unclear, trained.contradicted) == (3, 2, 1, 0)
    assert trained.effect == pytest.approx(0.2)
    assert trained.per_seed.startswith("seed 0: 0.100 [-0.010, 0.200]; seed 1: 0.200")
    assert summary["key_rises", "untrained"].contradicted == 3
    assert len(summary) == len(CRITERIA) * 2


def test_readme_block_is_replaced_and_nothing_else(tmp_path):
    before, after = "# Title\n\nintro text\n", "\n## Next section\n\nmore text\n"
    readme = tmp_path / "README.md"
    readme.write_text(f"{before}{BEGIN}\nold table\n{END}{after}")
    runs = [RunRecord("choi2016", seed, 12, 300.0 + seed, 100.0, 90.0, 0.9, 0.95, 0.8, 0.85) for seed in range(3)]
    written = write_reports(tmp_path / "out", runs, _rows(), readme=readme)
    text = readme.read_text()
    block = written["markdown"].read_text().strip()
    assert text == f"{before}{BEGIN}\n{block}\n{END}{after}"
    assert "old table" not in text
    assert "| invariance to key rises with depth | choi2016 | **0/3** | 2/3 (1 unclear)" in text
    assert "| choi2016 | 1 | 12 | 301 | 100 + 90 | 90.0 %, 95.0 % | 80.0 %, 85.0 % |" in text
    write_reports(tmp_path / "out", runs, _rows(), readme=readme)
    assert readme.read_text() == text  # idempotent
    assert json.loads(written["json"].read_text())["runs"][0]["train_seconds"] == 300.0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "effects.png", "environment.json", "runs.csv", "study.json", "study.md", "table.csv", "verdicts.csv"]
    assert json.loads((tmp_path / "out" / "environment.json").read_text())["cpu"].endswith(" cores")
    for broken in ("no markers\n", f"{END}\n{BEGIN}\n", f"{BEGIN}\n{BEGIN}\n{END}\n"):
        with pytest.raises(ParameterError, match="exactly one"):
            replace_block(broken, "x")


def test_settings_refuse_what_the_study_cannot_run():
    with pytest.raises(ParameterError, match="unknown architectures"):
        StudySettings(archs=("resnet",)).check()
    with pytest.raises(ParameterError, match="distinct"):
        StudySettings(seeds=(0, 0)).check()
    with pytest.raises(ParameterError, match="features"):
        StudySettings(features=0).check()
    fast = StudySettings.for_mode(True)
    assert fast.fast and len(fast.seeds) >= 2 and set(fast.archs) == {"choi2016", "choi2017"}
    full = StudySettings.for_mode(False)
    assert full.seeds == (0, 1, 2) and full.features is None and full.n_boot == 1000
    assert full.train_settings("choi2017", 2).seed == 2


# ------------------------------------------------------------------------------------- the study, end to end


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """A 4-filter choi2016 trained for one epoch with seeds 0 and 1 on three tones, over eight plucked clips."""
    from auralisation.audio import AudioConfig, write_wav
    from auralisation.study import run_study
    from conftest import make_audio_folder

    root = tmp_path_factory.mktemp("study")
    data = make_audio_folder(root / "data")
    config = AudioConfig()
    t = np.arange(config.n_samples) / config.sr
    stimuli = []
    for (key, semitones), (instrument, harmonics), chord in itertools.product(
        {"C3": 0, "G3": 7}.items(), {"sine": (1,), "reed": (1, 3, 5)}.items(), ("g1", "g2")
    ):
        f0 = 130.8 * 2 ** (semitones / 12) * (1.25 if chord == "g2" else 1.0)
        y = 0.2 * np.exp(-4.0 * (t % 1.0)) * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in harmonics)
        path = write_wav(root / "stimuli" / f"{instrument}_{key}_{chord}.wav", y.astype(np.float32), config.sr,
                         normalize="none")
        stimuli.append(Clip(path.stem, key, chord, instrument, path=path))
    settings = StudySettings(archs=("choi2016",), seeds=(0, 1), fast=True, epochs=1, width=4, layers=1, features=1,
                             n_boot=50)
    folders = {"data": data, "stimuli": stimuli, "models": root / "models", "results": root / "results",
               "cache": root / "cache"}
    runs, rows = run_study(settings, **folders, progress=False, log=lambda line: None)
    return settings, folders, runs, rows


def test_study_trains_each_seed_on_one_split_and_applies_every_criterion(tiny_study):
    from auralisation.io import load_model

    settings, folders, runs, rows = tiny_study
    assert [(r.arch, r.seed, r.epochs) for r in runs] == [("choi2016", 0, 1), ("choi2016", 1, 1)]
    assert all(0.0 <= r.accuracy <= 1.0 and 0.0 <= r.baseline_accuracy <= 1.0 and r.train_seconds > 0 for r in runs)
    splits = [json.loads((folders["models"] / f"choi2016-seed{s}" / "splits.json").read_text()) for s in (0, 1)]
    assert splits[0] == splits[1]  # the split stays; the seed changes the weights
    weights = [load_model(folders["models"] / f"choi2016-seed{s}").model.get_weights()[0] for s in (0, 1)]
    assert not np.allclose(weights[0], weights[1])
    assert len(rows) == 2 * 3 * len(CRITERIA)  # trained, untrained, and the paired difference
    assert sum(r.condition == CONTROL for r in rows) == 2 * len(CRITERIA)
    assert {r.verdict for r in rows} <= {HOLDS, UNCLEAR, CONTRADICTED}
    run = folders["results"] / "choi2016-seed0"
    assert {p.name for p in (run / "trained").iterdir()} >= {"responses.npz", "trained_correlations.csv",
                                                             "trained_lines.csv", "trained_onsets.csv"}
    assert "Model 'untrained'" in (run / "summary.txt").read_text()


def test_a_pretrained_network_is_a_row_with_its_untrained_control(tiny_study, tmp_path, monkeypatch):
    import auralisation.training
    from auralisation.study import run_study

    settings, folders, runs, rows = tiny_study
    monkeypatch.setattr(auralisation.training, "train_and_evaluate", lambda *a, **k: pytest.fail("trained again"))
    elsewhere = tmp_path / "tagger"  # a network trained elsewhere: seed 1's folder under another name
    elsewhere.symlink_to(folders["models"] / "choi2016-seed1", target_is_directory=True)
    again, with_pretrained = run_study(dataclasses.replace(settings, seeds=(0,), pretrained=(str(elsewhere),)),
                                       **folders, progress=False, log=lambda line: None)
    assert [r.arch for r in again] == ["choi2016"]  # nothing trained: no run record for it
    tagger = [r for r in with_pretrained if r.arch == "tagger"]
    assert len(tagger) == 3 * len(CRITERIA) and {r.seed for r in tagger} == {0}
    seed1 = {(r.criterion, r.condition): r.effect for r in rows if r.seed == 1}
    for r in tagger:  # the same network, stimuli and resamples: the same effects as the study's seed 1
        assert r.effect == pytest.approx(seed1[r.criterion, r.condition], nan_ok=True)
    assert (folders["results"] / "tagger" / "summary.txt").is_file()


def test_study_resumes_without_training_or_analysing_again(tiny_study, monkeypatch):
    import auralisation.training
    from auralisation.study import run_study, runner

    settings, folders, runs, rows = tiny_study
    calls = []
    monkeypatch.setattr(auralisation.training, "train_and_evaluate", lambda *a, **k: calls.append("train"))
    monkeypatch.setattr(runner, "compute_responses", lambda *a, **k: calls.append("responses"))
    lines = []
    again, again_rows = run_study(settings, **folders, progress=False, log=lines.append)
    assert calls == []
    assert [line.split(":")[0] for line in lines] == ["choi2016-seed0 (done before)", "choi2016-seed1 (done before)"]
    assert again == runs and again_rows == rows  # the stored timing and the same verdicts
    with pytest.raises(ModelError, match="other settings"):
        run_study(dataclasses.replace(settings, epochs=2), **folders, progress=False, log=lambda line: None)


def test_study_uses_a_model_trained_before_with_its_settings_on_its_split(tiny_study, tmp_path, monkeypatch):
    import shutil

    import auralisation.training
    from auralisation.study import run_study

    settings, folders, runs, rows = tiny_study
    earlier = tmp_path / "models"
    shutil.copytree(folders["models"] / "choi2016-seed0", earlier / "choi2016")

    class Trained(Exception):
        pass

    def train(*args, **kwargs):
        raise Trained

    monkeypatch.setattr(auralisation.training, "train_and_evaluate", train)
    seed0 = dataclasses.replace(settings, seeds=(0,))
    fresh = {**folders, "models": tmp_path / "study", "results": folders["results"]}
    lines = []
    again, _ = run_study(seed0, **fresh, progress=False, log=lines.append, earlier=earlier)
    assert lines[0].startswith(f"choi2016-seed0: {earlier / 'choi2016'} was trained with this run's settings")
    assert again[0].accuracy == runs[0].accuracy and again[0].epochs == runs[0].epochs
    assert not (tmp_path / "study").exists()  # nothing trained, nothing copied
    split = earlier / "choi2016" / "splits.json"
    record = json.loads(split.read_text())
    record["test"] = record["test"][1:]  # another split: that model is not this run
    split.write_text(json.dumps(record))
    with pytest.raises(Trained):
        run_study(seed0, **fresh, progress=False, log=lambda line: None, earlier=earlier)


def test_study_command_refuses_bad_input_with_a_clear_message(tmp_path, capsys):
    from auralisation.cli import main

    common = ["study", "--quiet", "--data", str(tmp_path), "--stimuli", str(tmp_path)]
    assert main([*common, "--archs", "resnet"]) == 1
    assert "unknown architectures ['resnet']" in capsys.readouterr().err
    assert main([*common, "--seeds", "1,1"]) == 1
    assert "distinct" in capsys.readouterr().err
    assert main([*common, "--update-readme", str(tmp_path / "missing.md")]) == 1
    assert "no such README" in capsys.readouterr().err
    (tmp_path / "README.md").write_text("# no markers\n")
    assert main([*common, "--update-readme", str(tmp_path / "README.md")]) == 1
    assert "exactly one '<!-- study:begin -->'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*common, "--seeds", "one"])
    assert "expected integers" in capsys.readouterr().err


def test_figure_draws_each_runs_effect_in_its_verdicts_colour():
    from matplotlib.colors import to_rgba

    from auralisation.study import effects_by_seed
    from auralisation.study.figures import VERDICT_COLOURS

    figure = effects_by_seed(_rows())
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [c.finding for c in CRITERIA]
    points = [line for line in panels[0].get_lines() if line.get_marker() == "o"]
    # trained seeds 0, 1, 2 (holds, holds, unclear), then untrained (contradicted), in that order
    assert [float(line.get_ydata()[0]) for line in points] == pytest.approx([0.1, 0.2, 0.3] * 2)
    colours = [VERDICT_COLOURS[v] for v in (HOLDS, HOLDS, UNCLEAR, *[CONTRADICTED] * 3)]
    assert [line.get_color() for line in points] == colours
    assert to_rgba(points[0].get_color()) != to_rgba(points[-1].get_color())
    thresholds = [line.get_ydata()[0] for line in panels[4].get_lines() if line.get_linestyle() == "--"]
    assert thresholds == [0.05, 0.95]  # "some, not all" has two


def test_figure_shows_the_control_beside_trained_and_untrained():
    from auralisation.study import effects_by_seed

    figure = effects_by_seed(_with_control(_rows(), UNCLEAR))
    panel = figure.axes[0]
    assert [tick.get_text() for tick in panel.get_xticklabels()] == [
        "choi2016\ntrained", "choi2016\nuntrained", "choi2016\ntrained - untrained"]
    points = [line for line in panel.get_lines() if line.get_marker() == "o"]
    assert [float(line.get_ydata()[0]) for line in points[-3:]] == pytest.approx([0.05, 0.15, 0.25])  # the control
    assert [line.get_ydata()[0] for line in panel.get_lines() if line.get_linestyle() == ":"] == [0.0]


def _describe(rows) -> str:
    return describe(summarise(rows))


def _with_control(rows, control_verdict):
    return rows + [dataclasses.replace(r, condition=CONTROL, effect=r.effect - 0.05, verdict=control_verdict)
                   for r in rows if r.condition == "trained"]


def test_describe_gives_effect_sizes_and_counts_learned_only_with_the_control():
    rows = [dataclasses.replace(r, verdict=HOLDS) if r.condition == "trained" else r for r in _rows()]
    text = _describe(_with_control(rows, HOLDS))
    first = ("- *invariance to key rises with depth*: choi2016 holds for 3/3 seeds (effect 0.200; untrained 0.200, "
             "holds for 0/3), learned for 3/3 (trained - untrained +0.150, above 0 for 3/3).")
    assert text.splitlines()[0] == first
    unlearned = _describe(_with_control([dataclasses.replace(r, verdict=HOLDS) for r in _rows()], UNCLEAR))
    assert "holds for 3/3 seeds" in unlearned and "learned for 0/3" in unlearned
    assert "learned" not in _describe(_rows())  # without the control's rows, nothing is called learned


def test_the_readme_table_puts_learned_first_and_bolds_only_it():
    from auralisation.study import markdown

    rows = _with_control([dataclasses.replace(r, verdict=HOLDS) if r.condition == "trained" else r
                          for r in _rows()], UNCLEAR)
    rows[-1] = dataclasses.replace(rows[-1], verdict=HOLDS)  # one seed's control holds: learned for 1 of 3
    table = markdown(summarise(rows), [])
    line = next(row for row in table.splitlines() if row.startswith(f"| {CRITERIA[-1].finding} | choi2016 |"))
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[2:4] == ["**1/3**", "3/3"]
    assert table.count("**") == 2 * len(CRITERIA)  # the learned counts, nothing else
    assert "2026-11-29, before any run of the study but after a single-run analysis" in table
    assert "3 rows" in table
