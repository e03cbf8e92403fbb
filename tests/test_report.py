"""Tests of auralisation.ui.report: the static HTML report, its files, and the page in headless Chromium.

The model is a narrow random ``choi2016`` on a tiny front end, saved with :func:`auralisation.io.save_model`
so that the command-line function loads it like a real one. The browser tests need Debian's ``chromium`` and skip,
saying so, where it is missing.
"""

from __future__ import annotations

import argparse
import html.parser
import os
import shutil
from pathlib import Path
from urllib.parse import unquote

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import librosa  # noqa: E402
import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from chromium import CHROMIUM, NO_CHROMIUM, run_chromium  # noqa: E402
from auralisation.cli.report import add_report_arguments, run_report  # noqa: E402
from auralisation.ui import report  # noqa: E402
from auralisation.audio import AudioConfig, load_clip, stft  # noqa: E402
from auralisation.deconv import deconvolve  # noqa: E402
from auralisation.errors import AudioError, ModelError, ParameterError  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.io import load_model, save_model  # noqa: E402

#: 0.25 s clips: 33 bins x 87 frames (five poolings fit), hop n_fft / 2.
TINY = AudioConfig(duration=0.25, n_fft=64, hop_length=32)
LAYERS = (1, 5)
FEATURES = 2


class _Sources(html.parser.HTMLParser):
    """The ``src`` of every ``<audio>`` and ``<img>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.audio: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        src = dict(attrs).get("src")
        if tag == "audio":
            self.audio.append(unquote(src))
        elif tag == "img":
            self.images.append(unquote(src))


def sources(page: Path) -> _Sources:
    parser = _Sources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def write_clip(path: Path, frequency: float, seed: int, seconds: float = 0.25) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * TINY.sr)) / TINY.sr
    y = 0.3 * np.sin(2 * np.pi * frequency * t) + 0.03 * rng.standard_normal(len(t))
    y[:: TINY.sr // 8] += 0.5
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y.astype(np.float32), TINY.sr, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    save_model(folder, choi2016(TINY, 3, width=4, seed=1), TINY, ["low", "mid", "high"])
    return folder


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two clips with the same file name in different folders (their assets must not collide)."""
    folder = tmp_path_factory.mktemp("audio")
    return [write_clip(folder / "one" / "song.wav", 300.0, 0), write_clip(folder / "two" / "song.wav", 1200.0, 1)]


@pytest.fixture(scope="module")
def built(model_folder: Path, clips: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report, built through the command-line functions."""
    parser = argparse.ArgumentParser()
    add_report_arguments(parser)
    out = tmp_path_factory.mktemp("report") / "out"
    args = parser.parse_args(
        ["--model", str(model_folder), "--audio", *map(str, clips), "--out", str(out),
         "--layers", ",".join(map(str, LAYERS)), "--n-features", str(FEATURES), "--quiet"]
    )
    assert run_report(args) == 0
    return out / report.PAGE


def test_every_player_and_image_of_the_page_exists_and_decodes(built: Path) -> None:
    found = sources(built)
    assert len(found.audio) == 2 * (1 + len(LAYERS) * FEATURES)
    assert len(set(found.audio)) == len(found.audio)
    assert len(found.images) == 2 * (1 + len(LAYERS))
    for src in found.audio:
        y, sr = sf.read(built.parent / src, dtype="float32")
        assert sr == TINY.sr and y.shape == (TINY.n_samples,)
        assert np.all(np.isfinite(y)) and 0 < np.abs(y).max() <= 1.0
    for src in found.images:
        image = matplotlib.image.imread(built.parent / src)
        assert image.ndim == 3 and image[..., :3].std() > 0.05


def test_the_players_hold_the_most_active_features_at_comparable_loudness(
    built: Path, model_folder: Path, clips: list[Path]
) -> None:
    trained = load_model(model_folder)
    model = trained.model
    found = sources(built)
    y = load_clip(clips[1], TINY)
    X = stft(y, TINY)
    S = np.abs(X)
    assert sorted({Path(src).parent.as_posix() for src in found.audio}) == ["song", "song-2"]
    folder = built.parent / "song-2"
    original, _ = sf.read(folder / "original.wav", dtype="float32")
    np.testing.assert_allclose(original, y, atol=1e-4)  # the clip at its own level
    for layer in LAYERS:
        maps = np.asarray(keras.Model(model.inputs, model.get_layer(f"pool{layer}").output)([S[None, ..., None]]))[0]
        strongest = np.argsort(-maps.max(axis=(0, 1)), kind="stable")[:FEATURES]
        D = deconvolve(model, S, layer, strongest)
        raw = [librosa.istft(X * d, hop_length=TINY.hop_length, n_fft=TINY.n_fft, length=TINY.n_samples) for d in D]
        # One gain for the layer's features: the loudest at a peak of 0.99, the others in proportion.
        gain = 0.99 / max(np.abs(r).max() for r in raw)
        for feature, reference in zip(strongest, raw):
            path = folder / f"layer{layer}_feature{feature:03d}.wav"
            assert path.relative_to(built.parent).as_posix() in found.audio
            written, _ = sf.read(path, dtype="float32")
            np.testing.assert_allclose(written, reference * gain, atol=1e-4)


def test_page_is_written_last(model_folder: Path, clips: list[Path], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / report.PAGE).write_text("earlier page")
    written = []

    def failing(path, *args, **kwargs):
        written.append(path)
        if len(written) == 3:
            raise OSError("disk full")
        return Path(path)

    monkeypatch.setattr(report, "write_wav", failing)
    with pytest.raises(OSError, match="disk full"):
        report.build_report(load_model(model_folder), clips, out, layers=[1], n_features=2, progress=False)
    assert (out / report.PAGE).read_text() == "earlier page"
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_bad_input_names_the_problem_and_writes_nothing(model_folder: Path, clips: list[Path], tmp_path: Path) -> None:
    trained = load_model(model_folder)
    out = tmp_path / "out"
    with pytest.raises(AudioError, match="missing.wav"):
        report.build_report(trained, [clips[0], tmp_path / "missing.wav"], out, progress=False)
    with pytest.raises(ModelError, match="block 7 does not exist"):
        report.build_report(trained, clips, out, layers=[1, 7], progress=False)
    with pytest.raises(ParameterError, match="at least 1"):
        report.build_report(trained, clips, out, n_features=0, progress=False)
    with pytest.raises(ParameterError, match="no audio"):
        report.build_report(trained, [], out, progress=False)
    assert not out.exists()


def test_command_line_entry(model_folder: Path, clips: list[Path], tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from auralisation import cli

    out = tmp_path / "cli"
    status = cli.main(["report", "--model", str(model_folder), "--audio", str(clips[0]), "--out", str(out),
                       "--layers", "2", "--n-features", "1", "--loudness", "peak", "--quiet"])
    assert status == 0
    found = sources(out / report.PAGE)
    assert len(found.audio) == 2
    peaks = [np.abs(sf.read(out / src, dtype="float32")[0]).max() for src in found.audio]
    np.testing.assert_allclose(peaks, 0.99, atol=1e-3)
    assert cli.main(["report", "--model", str(model_folder), "--audio", str(tmp_path / "nope.wav"),
                     "--out", str(out)]) == 1


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_page_loads_in_chromium_with_every_player_decoding(built: Path, tmp_path: Path) -> None:
    done = run_chromium(built, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    expected = 2 * (1 + len(LAYERS) * FEATURES)
    assert 'data-selfcheck="ok"' in dom, dom[:2000]
    assert f'data-audio-ok="{expected}"' in dom and f'data-audio-total="{expected}"' in dom
    assert f"Self-check: all {expected} players decode" in dom
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_page_screenshot_is_not_blank(built: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    done = run_chromium(built, tmp_path / "profile", "--hide-scrollbars", "--window-size=1200,900",
                        f"--screenshot={shot}")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (900, 1200)
    assert pixels.std() > 0.1
    assert np.mean(pixels.min(axis=-1) < 0.5) > 0.02  # text and spectrograms, not an empty white page


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_self_check_reports_a_broken_player(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(built.parent, copy)
    broken = copy / sources(built).audio[-1]
    broken.write_bytes(b"not audio at all")
    done = run_chromium(copy / report.PAGE, tmp_path / "profile", "--dump-dom")
    assert 'data-selfcheck="failed"' in done.stdout
    assert broken.relative_to(copy).as_posix() in done.stdout
