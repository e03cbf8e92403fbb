"""Tests of datasets: scanning GTZAN-style folders, splitting by track, the spectrogram cache, tf.data pipelines."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from auralisation import data
from auralisation.audio import AudioConfig, AudioWarning, load_clip, magnitude
from auralisation.data import (
    DatasetWarning,
    Excerpt,
    SpectrogramCache,
    make_dataset,
    scan_folder,
    split_by_track,
    to_arrays,
)
from auralisation.errors import AudioError, DatasetError, ParameterError

SR = 11025


def fake_excerpts(tracks_per_label: dict[str, int], per_track: int = 3) -> list[Excerpt]:
    """Excerpts of tracks that need not exist (splitting never opens files)."""
    return [
        Excerpt(Path(f"/music/{label}/{label}.{n:05d}.au"), label, 4.0 * k)
        for label, count in tracks_per_label.items()
        for n in range(count)
        for k in range(per_track)
    ]


def tracks_of(excerpts: list[Excerpt]) -> set[str]:
    return {excerpt.track for excerpt in excerpts}


# --- scan_folder ---------------------------------------------------------------------------------------------


def test_scan_gives_classes_and_excerpt_offsets(tmp_path: Path, tone, write_audio, config) -> None:
    write_audio(tmp_path / "b" / "long.wav", tone(440.0, 9.0, SR), SR)
    write_audio(tmp_path / "b" / "exact.flac", tone(440.0, 8.0, 22050), 22050)
    write_audio(tmp_path / "a" / "short.wav", tone(440.0, 2.0, SR), SR)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classes, excerpts = scan_folder(tmp_path, config)
    assert classes == ["a", "b"]
    assert [(e.path.name, e.label, e.offset) for e in excerpts] == [
        ("short.wav", "a", 0.0),
        ("exact.flac", "b", 0.0),
        ("exact.flac", "b", 4.0),
        ("long.wav", "b", 0.0),
        ("long.wav", "b", 4.0),
    ]
    _, overlapping = scan_folder(tmp_path, config, hop=2.0)
    assert [e.offset for e in overlapping if e.path.name == "long.wav"] == [0.0, 2.0, 4.0]
    assert excerpts[0].track == str(tmp_path / "a" / "short.wav")


def test_gtzan_layout_with_its_corrupt_jazz_file(tmp_path: Path, make_audio_folder, config) -> None:
    genres = make_audio_folder(tmp_path / "genres", ("blues", "jazz", "metal"), 3, seconds=9.0, sr=22050, ext=".au")
    (genres / "jazz" / "jazz.00054.wav").write_bytes(np.random.default_rng(0).bytes(2048))
    (genres / "bextract_single.mf").write_text("blues/blues.00000.au\tblues\n")  # GTZAN's top-level lists
    (genres / "blues" / "._blues.00000.au").write_bytes(b"\0\5\26\7")  # a macOS resource fork: ignored
    with pytest.warns(DatasetWarning, match=r"skipping .*jazz\.00054\.wav.*cannot be decoded") as caught:
        classes, excerpts = scan_folder(genres, config)
    assert len(caught) == 1
    assert classes == ["blues", "jazz", "metal"]
    assert sorted(Counter(e.label for e in excerpts).items()) == [("blues", 6), ("jazz", 6), ("metal", 6)]
    assert {e.path.name for e in excerpts if e.label == "jazz"} == {f"jazz.{n:05d}.au" for n in range(3)}


def test_scan_reads_headers_not_whole_files(tmp_path: Path, tone, write_audio, config) -> None:
    """A NaN late in a long track goes unseen by the scan (it never reads that far) but not by the decoder."""
    y = tone(440.0, 60.0, SR)
    y[-SR:] = np.nan
    write_audio(tmp_path / "a" / "late_nan.wav", y, SR, subtype="FLOAT")
    write_audio(tmp_path / "b" / "fine.wav", tone(440.0, 4.0, SR), SR)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, excerpts = scan_folder(tmp_path, config)
    late = [e for e in excerpts if e.label == "a"]
    assert len(late) == 15
    cache = SpectrogramCache(tmp_path / "cache", config)
    with pytest.raises(AudioError, match="late_nan.wav.*NaN"):
        cache.get(late[-1])
    assert not list(cache.directory.glob("*.npy"))


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("silent.wav", "silent", "the whole track is silent"),
        ("empty.wav", "empty", "the file is empty"),
        ("nan.wav", "nan", "NaN"),
        ("text.ogg", "text", "cannot be decoded"),
    ],
)
def test_unusable_tracks_are_skipped_with_a_warning_naming_them(
    tmp_path: Path, make_audio_folder, write_audio, config, name: str, content: str, reason: str
) -> None:
    root = make_audio_folder(tmp_path / "ds", ("a", "b"), 2, seconds=4.0)
    bad = root / "a" / name
    if content == "silent":
        write_audio(bad, np.zeros(SR * 40, dtype=np.float32), SR)
    elif content == "empty":
        bad.write_bytes(b"")
    elif content == "nan":
        write_audio(bad, np.full(SR, np.nan, dtype=np.float32), SR, subtype="FLOAT")
    else:
        bad.write_text("just text\n")
    with pytest.warns(DatasetWarning, match=f"skipping .*{name}: .*{reason}"):
        _, excerpts = scan_folder(root, config)
    assert len(excerpts) == 4 and bad not in {e.path for e in excerpts}


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "no such dataset folder"),
        ("empty", "holds no label folders; put the audio into one sub-folder per label"),
        ("flat", "holds 2 audio files directly, move them into one sub-folder per label"),
        ("one-label", "only one label folder \\('a'\\).*at least two"),
        ("empty-label", "c: the label folder holds no audio files .*it is empty"),
        ("other-files", "c: the label folder holds no audio files .*'song.m4a'.*convert"),
        ("all-bad", "c: none of its 1 audio files is usable"),
    ],
)
def test_bad_dataset_folders_give_one_clear_error(
    tmp_path: Path, make_audio_folder, tone, write_audio, config, layout: str, message: str
) -> None:
    root = tmp_path / "ds"
    if layout in ("empty", "flat"):
        root.mkdir()
    if layout == "flat":
        for n in range(2):
            write_audio(root / f"{n}.wav", tone(440.0, 1.0, SR), SR)
    if layout == "one-label":
        make_audio_folder(root, ("a",), 1, seconds=4.0)
    if layout in ("empty-label", "other-files", "all-bad"):
        make_audio_folder(root, ("a", "b"), 1, seconds=4.0)
        (root / "c").mkdir()
    if layout == "other-files":
        (root / "c" / "song.m4a").write_bytes(b"\0" * 16)
    if layout == "all-bad":
        (root / "c" / "broken.wav").write_bytes(b"RIFF")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        with pytest.raises(DatasetError, match=message):
            scan_folder(root, config)


def test_hop_must_be_positive(audio_folder: Path, config) -> None:
    with pytest.raises(ParameterError, match="hop must be a positive"):
        scan_folder(audio_folder, config, hop=0.0)


# --- split_by_track ------------------------------------------------------------------------------------------


def test_split_keeps_tracks_whole_and_loses_nothing() -> None:
    excerpts = fake_excerpts({"blues": 10, "jazz": 7, "rock": 12})
    splits = split_by_track(excerpts, seed=0)
    sets = [tracks_of(splits.train), tracks_of(splits.validation), tracks_of(splits.test)]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sorted(splits.train + splits.validation + splits.test, key=excerpts.index) == excerpts
    for part in (splits.train, splits.validation, splits.test):  # every excerpt of a track is in its set
        assert Counter(e.track for e in part) == Counter({track: 3 for track in tracks_of(part)})


def test_split_is_stratified_by_label() -> None:
    excerpts = fake_excerpts({"blues": 10, "jazz": 3, "rock": 20, "pop": 2, "solo": 1})
    splits = split_by_track(excerpts, seed=4)

    def track_counts(part: list[Excerpt]) -> Counter:
        return Counter(Path(track).parent.name for track in tracks_of(part))

    train, validation, test = (track_counts(p) for p in (splits.train, splits.validation, splits.test))
    assert (train["blues"], validation["blues"], test["blues"]) == (7, 2, 1)
    assert (train["rock"], validation["rock"], test["rock"]) == (14, 3, 3)
    assert (train["jazz"], validation["jazz"], test["jazz"]) == (1, 1, 1)
    assert (train["pop"], validation["pop"], test["pop"]) == (1, 1, 0)
    assert (train["solo"], validation["solo"], test["solo"]) == (1, 0, 0)


def test_split_depends_on_the_seed_only() -> None:
    excerpts = fake_excerpts({"blues": 10, "jazz": 10})
    assert split_by_track(excerpts, seed=1) == split_by_track(list(excerpts), seed=1)
    assert tracks_of(split_by_track(excerpts, seed=1).test) != tracks_of(split_by_track(excerpts, seed=2).test)


def test_split_other_fractions() -> None:
    excerpts = fake_excerpts({"blues": 10, "jazz": 10}, per_track=1)
    splits = split_by_track(excerpts, fractions=(0.8, 0.2, 0.0), seed=0)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (16, 4, 0)


@pytest.mark.parametrize("fractions", [(0.5, 0.5, 0.5), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1), (1.0, 0.0)])
def test_split_refuses_bad_fractions(fractions) -> None:
    with pytest.raises(DatasetError, match="fractions must be three"):
        split_by_track(fake_excerpts({"a": 3}), fractions=fractions)


def test_split_refuses_a_track_with_two_labels() -> None:
    excerpts = [Excerpt(Path("/m/x.wav"), "a", 0.0), Excerpt(Path("/m/x.wav"), "b", 4.0)]
    with pytest.raises(DatasetError, match="x.wav: the track appears under two labels"):
        split_by_track(excerpts)


# --- SpectrogramCache ----------------------------------------------------------------------------------------


@pytest.fixture
def scanned(audio_folder: Path, config: AudioConfig) -> tuple[list[str], list[Excerpt]]:
    return scan_folder(audio_folder, config)


def test_cache_stores_the_magnitude_and_never_decodes_twice(tmp_path: Path, scanned, config, monkeypatch) -> None:
    _, excerpts = scanned
    chosen = excerpts[:3] + excerpts[-1:]
    first = SpectrogramCache(tmp_path / "cache", config)
    values = [first.get(e) for e in chosen]
    assert first.decodes == 4
    for excerpt, value in zip(chosen, values):
        assert value.shape == (257, 173) and value.dtype == np.float32
        np.testing.assert_array_equal(value, magnitude(load_clip(excerpt.path, config, excerpt.offset), config))
    assert values[1].max() > 1.0  # the second excerpt (offset 4 s) is sound, not padding

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded audio on a warm cache")

    monkeypatch.setattr(data, "load_clip", no_decoding)
    second = SpectrogramCache(tmp_path / "cache", config)
    for excerpt, value in zip(chosen, values):
        np.testing.assert_array_equal(second.get(excerpt), value)
    assert second.decodes == 0
    files = {p.name for p in first.directory.iterdir()}
    assert files == {"config.json"} | {first.path_for(e).name for e in chosen}  # no temporary files left
    assert AudioConfig.load(first.directory / "config.json") == config


def test_cache_key_follows_config_file_and_offset(tmp_path: Path, scanned, config) -> None:
    _, excerpts = scanned
    cache = SpectrogramCache(tmp_path, config)
    excerpt = excerpts[0]
    assert SpectrogramCache(tmp_path, dataclasses.replace(config, hop_length=128)).directory != cache.directory
    assert SpectrogramCache(tmp_path, dataclasses.replace(config, window="hamming")).directory != cache.directory
    assert SpectrogramCache(tmp_path, dataclasses.replace(config, scaling="linear")).directory == cache.directory
    assert cache.path_for(excerpt) != cache.path_for(dataclasses.replace(excerpt, offset=4.0))
    before = cache.path_for(excerpt)
    cache.get(excerpt)
    stat = excerpt.path.stat()
    os.utime(excerpt.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert cache.path_for(excerpt) != before
    cache.get(excerpt)
    assert cache.decodes == 2


def test_other_config_gives_other_values(tmp_path: Path, scanned, config) -> None:
    _, excerpts = scanned
    short_hop = dataclasses.replace(config, hop_length=128)
    value = SpectrogramCache(tmp_path, short_hop).get(excerpts[0])
    assert value.shape == (257, short_hop.n_frames)
    np.testing.assert_array_equal(value, magnitude(load_clip(excerpts[0].path, short_hop), short_hop))


@pytest.mark.parametrize(
    "damage",
    [b"garbage, not an array", b"", np.zeros((3, 3), np.float32), np.zeros((257, 173), np.float64), "truncate"],
    ids=["garbage", "empty", "wrong-shape", "wrong-dtype", "truncated"],
)
def test_corrupt_cache_entries_are_recomputed(tmp_path: Path, scanned, config, damage) -> None:
    _, excerpts = scanned
    cache = SpectrogramCache(tmp_path, config)
    good = cache.get(excerpts[0])
    entry = cache.path_for(excerpts[0])
    if isinstance(damage, bytes):
        entry.write_bytes(damage)
    elif isinstance(damage, str):
        entry.write_bytes(entry.read_bytes()[:5000])
    else:
        np.save(entry, damage)
    with pytest.warns(DatasetWarning, match=f"cache entry .*{entry.name}.*decoding it again"):
        np.testing.assert_array_equal(cache.get(excerpts[0]), good)
    assert cache.decodes == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(cache.get(excerpts[0]), good)


def test_short_track_gives_one_padded_excerpt(tmp_path: Path, tone, write_audio, config) -> None:
    y = tone(440.0, 1.5, SR)
    write_audio(tmp_path / "ds" / "a" / "short.wav", y, SR, subtype="FLOAT")
    write_audio(tmp_path / "ds" / "b" / "long.wav", tone(440.0, 4.0, SR), SR)
    _, excerpts = scan_folder(tmp_path / "ds", config)
    assert [(e.label, e.offset) for e in excerpts] == [("a", 0.0), ("b", 0.0)]
    with pytest.warns(AudioWarning, match="short.wav.*padded"):
        value = SpectrogramCache(tmp_path / "cache", config).get(excerpts[0])
    padded = np.pad(y, (0, config.n_samples - len(y)))
    np.testing.assert_array_equal(value, magnitude(padded, config))


def test_cache_names_a_file_that_vanished(tmp_path: Path, scanned, config) -> None:
    _, excerpts = scanned
    excerpts[0].path.unlink()
    with pytest.raises(AudioError, match=f"{excerpts[0].path.name}: no such file.*scan it again"):
        SpectrogramCache(tmp_path, config).get(excerpts[0])


# --- make_dataset and to_arrays ------------------------------------------------------------------------------


def test_pipeline_yields_cached_values_labels_and_shapes(tmp_path: Path, scanned, config) -> None:
    import tensorflow as tf

    classes, excerpts = scanned
    cache = SpectrogramCache(tmp_path, config)
    dataset = make_dataset(excerpts, classes, cache, batch_size=4)
    x_spec, y_spec = dataset.element_spec
    assert tuple(x_spec.shape) == (None, 257, 173, 1) and x_spec.dtype == tf.float32
    assert tuple(y_spec.shape) == (None,) and y_spec.dtype == tf.int32
    batches = list(dataset.as_numpy_iterator())
    assert [len(y) for _, y in batches] == [4, 4, 4, 4, 2]
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(y, [0] * 6 + [1] * 6 + [2] * 6)
    expected = np.stack([magnitude(load_clip(e.path, config, e.offset), config) for e in excerpts])
    np.testing.assert_array_equal(x[..., 0], expected)
    assert cache.decodes == len(excerpts)
    list(dataset.as_numpy_iterator())
    assert cache.decodes == len(excerpts)  # the second epoch read everything from disk

    logged = SpectrogramCache(tmp_path, dataclasses.replace(config, scaling="log"))
    scaled = np.concatenate([b[0] for b in make_dataset(excerpts, classes, logged, scaled=True).as_numpy_iterator()])
    np.testing.assert_allclose(scaled[..., 0], np.log1p(expected.astype(np.float64)), rtol=1e-6)
    linear = SpectrogramCache(tmp_path, dataclasses.replace(config, scaling="linear"))
    same = next(make_dataset(excerpts, classes, linear, batch_size=18, scaled=True).as_numpy_iterator())[0]
    np.testing.assert_array_equal(same, x)
    assert cache.decodes == logged.decodes + linear.decodes + len(excerpts)


def test_shuffle_is_seeded_and_differs_between_epochs(tmp_path: Path, scanned, config) -> None:
    classes, excerpts = scanned
    cache = SpectrogramCache(tmp_path, config)
    x_all, y_all = to_arrays(excerpts, classes, cache)

    def epochs(seed: int) -> list[np.ndarray]:
        dataset = make_dataset(excerpts, classes, cache, batch_size=18, shuffle=True, seed=seed)
        return [next(dataset.as_numpy_iterator()) for _ in range(2)]

    first, again, other = epochs(7), epochs(7), epochs(8)
    for (xa, ya), (xb, yb) in zip(first, again):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    # an epoch is a permutation of the split, labels travelling with their spectrograms
    sums = x_all.reshape(len(x_all), -1).sum(axis=1)
    order = [int(np.flatnonzero(np.isclose(sums, s))[0]) for s in first[0][0].reshape(18, -1).sum(axis=1)]
    assert sorted(order) == list(range(18)) and order != list(range(18))
    np.testing.assert_array_equal(first[0][1], y_all[order])
    assert not np.array_equal(first[0][1], first[1][1]) or not np.array_equal(first[0][0], first[1][0])
    assert not np.array_equal(first[0][0], other[0][0])


def test_to_arrays_equals_the_pipeline(tmp_path: Path, scanned, config) -> None:
    classes, excerpts = scanned
    cache = SpectrogramCache(tmp_path, config)
    x, y = to_arrays(excerpts, classes, cache, scaled=True)
    assert x.shape == (18, 257, 173, 1) and x.dtype == np.float32 and y.dtype == np.int32
    batches = list(make_dataset(excerpts, classes, cache, batch_size=5, scaled=True).as_numpy_iterator())
    np.testing.assert_array_equal(x, np.concatenate([b[0] for b in batches]))
    np.testing.assert_array_equal(y, np.concatenate([b[1] for b in batches]))


def test_pipeline_refuses_bad_arguments(tmp_path: Path, scanned, config) -> None:
    classes, excerpts = scanned
    cache = SpectrogramCache(tmp_path, config)
    with pytest.raises(DatasetError, match=r"labels \['rock'\] are not among the classes \['blues', 'jazz'\]"):
        make_dataset(excerpts, classes[:2], cache)
    with pytest.raises(DatasetError, match="no excerpts"):
        make_dataset([], classes, cache)
    with pytest.raises(ParameterError, match="batch_size"):
        make_dataset(excerpts, classes, cache, batch_size=0)
    with pytest.raises(DatasetError, match="no excerpts"):
        to_arrays([], classes, cache)


def test_pipeline_error_names_the_file(tmp_path: Path, scanned, config) -> None:
    import tensorflow as tf

    classes, excerpts = scanned
    excerpts[-1].path.write_bytes(b"overwritten with junk after the scan")
    dataset = make_dataset(excerpts, classes, SpectrogramCache(tmp_path, config), batch_size=4)
    with pytest.raises(tf.errors.OpError, match=f"{excerpts[-1].path.name}: cannot be decoded"):
        list(dataset.as_numpy_iterator())
