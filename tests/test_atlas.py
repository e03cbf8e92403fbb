"""Tests of auralisation.atlas: streaming top-k, the two passes against an independent reference, resuming, the
folder rules, bad corpora, the site in headless Chromium, and the Ray engine: a two-node cluster on this machine
against the local engine, and a worker's failure.

The model is a narrow random ``choi2016`` on a tiny front end (0.25 s clips), saved like a real one; the corpus is a
GTZAN-style folder of 1 s tracks (four excerpts each), some at 22,050 Hz (resampled), with a corrupt file.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Ray on the loopback only: every Ray node and driver of these tests (and their subprocesses) takes 127.0.0.1 as its
# address, where Ray would otherwise rewrite "127.0.0.1" to the machine's outward address, on which nothing listens.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import keras  # noqa: E402
import librosa  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from chromium import CHROMIUM, NO_CHROMIUM, run_chromium  # noqa: E402
from auralisation import atlas as atlas_package  # noqa: E402
from auralisation.atlas import build as build_module  # noqa: E402
from auralisation.atlas import build_atlas, scan_corpus  # noqa: E402
from auralisation.atlas.topk import Histogram, TopK  # noqa: E402
from auralisation.audio import AudioConfig, load_clip, magnitude, stft  # noqa: E402
from auralisation.deconv import deconvolve  # noqa: E402
from auralisation.errors import AtlasError, DatasetError  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.io import save_model  # noqa: E402

#: 0.25 s clips: 33 bins x 87 frames (five poolings fit).
TINY = AudioConfig(duration=0.25, n_fft=64, hop_length=32)
LAYERS = (1, 3)
TOP = 3
REPO = Path(__file__).resolve().parents[1]


def _track(frequency: float, seed: int, sr: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(sr) / sr
    y = 0.3 * np.sin(2 * np.pi * frequency * t * (1 + 0.5 * t)) + 0.05 * rng.standard_normal(len(t))
    y[rng.integers(0, sr, 3)] += 0.6  # a few clicks, at random places
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    save_model(folder, choi2016(TINY, 3, width=4, seed=1), TINY, ["blues", "jazz", "rock"])
    return folder


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "genres"
    for i, label in enumerate(("blues", "jazz", "rock")):
        (root / label).mkdir(parents=True)
        for n in range(2):
            sr = 22050 if label == "jazz" else TINY.sr
            sf.write(root / label / f"{label}.{n:05d}.wav", _track(200.0 * (i + 1) * (n + 1), 10 * i + n, sr), sr)
    (root / "rock" / "rock.00099.wav").write_bytes(b"RIFF, but not audio at all")
    return root


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file of a site but its state, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != "state"}


@pytest.fixture(scope="module")
def built(model_folder: Path, corpus_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("atlas") / "site"
    build_atlas(model_folder, corpus_folder, out, top=TOP, layers=LAYERS, shard_size=5, batch_size=4,
                progress=False)
    return out


@pytest.fixture(scope="module")
def chosen(built: Path) -> dict:
    return json.loads((built / atlas_package.ATLAS_FILE).read_text())


def test_streaming_top_k_and_histogram_equal_a_sort_of_everything() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, (200, 7)).astype(np.float32)  # many ties
    labels = rng.integers(0, 3, 200)
    order = rng.permutation(200)  # batches arrive in any order and grouping
    top = TopK(7, 5)
    for batch in np.array_split(order, 13):
        top.update(scores[batch], batch)
    for feature in range(7):
        expected = sorted(range(200), key=lambda i: (-scores[i, feature], i))[:5]
        assert [i for i, _ in top.chosen(feature)] == expected
        assert [s for _, s in top.chosen(feature)] == [scores[i, feature] for i in expected]
    histogram = Histogram(top.low, top.scores[:, 0], 3, bins=4)
    for batch in np.array_split(order, 7):
        histogram.update(scores[batch], labels[batch])
    for feature in range(7):
        for label in range(3):
            reference, _ = np.histogram(scores[labels == label, feature], bins=histogram.edges[feature])
            np.testing.assert_array_equal(histogram.counts[feature, label], reference)
    small = TopK(2, 4)
    small.update(np.ones((2, 2)), np.array([5, 3]))
    assert small.chosen(0) == [(3, 1.0), (5, 1.0)]  # a corpus smaller than k


def test_the_chosen_excerpts_are_the_strongest_of_the_corpus(
    built: Path, chosen: dict, model_folder: Path, corpus_folder: Path
) -> None:
    model = keras.saving.load_model(model_folder / "model.keras")
    paths = sorted(p for p in corpus_folder.rglob("*.wav") if p.name != "rock.00099.wav")
    excerpts = [(p, offset) for p in paths for offset in (0.0, 0.25, 0.5, 0.75)]  # 1 s tracks, 0.25 s excerpts
    S = np.stack([magnitude(load_clip(p, TINY, offset), TINY) for p, offset in excerpts])[..., None]
    assert chosen["corpus"]["excerpts"] == len(excerpts) == 24
    for layer, entry in zip(LAYERS, chosen["layers"]):
        assert entry["layer"] == f"pool{layer}" and entry["block"] == layer
        maps = np.asarray(keras.Model(model.inputs, model.get_layer(f"pool{layer}").output)([S]))
        strength = maps.max(axis=(1, 2))
        for feature in entry["features"]:
            k = feature["feature"]
            ranking = sorted(range(len(excerpts)), key=lambda i: (-strength[i, k], str(excerpts[i][0]), excerpts[i][1]))
            got = [(Path(top["path"]), top["offset"]) for top in feature["top"]]
            assert got == [excerpts[i] for i in ranking[:TOP]]
            np.testing.assert_allclose([top["activation"] for top in feature["top"]], strength[ranking[:TOP], k],
                                       rtol=1e-5)
            assert [top["label"] for top in feature["top"]] == [excerpts[i][0].parent.name for i in ranking[:TOP]]
            assert sum(map(sum, feature["counts"])) == len(excerpts)  # every excerpt in the histogram once


def test_players_hold_the_excerpt_and_its_auralisation_at_one_gain_per_feature(
    built: Path, chosen: dict, model_folder: Path
) -> None:
    model = keras.saving.load_model(model_folder / "model.keras")
    entry = chosen["layers"][1]["features"][2]
    raws = []
    for top in entry["top"]:
        y = load_clip(top["path"], TINY, top["offset"])
        player, sr = sf.read(built / f"excerpts/e{top['excerpt']:06d}.wav", dtype="float32")
        assert sr == TINY.sr
        np.testing.assert_allclose(player, y, atol=1e-4)  # at its own level
        X = stft(y, TINY)
        D = deconvolve(model, np.abs(X), 3, [entry["feature"]])[0]
        raws.append(librosa.istft(X * D, hop_length=TINY.hop_length, n_fft=TINY.n_fft, length=TINY.n_samples))
    gain = 0.99 / max(np.abs(raw).max() for raw in raws)
    for rank, raw in enumerate(raws):
        written, _ = sf.read(built / f"pool3/assets/f{entry['feature']:03d}-{rank}.wav", dtype="float32")
        np.testing.assert_allclose(written, raw * gain, atol=1e-4)


def test_the_site_lists_skipped_files_and_resampling(built: Path, chosen: dict) -> None:
    index = (built / "index.html").read_text()
    assert "rock.00099.wav" in index and "cannot be decoded" in index
    assert [Path(item["path"]).name for item in chosen["skipped"]] == ["rock.00099.wav"]
    assert "2 at 22050 Hz: resampled to the model&#x27;s 11025 Hz" in index
    layer_page = (built / "pool3" / "index.html").read_text()
    assert layer_page.count('class="tile"') == 4
    feature_page = (built / "pool3" / "f002.html").read_text()
    assert feature_page.count("<audio") == 2 * TOP


def test_an_interrupted_run_resumes_to_the_same_site(
    built: Path, model_folder: Path, corpus_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    settings = {"top": TOP, "layers": LAYERS, "shard_size": 5, "batch_size": 4, "progress": False}
    real_save = build_module._save_shard
    saved = []

    def crash_after_two(out_folder: Path, result) -> None:
        if len(saved) == 2:
            raise KeyboardInterrupt
        saved.append(result.shard)
        real_save(out_folder, result)

    monkeypatch.setattr(build_module, "_save_shard", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        build_atlas(model_folder, corpus_folder, out, **settings)
    assert not (out / "index.html").exists()
    with pytest.raises(AtlasError, match="interrupted run.*--resume"):
        build_atlas(model_folder, corpus_folder, out, **settings)
    monkeypatch.setattr(build_module, "_save_shard", real_save)
    real_write = build_module.atomic_write_text

    def crash_on_second_chunk(path: Path, text: str) -> Path:
        if Path(path).name == "chunk-00001.done":
            raise KeyboardInterrupt
        return real_write(path, text)

    monkeypatch.setattr(build_module, "atomic_write_text", crash_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        build_atlas(model_folder, corpus_folder, out, resume=True, **settings)
    monkeypatch.setattr(build_module, "atomic_write_text", real_write)
    done = sorted(p.name for p in (out / "state" / "pass1").iterdir())
    assert done == [f"shard-{n:05d}.npz" for n in range(5)]  # 24 excerpts in shards of 5; the first two kept
    assert [p.name for p in (out / "state" / "pass2").iterdir()] == ["chunk-00000.done"]
    build_atlas(model_folder, corpus_folder, out, resume=True, **settings)
    assert _tree(out) == _tree(built)
    assert json.loads((out / "state" / "environment.json").read_text())["packages"]["keras"]  # what it ran with


def test_folder_rules(built: Path, model_folder: Path, corpus_folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    save_model(other, choi2016(TINY, 3, width=4, seed=2), TINY, ["blues", "jazz", "rock"])
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    with pytest.raises(AtlasError, match=f"holds the atlas of {model_folder}.*--force"):
        build_atlas(other, corpus_folder, copy, top=TOP, layers=LAYERS, progress=False)
    with pytest.raises(AtlasError, match="holds the atlas of"):
        build_atlas(other, corpus_folder, copy, top=TOP, layers=LAYERS, resume=True, progress=False)
    with pytest.raises(AtlasError, match="complete atlas"):
        build_atlas(model_folder, corpus_folder, copy, top=TOP, layers=LAYERS, shard_size=5, batch_size=4,
                    progress=False)
    build_atlas(other, corpus_folder, copy, top=1, layers=[5], force=True, progress=False)
    replaced = json.loads((copy / atlas_package.ATLAS_FILE).read_text())
    assert replaced["model"]["folder"] == str(other) and [layer["layer"] for layer in replaced["layers"]] == ["pool5"]
    assert not (copy / "pool1").exists()
    stranger = tmp_path / "notes"
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("keep me")
    for force in (False, True):
        with pytest.raises(AtlasError, match="holds no atlas"):
            build_atlas(model_folder, corpus_folder, stranger, force=force, progress=False)
    assert (stranger / "thesis.tex").read_text() == "keep me"


def test_bad_corpora(model_folder: Path, corpus_folder: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "blues").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no usable audio"):
        build_atlas(model_folder, empty, tmp_path / "a", progress=False)
    with pytest.raises(DatasetError, match="no usable audio.*cannot be decoded"):
        build_atlas(model_folder, [corpus_folder / "rock" / "rock.00099.wav"], tmp_path / "b", progress=False)
    with pytest.raises(DatasetError, match="no such folder or file"):
        build_atlas(model_folder, tmp_path / "missing", tmp_path / "c", progress=False)
    assert not any((tmp_path / name).exists() for name in "abc")
    # A list of files; a track shorter than one excerpt gives one padded excerpt, said on the page.
    short = tmp_path / "short" / "clip.wav"
    short.parent.mkdir()
    sf.write(short, _track(300.0, 0, TINY.sr)[: TINY.sr // 10], TINY.sr)
    corpus = scan_corpus([short, corpus_folder / "blues" / "blues.00000.wav"], TINY)
    assert [(e.path.name, e.label, e.offset) for e in corpus.excerpts][:2] == [
        ("blues.00000.wav", "blues", 0.0), ("blues.00000.wav", "blues", 0.25)]
    assert corpus.excerpts[-1].path == short and "padded with silence" in corpus.notes()[-1]


def test_command_line(model_folder: Path, corpus_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    from auralisation import cli

    out = tmp_path / "cli"
    assert cli.main(["atlas", "--model", str(model_folder), "--data", str(corpus_folder / "blues"),
                     str(corpus_folder / "jazz"), "--out", str(out), "--top", "2", "--layers", "5",
                     "--statistic", "mean"]) == 0
    written = json.loads((out / atlas_package.ATLAS_FILE).read_text())
    assert written["statistic"] == "mean" and written["corpus"]["labels"] == ["blues", "jazz"]
    assert cli.main(["atlas", "--model", str(model_folder), "--data", str(corpus_folder), "--out", str(out)]) == 1
    for option in (["--workers", "3"], ["--threads", "2"]):  # the local engine refuses what it cannot honour
        assert cli.main(["atlas", "--model", str(model_folder), "--data", str(corpus_folder), "--out",
                         str(tmp_path / "refused"), *option]) == 1
        assert f"{' '.join(option)}: " in capsys.readouterr().err and not (tmp_path / "refused").exists()
    real_import = builtins.__import__

    def no_ray(name: str, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(AtlasError, match=r"pip install 'auralisation\[ray\]'"):
        build_atlas(model_folder, corpus_folder, tmp_path / "ray", engine="ray", progress=False)


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
@pytest.mark.parametrize("page, players", [("index.html", 0), ("pool1/index.html", 0), ("pool3/f001.html", 2 * TOP)])
def test_pages_load_in_chromium_with_every_player_decoding(built: Path, tmp_path: Path, page: str, players: int) -> None:
    done = run_chromium(built / page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-selfcheck="ok"' in done.stdout, done.stdout[:2000]
    assert f'data-audio-ok="{players}"' in done.stdout
    assert [line for line in done.stderr.splitlines() if ":CONSOLE" in line] == []


@pytest.fixture
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two Ray nodes on this machine (127.0.0.1, one CPU and a small object store each), started without this
    checkout on their Python path and in another folder, so that their workers get the package only from the
    driver's ``runtime_env``; every process of both nodes is ended afterwards, even on failure."""
    cluster_utils = pytest.importorskip("ray.cluster_utils", reason="Ray is an optional extra: pip install "
                                                                      "'auralisation[ray]'")
    cluster = cluster_utils.Cluster(shutdown_at_exit=True)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("PYTHONPATH", raising=False)
            patch.chdir(tmp_path_factory.mktemp("nodes"))
            for head in (True, False):
                cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20, node_ip_address="127.0.0.1",
                                 **({"include_dashboard": False} if head else {}))
        yield cluster.address
    finally:
        cluster.shutdown()


def test_a_two_node_ray_cluster_gives_the_local_site_from_relative_paths(
    ray_cluster: str, model_folder: Path, corpus_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    model, corpus = os.path.relpath(model_folder, elsewhere), os.path.relpath(corpus_folder, elsewhere)
    command = [sys.executable, "-m", "auralisation.cli", "atlas", "--model", model, "--data", corpus, "--top",
               str(TOP), "--layers", "1,3"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ran = subprocess.run([*command, "--out", "ray-site", "--engine", "ray", "--address", ray_cluster], cwd=elsewhere,
                         env=env, capture_output=True, text=True, timeout=180, check=False)
    assert ran.returncode == 0, ran.stderr[-3000:]
    monkeypatch.chdir(elsewhere)
    build_atlas(model, corpus, "local-site", top=TOP, layers=LAYERS, progress=False)
    site, local = elsewhere / "ray-site", elsewhere / "local-site"
    assert _tree(site) == _tree(local)
    assert json.loads((site / atlas_package.ATLAS_FILE).read_text())["model"]["folder"] == str(model_folder)
    actors = json.loads((site / "state" / build_module.TIMINGS).read_text())["actors"]
    assert len({actor["node"] for actor in actors}) == 2  # one actor per node: the cluster's two CPUs
    for actor in actors:  # the driver's package, shipped by runtime_env; one thread each
        assert "runtime_resources" in actor["package"] and not actor["package"].startswith(str(REPO))
        assert (actor["intra_op_threads"], actor["inter_op_threads"], actor["omp_num_threads"]) == (1, 1, "1")


def test_a_unit_failing_on_a_worker_is_one_line_naming_it(model_folder: Path, corpus_folder: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'auralisation[ray]'")
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the workers' spectrogram cache should be a folder")
    with pytest.raises(AtlasError) as failed:
        build_atlas(model_folder, corpus_folder, tmp_path / "site", top=TOP, layers=LAYERS, engine="ray", workers=1,
                    cache=blocked, progress=False)
    message = str(failed.value)
    assert re.fullmatch(r"shard \d+ \(excerpts \d+-\d+, from \S+\.wav at [0-9.]+ s\) failed on a Ray worker: "
                        r"(NotADirectoryError|FileExistsError): .*--resume\)", message), message
    assert "\n" not in message and not ray.is_initialized()  # the local Ray it started is shut down


def test_label_selectivity_on_a_hand_worked_atlas() -> None:
    from auralisation.atlas.labels import label_selectivity

    def feature(k: int, labels: list[str], best: float = 1.0) -> dict:
        return {"feature": k, "counts": [[6, 0], [2, 0]],  # the corpus: 6 jazz, 2 rock
                "top": [{"label": label, "activation": best} for label in labels]}

    atlas = {"corpus": {"labels": ["jazz", "rock"]}, "layers": [{"layer": "pool2", "features": [
        feature(0, ["rock", "rock", "jazz"]),  # 2/3 rock, where the corpus has 1/4: lift 8/3, a selector
        feature(1, ["jazz", "jazz", "jazz"]),  # all jazz, but the corpus is 3/4 jazz: lift 4/3, not a selector
        feature(2, ["jazz", "rock", "rock"], best=0.0),  # never fires: left out
    ]}]}
    rows = label_selectivity(atlas)
    assert [(r.feature, r.label, r.count, r.share, r.lift, r.selector) for r in rows] == [
        (0, "rock", 2, 0.667, 2.67, True), (1, "jazz", 3, 1.0, 1.33, False)]


def test_a_corpus_with_stems_shows_what_each_stem_explains(model_folder: Path, built: Path, tmp_path: Path) -> None:
    from auralisation.analysis.stems import stem_shares, stem_weights
    from auralisation.synth import STEMS, stems_folder

    root = tmp_path / "generated"
    t = np.arange(TINY.sr) / TINY.sr
    for label, n in (("rock", 0), ("rock", 1), ("jazz", 0)):
        rng = np.random.default_rng(n)
        stems = {stem: np.zeros(TINY.sr) for stem in STEMS}
        stems["drums"] = np.clip(0.1 * rng.standard_normal(TINY.sr), -0.4, 0.4) * (np.sin(2 * np.pi * 4 * t) > 0.7)
        stems["bass"] = 0.3 * np.sin(2 * np.pi * 110 * (n + 1) * t)
        ints = {stem: np.round(y * 32767).astype(np.int16) for stem, y in stems.items()}
        track = root / label / f"{label}.{n:05d}.wav"
        track.parent.mkdir(parents=True, exist_ok=True)
        sf.write(track, np.sum(list(ints.values()), axis=0).astype(np.int16), TINY.sr, subtype="PCM_16")
        stems_folder(track).mkdir(parents=True)
        for stem, y in ints.items():
            sf.write(stems_folder(track) / f"{stem}.wav", y, TINY.sr, subtype="PCM_16")
    out = tmp_path / "site"
    build_atlas(model_folder, root, out, top=TOP, layers=(1,), progress=False)
    atlas = json.loads((out / atlas_package.ATLAS_FILE).read_text())
    entry = atlas["layers"][0]["features"][0]
    record = json.loads((out / "pool1/assets/f000-stems.json").read_text())
    assert record["stems"] == list(STEMS) and len(record["shares"]) == len(entry["top"])
    for top, shares, mix in zip(entry["top"], record["shares"], record["mix"]):
        stems = {stem: sf.read(stems_folder(top["path"]) / f"{stem}.wav", dtype="float32")[0] for stem in STEMS}
        start = int(round(top["offset"] * TINY.sr))
        weights = stem_weights(np.stack([magnitude(y[start:start + TINY.n_samples], TINY) for y in stems.values()]))
        clip = magnitude(load_clip(top["path"], TINY, top["offset"]), TINY)
        np.testing.assert_allclose(mix, stem_shares(clip**2, weights), atol=1e-6)  # the mix, weighted as D = |X| is
        # the shares the page shows are those of the auralisation one hears, the player on the page
        wave, _ = sf.read(out / f"pool1/assets/f000-{entry['top'].index(top)}.wav", dtype="float32")
        np.testing.assert_allclose(shares, stem_shares(magnitude(wave, TINY), weights), atol=1e-3)
    page = (out / "pool1" / "f000.html").read_text()
    assert "Stem measure:" in page and "Label rule:" in page
    assert page.count("<td>#") == len(entry["top"])
    assert (out / "pool1" / "index.html").read_text().count("<br><b>") == len(atlas["layers"][0]["features"])
    # a corpus without stems: no shares, no table, as before
    assert not list(built.rglob("*-stems.json")) and "Stem measure" not in (built / "pool1" / "f000.html").read_text()
