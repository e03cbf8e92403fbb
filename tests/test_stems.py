"""The stem measure (auralisation.analysis.stems): hand-worked cases, and a network whose features pass known bands.

The network is one convolution whose filters span the whole frequency axis, set by hand so that one feature sums
only the bins of the drums' band, one only the bass's band and one every bin; its deconvolution is therefore
confined to that band, and the measure must call the first a drum selector, the second a bass selector and the
third mixed.
"""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import librosa  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from auralisation.analysis.bootstrap import bootstrap  # noqa: E402
from auralisation.analysis.hearing import layer_findings, onset_ratios  # noqa: E402
from auralisation.analysis.measures import ONSET_THRESHOLD  # noqa: E402
from auralisation.analysis.stem_labels import SELECTOR_RULE, feature_labels  # noqa: E402
from auralisation.analysis.stems import (  # noqa: E402
    StemResponses,
    StemRow,
    clip_stem_shares,
    stem_responses,
    stem_shares,
    stem_table,
    stem_weights,
)
from auralisation.audio import AudioConfig, magnitude  # noqa: E402
from auralisation.auralise import auralise  # noqa: E402
from auralisation.deconv import Deconvolver  # noqa: E402
from auralisation.errors import AudioError  # noqa: E402

CONFIG = AudioConfig(duration=1.0)
DRUM_BAND = (2500.0, 4500.0)  # Hz
BASS_BAND = (40.0, 250.0)


def band_stems(seed: int) -> dict[str, np.ndarray]:
    """Drums: band-limited noise hits in DRUM_BAND; bass: two partials in BASS_BAND; harmony: a chord near 500 Hz."""
    rng = np.random.default_rng(seed)
    t = np.arange(CONFIG.n_samples) / CONFIG.sr
    partials = rng.uniform(*DRUM_BAND, size=60)
    noise = np.sin(2 * np.pi * partials[:, None] * t + rng.uniform(0, 2 * np.pi, (60, 1))).sum(axis=0) / 8.0
    envelope = 0.3 * np.exp(-((t + rng.uniform(0, 0.25)) % 0.25) / 0.1)
    root = rng.uniform(60.0, 100.0)
    chord = 440.0 * 2.0 ** (rng.integers(0, 5) / 12.0) * np.array([1.0, 1.26, 1.5])
    return {
        "drums": (noise * envelope).astype(np.float32),
        "bass": (0.3 * np.sin(2 * np.pi * root * t) + 0.2 * np.sin(2 * np.pi * 2 * root * t)).astype(np.float32),
        "harmony": (0.15 * np.sin(2 * np.pi * chord[:, None] * t).sum(axis=0)).astype(np.float32),
        "melody": np.zeros(CONFIG.n_samples, np.float32),  # absent, as in a style without a melody
    }


def test_hand_worked_shares() -> None:
    # Stem 0 has magnitude 1 on bins 0-1, stem 1 magnitude 3 on bins 1-2: bin 1 is split 1/4 : 3/4.
    M = np.zeros((2, 4, 1))
    M[0, 0:2] = 1.0
    M[1, 1:3] = 3.0
    A = np.array([2.0, 4.0, 1.0, 5.0])[:, None]  # bin 3: no stem sounds there, left out
    # explained: stem 0 = 2 + 4/4 = 3, stem 1 = 4 * 3/4 + 1 = 4; of 7
    np.testing.assert_allclose(stem_shares(A, stem_weights(M)), [3 / 7, 4 / 7])
    assert np.isnan(stem_shares(np.zeros((4, 1)), stem_weights(M))).all()


def test_shares_sum_to_one_and_the_whole_mix_has_enrichment_one() -> None:
    clips = [clip_stem_shares(band_stems(seed), CONFIG) for seed in range(4)]
    rng = np.random.default_rng(0)
    for clip in clips:
        D = rng.standard_normal((5, *clip.X.shape)).astype(np.float32)
        np.testing.assert_allclose(clip.shares(D).sum(axis=-1), 1.0)
    # feature 0 passes the whole mix (its shares are the mix's), feature 1 is silent on clip 1
    shares = np.stack([
        np.stack([clip.mix_shares, clip.mix_shares if i != 1 else np.full(4, np.nan)]) for i, clip in enumerate(clips)
    ])
    mix = np.stack([clip.mix_shares for clip in clips])
    np.testing.assert_allclose(  # a pass-through map, D = |X|, has the mix's shares (up to the inverse STFT)
        clips[0].shares(np.abs(clips[0].X)[None])[0], mix[0], atol=0.02
    )
    responses = StemResponses(("drums", "bass", "harmony", "melody"), mix, {"pool1": shares}, {"pool1": np.arange(2)})
    rows = stem_table(responses, n_boot=200)
    for row in rows:
        if row.stem == "melody":  # absent from every clip: nothing to say about it
            assert row.n_clips == 0 and np.isnan(row.share) and np.isnan(row.enrichment)
            continue
        assert row.enrichment == pytest.approx(1.0) and row.enrichment_low == pytest.approx(1.0)
        assert row.enrichment_high == pytest.approx(1.0)
        used = [0, 1, 2, 3] if row.feature == 0 else [0, 2, 3]
        values = mix[used, responses.stems.index(row.stem)]
        reference = bootstrap(values, n_boot=200)  # the package's one-variable bootstrap, other resamples
        assert row.share == pytest.approx(reference.mean) and row.n_clips == len(used)
        assert values.min() - 1e-9 <= row.share_low <= row.share <= row.share_high <= values.max() + 1e-9
        spread = values.max() - values.min()
        assert abs(row.share_low - reference.low) < 0.25 * spread
        assert abs(row.share_high - reference.high) < 0.25 * spread
    assert {label.label for label in feature_labels(rows)} == {"mixed"}


def test_a_stem_is_averaged_over_the_clips_that_hold_it() -> None:
    # clip 0 holds drums (0.4 of the mix; 0.8 of the feature), clips 1 and 2 have none; bass everywhere
    mix = np.array([[0.4, 0.6], [0.0, 1.0], [0.0, 1.0]])
    shares = np.array([[0.8, 0.2], [0.0, 1.0], [0.0, 1.0]])[:, None, :]
    rows = stem_table(StemResponses(("drums", "bass"), mix, {"pool1": shares}, {"pool1": np.arange(1)}), n_boot=50)
    drums, bass = rows
    assert (drums.share, drums.enrichment, drums.n_clips) == (pytest.approx(0.8), pytest.approx(2.0), 1)
    assert (bass.share, bass.enrichment, bass.n_clips) == (pytest.approx(2.2 / 3), pytest.approx(2.2 / 2.6), 3)
    label = feature_labels(rows)[0]  # a drum selector on one clip is not enough: the bass, measured on three, leads
    assert (label.label, label.top.stem) == ("mixed", "bass")


def test_auralisation_equal_to_one_stem_is_all_that_stem() -> None:
    stems = band_stems(0)
    clip = clip_stem_shares(stems, CONFIG)
    for s, name in enumerate(clip.names[:3]):
        shares = stem_shares(magnitude(stems[name], CONFIG), clip.weights)
        assert shares[s] > 0.97, (name, shares)  # not 1: the window's side lobes and the clip's edges


def pass_through_network() -> keras.Model:
    """conv1: one 1 x 1 filter of weight 1 (ReLU), pool1 of 1 x 1: the feature's map is the clip's magnitude."""
    inputs = keras.Input((CONFIG.n_bins, CONFIG.n_frames, 1))
    conv = keras.layers.Conv2D(1, (1, 1), activation="relu", name="conv1")
    x = keras.layers.MaxPooling2D((1, 1), name="pool1")(conv(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x)))
    conv.set_weights([np.ones((1, 1, 1, 1), np.float32), np.zeros(1, np.float32)])
    return model


def test_a_feature_that_passes_everything_is_mixed_even_on_a_loud_sparse_stem() -> None:
    clips = [band_stems(seed) for seed in range(4)]
    responses = stem_responses(Deconvolver(pass_through_network()), clips, CONFIG, progress=False)
    rows = {row.stem: row for row in stem_table(responses, n_boot=200)}
    assert feature_labels(list(rows.values()))[0].label == "mixed"
    for stem in ("drums", "bass", "harmony"):
        assert rows[stem].enrichment == pytest.approx(1.0, abs=0.05)
    # the premise: the bass is loud and sparse, so against the mix's magnitude (the reference before 2026-12-06)
    # the same feature would be a "bass selector" (share above 0.5, enrichment above 1.5)
    by_magnitude = np.mean([stem_shares(np.abs(clip_stem_shares(c, CONFIG).X), clip_stem_shares(c, CONFIG).weights)
                            for c in clips], axis=0)[1]
    assert rows["bass"].share >= SELECTOR_RULE.share and rows["bass"].share / by_magnitude >= SELECTOR_RULE.enrichment


def test_label_rule_edges() -> None:
    assert SELECTOR_RULE.label("drums", 0.5, 1.5, 3) == "drums selector"
    assert SELECTOR_RULE.label("drums", 0.9, 3.0, 2) == "too few clips"
    assert SELECTOR_RULE.label("drums", 0.49, 3.0, 5) == "mixed"
    assert SELECTOR_RULE.label("drums", 0.9, 1.49, 5) == "mixed"  # most of the mix is drums: not a selection
    assert SELECTOR_RULE.label("drums", float("nan"), float("nan"), 0) == "silent"
    assert "0.5" in SELECTOR_RULE.text and "1.5" in SELECTOR_RULE.text


def test_stems_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(AudioError, match="samples"):
        clip_stem_shares({"drums": np.zeros(100)}, CONFIG)


def band_network() -> keras.Model:
    """conv1: 3 filters over the whole frequency axis (drum band, bass band, every bin), ReLU; pool1 over time."""
    hertz = librosa.fft_frequencies(sr=CONFIG.sr, n_fft=CONFIG.n_fft)
    kernel = np.zeros((CONFIG.n_bins, 1, 1, 3), np.float32)
    for k, (low, high) in enumerate((DRUM_BAND, BASS_BAND, (0.0, CONFIG.sr / 2))):
        band = (hertz >= low) & (hertz <= high)
        kernel[band, 0, 0, k] = 1.0 / band.sum()
    inputs = keras.Input((CONFIG.n_bins, CONFIG.n_frames, 1))
    conv = keras.layers.Conv2D(3, (CONFIG.n_bins, 1), activation="relu", name="conv1")
    x = keras.layers.MaxPooling2D((1, 2), name="pool1")(conv(inputs))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    conv.set_weights([kernel, np.zeros(3, np.float32)])
    return model


def test_network_with_a_drum_band_feature_and_a_bass_band_feature() -> None:
    deconvolver = Deconvolver(band_network())
    clips = [band_stems(seed) for seed in range(4)]
    # one clip by hand: the real deconvolution, the real auralisation, and the measure on both
    clip = clip_stem_shares(clips[0], CONFIG)
    D = deconvolver.deconvolve(np.abs(clip.X), 1)
    heard = clip.shares(D)  # the measure: the auralisations' own STFT
    played = stem_shares(magnitude(auralise(clip.X, D, CONFIG, loudness="peak"), CONFIG), clip.weights)
    by_hand = stem_shares(np.abs(clip.X) * np.abs(D), clip.weights)  # |X| |D|, before the inverse STFT
    assert heard[0, 0] > 0.95 and heard[1, 1] > 0.95
    np.testing.assert_allclose(played, heard, atol=1e-4)  # a loudness gain changes no share
    np.testing.assert_allclose(by_hand[:2], heard[:2], atol=0.05)  # the sound holds what the map says
    # all clips, through the package's pipeline
    responses = stem_responses(deconvolver, clips, CONFIG, progress=False)
    labels = {label.feature: label for label in feature_labels(stem_table(responses, n_boot=200))}
    assert labels[0].label == "drums selector" and labels[1].label == "bass selector"
    assert labels[2].label == "mixed"
    assert labels[0].top.share_low > 0.9 and labels[0].top.enrichment_low > 1.5
    rows = {(row.feature, row.stem): row for row in stem_table(responses, n_boot=200)}
    # every bin alike: a flat map, against a pass-through map that follows |X|, gives the quiet, broad drums more
    # and the loud, sparse bass less; still no stem makes half of what it passes
    assert rows[2, "bass"].enrichment < 1.0 < rows[2, "drums"].enrichment
    assert max(rows[2, stem].share for stem in ("drums", "bass", "harmony")) < SELECTOR_RULE.share


def test_onset_ratios_and_the_paragraph_that_names_features() -> None:
    t = np.arange(CONFIG.n_samples) / CONFIG.sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    y[:: CONFIG.sr // 4][1:] += 0.9  # four clicks over a held tone
    S = magnitude(y, CONFIG)
    onsets = np.zeros(CONFIG.n_frames, bool)
    onsets[np.argsort(-S.sum(axis=0))[:6]] = True  # the loudest frames: the clicks
    D = np.stack([S, S * np.where(onsets, 3.0, 1.0), S * np.where(onsets, 1 / 3, 1.0)])  # as is, louder, softer
    ratios = onset_ratios([y, y], [D, D], CONFIG)  # AudioConfig's scaling is linear: the reference is S itself
    assert ratios[0] == pytest.approx(0.0, abs=1e-6) and ratios[1] > ONSET_THRESHOLD and ratios[2] < -ONSET_THRESHOLD
    row = StemRow("pool1", 1, "drums", 0.8, 0.7, 0.9, 2.4, 2.0, 2.8, 0.33, 5)
    labels = feature_labels([row, dataclasses.replace(row, stem="bass", share=0.2, enrichment=0.6)])
    text, named = layer_findings("pool1", ratios, labels, k=1)
    assert named == [2, 1] and "1 onset detector" in text and "1 attack suppressor" in text
    assert "feature 1: drums selector, drums share 0.80 (enrichment 2.40)" in text
