"""The explorer in a real browser: notebook 03 in JupyterLab, and ``auralisation explore`` (Voila), in headless
Chromium driven through Playwright (``tests/browser.py``).

Each server is started here on 127.0.0.1 (a free port, a token) and ended with its process group. The model is a
narrow random ``choi2016`` on a 1 s front end, saved where notebook 03 looks in fast mode (``AURALISATION_HOME``),
so that the notebook runs in seconds. The page is moved from the keyboard (arrow keys on the sliders, the method
dropdown and the loudness radio group), and after each move the test checks that the figure changed and that the
auralisation's ``<audio>`` holds new audio that Chromium decodes and that is not silent, with no error in the
console or the notebook. Skips, saying why, without Playwright or Chromium (``scripts/setup.sh --browser``).
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from auralisation.audio import AudioConfig  # noqa: E402
from browser import AURALISED, Change, ExplorerPage, explore_app, find_chromium, jupyterlab, launch  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.io import save_model  # noqa: E402

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install "
                                                              "playwright; no browser download is needed)")
if find_chromium() is None:
    pytest.skip("no Chromium: install Debian's chromium (scripts/setup.sh --browser)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
#: 1 s clips, 129 bins x 87 frames: five poolings fit, every view takes milliseconds.
SMALL = AudioConfig(duration=1.0, n_fft=256, hop_length=128)
#: Bounded waits: a kernel start and notebook 03 on a loaded 2-core machine.
SERVER_TIMEOUT = 90.0
NOTEBOOK_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder: the model where fast-mode notebook 03 loads it, the notebook, and a clip to upload."""
    home = tmp_path_factory.mktemp("home")
    save_model(home / "models" / "fast" / "choi2016", choi2016(SMALL, 3, width=8, seed=1), SMALL,
               ["low", "mid", "high"])
    (home / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / "03_listen.ipynb", home / "notebooks")
    t = np.arange(SMALL.n_samples) / SMALL.sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1320 * t) * (t % 0.25 < 0.1)
    sf.write(home / "mine.wav", y.astype(np.float32), SMALL.sr)
    return home


@pytest.fixture(scope="module")
def env(home: Path) -> dict[str, str]:
    """The servers' environment: this checkout's package, the fast mode, the project folder ``home``."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "AURALISATION_FAST": "1", "AURALISATION_HOME": str(home),
            "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def check_change(change: Change, before: Change | None) -> None:
    """The page holds a new, decodable, audible auralisation and a new figure."""
    assert change.sr == SMALL.sr and change.audio.shape == (SMALL.n_samples,)
    assert np.all(np.isfinite(change.audio)) and np.abs(change.audio).max() > 1e-3
    assert change.browser_peak == pytest.approx(np.abs(change.audio).max(), rel=1e-3, abs=1e-4)
    assert change.figure[:4] == b"\x89PNG"
    assert 0 < change.latency < 30
    if before is not None:
        assert not np.array_equal(change.audio, before.audio)
        # The loudness changes what is heard, not what is drawn.
        assert (change.figure != before.figure) == (change.what != "loudness")
        assert (change.figure_latency is None) == (change.what == "loudness")


def exercise(page: ExplorerPage, *, arrows_on_dropdowns: bool) -> list[Change]:
    """Move the feature and layer sliders (arrow keys), the method (arrow key, or a pick where JupyterLab keeps the
    arrow keys for its own cell navigation) and the loudness (Space on a radio button); check each view."""
    def method() -> None:
        if arrows_on_dropdowns:
            page.press("method", "ArrowDown")
        else:
            page.control("method").select_option("guided")

    def loudness() -> None:
        page.radio("loudness", "peak").focus()
        page.page.keyboard.press("Space")

    moves = [
        ("feature", lambda: page.press("feature", "ArrowRight"), "layer 1 (pool1), feature 1, deconvnet"),
        ("feature", lambda: page.press("feature", "ArrowRight"), "layer 1 (pool1), feature 2, deconvnet"),
        ("layer", lambda: page.press("layer", "ArrowRight"), "layer 2 (pool2), feature 2, deconvnet"),
        ("layer", lambda: page.press("layer", "ArrowRight"), "layer 3 (pool3), feature 2, deconvnet"),
        ("method", method, "layer 3 (pool3), feature 2, guided"),
        ("loudness", loudness, "layer 3 (pool3), feature 2, guided"),
    ]
    status = page.page.locator(".auralisation-explorer .widget-html-content", has_text=" shown in ")
    sync_api.expect(status).to_contain_text("layer 1 (pool1), feature 0, deconvnet")
    changes: list[Change] = []
    for what, action, expected in moves:
        change = page.change(what, action, figure=what != "loudness")
        check_change(change, changes[-1] if changes else None)
        sync_api.expect(status).to_contain_text(expected)
        assert f"auralised: {page.value('clip')}, {expected}" in page.page.locator(AURALISED).get_attribute("aria-label")
        changes.append(change)
    assert page.value("method") == "guided" and "guided" in page.status()
    assert page.value("loudness") == "peak"
    assert "\u26a0" not in page.page.locator(".auralisation-explorer").text_content()
    assert page.errors == []
    return changes


def check_accessibility(page: ExplorerPage) -> None:
    """Every control is a Tab stop; players and images name clip, layer and feature; no label is cut."""
    stops = page.tab_order(40)
    for name in ("layer", "feature", "method", "seeding", "loudness"):
        assert name in stops, stops
    assert any(stop.startswith("auralised: ") for stop in stops), stops
    labels = page.page.evaluate("""() => ({
      audio: Array.from(document.querySelectorAll('.auralisation-explorer audio')).map((a) => a.getAttribute('aria-label') || ''),
      images: Array.from(document.querySelectorAll('.auralisation-explorer img')).map((i) => i.alt),
      cut: Array.from(document.querySelectorAll('.widget-radio-box label, .widget-button, .widget-upload'))
        .filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent.trim()),
    })""")
    clip = page.value("clip")
    assert labels["audio"] and all(label.startswith(("original: ", "auralised: ", "residual: "))
                                   and clip in label for label in labels["audio"])
    assert all("layer " in label and "feature " in label for label in labels["audio"] if "original" not in label)
    assert labels["images"] and all(clip in alt and "layer " in alt and "feature " in alt for alt in labels["images"])
    assert labels["cut"] == []


def record(record_property: Callable[[str, object], None], changes: list[Change]) -> None:
    """Keep each move's latency, action to playable audio, in the test report (JUnit XML ``--junitxml``)."""
    for n, change in enumerate(changes):
        record_property(f"latency_ms_{n}_{change.what}", round(1000 * change.latency, 1))


def test_notebook_03_in_jupyterlab(home: Path, env: dict[str, str], browser: object,
                                   record_property: Callable[[str, object], None]) -> None:
    with jupyterlab(home / "notebooks", "03_listen.ipynb", env=env, timeout=SERVER_TIMEOUT) as server:
        page = ExplorerPage.open(browser, server.url)
        try:
            assert page.run_notebook(NOTEBOOK_TIMEOUT) == []
            page.wait_for_explorer()
            record(record_property, exercise(page, arrows_on_dropdowns=False))
            check_accessibility(page)
        finally:
            page.page.close()


def test_standalone_app_serves_the_explorer_alone(home: Path, env: dict[str, str], browser: object,
                                                  record_property: Callable[[str, object], None]) -> None:
    with explore_app(home / "models" / "fast" / "choi2016", env=env, log=home / "app.log",
                     timeout=SERVER_TIMEOUT) as server:
        page = ExplorerPage.open(browser, server.url)
        try:
            page.wait_for_explorer(NOTEBOOK_TIMEOUT)
            changes = exercise(page, arrows_on_dropdowns=True)
            # A clip of the visitor's own, through the upload button's file chooser.
            with page.page.expect_file_chooser() as chooser:
                page.control("upload").click()
            change = page.change("upload", lambda: chooser.value.set_files(home / "mine.wav"))
            check_change(change, None)
            record(record_property, [*changes, change])
            sync_api.expect(page.page.locator(AURALISED)).to_have_attribute("aria-label", re.compile("^auralised: mine, "))
            assert page.value("clip") == "mine"
            check_accessibility(page)
            # The explorer alone: no code, no path on the server's disk, no file browser, no terminal, no API.
            assert page.page.locator(".jp-InputArea-editor, .jp-CodeMirrorEditor, .cm-editor").count() == 0
            assert "explorer_from_environment" not in page.page.content()
            assert page.page.locator("input[type=text]").count() == 0
            assert page.errors == []
        finally:
            page.page.close()
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(server.url))
        token = server.url.split("token=")[1]
        for path in ("/tree", "/lab", "/api/contents", "/api/terminals", "/terminals/1", "/voila/files/explorer.ipynb",
                     "/voila/tree", "/api/kernels"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{origin}{path}?token={token}", timeout=10)
            assert refused.value.code in (403, 404, 405), path
        # Without the token: refused, or sent to the login page (Jupyter Server's), never the explorer.
        try:
            with urllib.request.urlopen(f"{origin}/", timeout=10) as response:
                assert urlsplit(response.geturl()).path == "/login"
        except urllib.error.HTTPError as refused:
            assert refused.code == 403


def test_the_app_holds_two_visitors_and_tells_the_third_it_is_busy(home: Path, env: dict[str, str], browser: object,
                                                                   tmp_path: Path) -> None:
    from auralisation.ui.explorer import UPLOAD_LIMIT

    with explore_app(home / "models" / "fast" / "choi2016", env=env, log=home / "visitors.log",
                     timeout=SERVER_TIMEOUT, options=["--max-visitors", "2"]) as server:
        # Each page's first bytes come once its visitor's kernel is started: two seats taken when the third comes.
        visitors = [ExplorerPage.open(browser, server.url) for _ in range(2)]
        third = browser.new_page()
        try:
            answer = third.goto(server.url, timeout=30_000)
            assert answer.status == 503
            sync_api.expect(third.locator("#busy")).to_have_text("The explorer is busy")
            assert "2 visitors are exploring now" in third.content()
            for page in visitors:  # each of the two has working sliders and audio
                page.wait_for_explorer(NOTEBOOK_TIMEOUT)
                check_change(page.change("feature", lambda: page.press("feature", "ArrowRight")), None)
            # Uploads: one over the stated limit is refused in the page before it is sent; one that is not audio is
            # refused by the kernel; either way one line, and the explorer as it was.
            page = visitors[0]
            note = page.page.locator("[data-upload-limit]")
            sync_api.expect(note).to_contain_text("at most 8 MB")
            big, noise = tmp_path / "long.wav", tmp_path / "noise.wav"
            big.write_bytes(bytes(UPLOAD_LIMIT + 1))
            noise.write_bytes(np.random.default_rng(0).bytes(300_000))
            shown = page.page.locator(AURALISED).get_attribute("aria-label")
            for path, where, said in ((big, note, "long.wav is 8.0 MB, over the 8 MB limit"),
                                      (noise, page.page.locator(".auralisation-explorer .widget-html-content",
                                                                has_text="\u26a0"), "noise.wav is not audio")):
                with page.page.expect_file_chooser() as chooser:
                    page.control("upload").click()
                chooser.value.set_files(path)
                sync_api.expect(where).to_contain_text(said)
                assert page.value("clip") != path.stem and page.page.locator(AURALISED).get_attribute("aria-label") == shown
            assert [page.errors for page in visitors] == [[], []]
        finally:
            for page in visitors:
                page.page.close()
            third.close()
