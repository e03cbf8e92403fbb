"""The explorer where people use it: served by JupyterLab (notebook 03) or by ``auralisation explore``, opened in
headless Chromium, its controls moved from the keyboard, and what the page then plays checked and timed.

:func:`jupyterlab` and :func:`explore_app` start a server on 127.0.0.1 on a free port, in its own process group
(:class:`Server` ends the whole group); :class:`ExplorerPage` drives a page through Playwright. Each
:meth:`ExplorerPage.change` records the time, in the page's own clock, from the person's action (the key press, the
click) to the moment the new auralisation's ``<audio>`` element can play (its ``canplay`` event), which includes
the round trip between browser and kernel, and returns the new audio and figure (:class:`Change`). The tests
(``tests/test_browser.py``) and ``benchmarks/bench_listen.py`` use it.

Playwright for Python drives Debian's Chromium (:func:`find_chromium`, ``/usr/bin/chromium``); it never downloads
a browser (do not run ``playwright install``).

Examples
--------
>>> from playwright.sync_api import sync_playwright                              # doctest: +SKIP
>>> with explore_app("models/choi2016", env=dict(os.environ), log="app.log") as server, sync_playwright() as p:  # doctest: +SKIP
...     browser = launch(p)
...     page = ExplorerPage.open(browser, server.url)
...     page.wait_for_explorer()
...     change = page.change("feature", lambda: page.press("feature", "ArrowRight"))
...     print(f"{1000 * change.latency:.0f} ms")
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

__all__ = [
    "CHROMIUM_ARGS",
    "Change",
    "ExplorerPage",
    "Server",
    "explore_app",
    "find_chromium",
    "jupyterlab",
    "launch",
]

#: Debian's Chromium, headless, as a test runs it (no sandbox in containers, no GPU, nothing fetched in the
#: background).
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required")
#: Selectors of what the explorer shows (see :func:`auralisation.ui.view.audio_html` and ``image_html``).
EXPLORER = ".auralisation-explorer"
AURALISED = f'{EXPLORER} audio[aria-label^="auralised:"]'
FIGURE = f'{EXPLORER} img[alt*="deconvolved spectrogram"]'


def find_chromium() -> str | None:
    """The Chromium to drive: ``$AURALISATION_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on the PATH."""
    return os.environ.get("AURALISATION_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright: Any, *, executable: str | None = None) -> Any:
    """A headless Chromium (Playwright ``Browser``) from :func:`find_chromium`, with :data:`CHROMIUM_ARGS`."""
    executable = executable or find_chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium found: install Debian's chromium (scripts/setup.sh --browser)")
    return playwright.chromium.launch(executable_path=executable, headless=True, args=list(CHROMIUM_ARGS))


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ----------------------------------------------------------------------------------------------------------------
# Servers


@dataclasses.dataclass
class Server:
    """A server process in its own process group, listening on 127.0.0.1.

    Attributes
    ----------
    process : subprocess.Popen
    url : str
        Where the explorer is (with the token).
    log : pathlib.Path
        The process's standard output and error.
    """

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def tail(self, n: int = 30) -> str:
        """The last ``n`` lines of the log."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self, timeout: float = 10.0) -> None:
        """End the process group: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.process.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start(argv: Sequence[str], *, env: Mapping[str, str], log: Path, ready: Callable[[], str | None],
           timeout: float) -> Server:
    """Start ``argv`` in a new process group and wait (at most ``timeout`` s) until ``ready()`` gives its URL."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(argv), env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(process, "", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited with status {process.returncode}:\n{server.tail()}")
        url = ready()
        if url is not None:
            server.url = url
            return server
        time.sleep(0.25)
    server.stop()
    raise TimeoutError(f"{' '.join(argv[:4])}... did not listen within {timeout:.0f} s:\n{server.tail()}")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def jupyterlab(root: str | os.PathLike[str], notebook: str, *, env: Mapping[str, str], timeout: float = 90.0) -> Server:
    """JupyterLab on 127.0.0.1 serving the folder ``root``; :attr:`Server.url` opens ``notebook`` in it.

    Its runtime, settings and workspace files go into ``root/.jupyter-state`` (nothing is written to the home
    folder); ``window.jupyterapp`` is exposed so that a page can run the notebook's cells.
    """
    root = Path(root)
    state = root / ".jupyter-state"
    state.mkdir(exist_ok=True)
    env = {**env, "JUPYTER_RUNTIME_DIR": str(state / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(state / "ws"),
           "JUPYTERLAB_SETTINGS_DIR": str(state / "settings")}
    port, token = free_port(), secrets.token_hex(16)
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    url = f"http://127.0.0.1:{port}/lab/tree/{notebook}?token={token}"
    return _start(argv, env=env, log=root / ".jupyter-state" / "jupyterlab.log",
                  ready=lambda: url if _listening(port) else None, timeout=timeout)


def explore_app(model: str | os.PathLike[str], audio: Sequence[str | os.PathLike[str]] = (), *,
                env: Mapping[str, str], log: str | os.PathLike[str], timeout: float = 90.0,
                options: Sequence[str] = ()) -> Server:
    """``auralisation explore --model MODEL --audio ... --port N --no-browser OPTIONS``; :attr:`Server.url` is the
    URL it prints (with its token), once it listens."""
    port = free_port()
    argv = [sys.executable, "-m", "auralisation.cli", "explore", "--model", str(model), "--port", str(port),
            "--no-browser", *options]
    if audio:
        argv += ["--audio", *map(str, audio)]
    log = Path(log)

    def ready() -> str | None:
        found = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", log.read_text(errors="replace"))
        return found.group(1) if found and _listening(port) else None

    return _start(argv, env=env, log=log, ready=ready, timeout=timeout)


# ----------------------------------------------------------------------------------------------------------------
# The page


@dataclasses.dataclass(frozen=True)
class Change:
    """What one action changed in the page.

    Attributes
    ----------
    what : str
    latency : float
        Seconds from the action (key press, click, file chosen) to the new auralisation's ``canplay`` event.
    figure_latency : float or None
        Seconds from the action to the new figure in the page (None when none was awaited).
    audio : numpy.ndarray
        The auralisation now in the page, decoded from its WAV (float32).
    sr : int
    browser_peak : float
        Its peak as Chromium's own decoder (``decodeAudioData``) reads it.
    figure : bytes
        The figure's PNG.
    status : str
        The explorer's status line.
    """

    what: str
    latency: float
    figure_latency: float | None
    audio: np.ndarray = dataclasses.field(repr=False)
    sr: int
    browser_peak: float
    figure: bytes = dataclasses.field(repr=False)
    status: str


_WATCH = """([auralised, figure, timeout, needFigure]) => {
  const source = () => { const a = document.querySelector(auralised); return a && a.querySelector('source')
    ? a.querySelector('source').src : null; };
  const picture = () => { const i = document.querySelector(figure); return i ? i.getAttribute('src') : null; };
  const audioBefore = source(), figureBefore = picture();
  const state = {start: null}, installed = performance.now();
  // A file chooser's change event carries an earlier time stamp: never start before the watch began.
  const onStart = (event) => { if (state.start === null) state.start = Math.max(event.timeStamp, installed); };
  const kinds = ['keydown', 'pointerdown', 'input', 'change'];
  kinds.forEach((kind) => document.addEventListener(kind, onStart, true));
  window.__auralisationChange = new Promise((resolve, reject) => {
    let audioAt = null, figureAt = null, watched = null;
    const finish = () => {
      if (audioAt === null || (needFigure && figureAt === null)) return;
      observer.disconnect();
      clearTimeout(timer);
      kinds.forEach((kind) => document.removeEventListener(kind, onStart, true));
      // No event seen (an upload's file input lives outside the document): from the start of the watch.
      const start = state.start === null ? installed : state.start;
      resolve({start, audio: audioAt - start, figure: figureAt === null ? null : figureAt - start});
    };
    const check = () => {
      if (figureAt === null && picture() !== figureBefore) figureAt = performance.now();
      const element = document.querySelector(auralised);
      if (element && element !== watched && source() !== audioBefore) {
        watched = element;
        const ready = () => { if (watched === element && audioAt === null) { audioAt = performance.now(); finish(); } };
        if (element.readyState >= 3) ready(); else element.addEventListener('canplay', ready, {once: true});
      }
      finish();
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    const timer = setTimeout(() => { observer.disconnect(); reject(new Error(
      `no new playable auralisation and figure within ${timeout} ms (audio ready: ${audioAt !== null}, ` +
      `figure changed: ${figureAt !== null})`)); }, timeout);
  });
}"""

_DECODE = """async (auralised) => {
  const source = document.querySelector(auralised).querySelector('source').src;
  const bytes = await (await fetch(source)).arrayBuffer();
  const rate = new DataView(bytes).getUint32(24, true);  // the WAV's own rate: decoded without resampling
  const decoded = await new OfflineAudioContext(1, 1, rate).decodeAudioData(bytes.slice(0));
  let peak = 0;
  for (let c = 0; c < decoded.numberOfChannels; c++) {
    for (const v of decoded.getChannelData(c)) peak = Math.max(peak, Math.abs(v));
  }
  return {source, peak};
}"""


class ExplorerPage:
    """A Chromium page showing the explorer, with the console errors it logs.

    Attributes
    ----------
    page : playwright.sync_api.Page
    errors : list of str
        Console errors and uncaught exceptions, as they came.
    """

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    @classmethod
    def open(cls, browser: Any, url: str, *, width: int = 1400, height: int = 1000) -> "ExplorerPage":
        """Open ``url`` in a new page of ``width`` x ``height`` CSS pixels."""
        explorer = cls(browser.new_page(viewport={"width": width, "height": height}))
        explorer.page.goto(url, wait_until="commit")
        return explorer

    # --- JupyterLab -------------------------------------------------------------------------------------------

    def run_notebook(self, timeout: float = 120.0) -> list[str]:
        """Wait for the notebook's kernel, run all its cells (JupyterLab's *Run All Cells*) and return the error
        outputs of its cells (``"ename: evalue"``; empty when every cell ran)."""
        kernel = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                  " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
                  " return !!k && k.status === 'idle'; }")
        self.page.wait_for_function(kernel, timeout=1000 * timeout, polling=250)
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.page.wait_for_function(kernel, timeout=1000 * timeout, polling=250)
        return self.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.model.toJSON().cells"
            ".flatMap((cell) => cell.outputs || []).filter((output) => output.output_type === 'error')"
            ".map((output) => `${output.ename}: ${output.evalue}`)")

    # --- the explorer -----------------------------------------------------------------------------------------

    def wait_for_explorer(self, timeout: float = 120.0) -> None:
        """Wait until the explorer shows a playable auralisation and its figure."""
        self.page.wait_for_selector(AURALISED, state="attached", timeout=1000 * timeout)
        self.page.wait_for_selector(FIGURE, state="attached", timeout=1000 * timeout)
        self.page.locator(AURALISED).scroll_into_view_if_needed()

    def control(self, name: str) -> Any:
        """The focusable element of the control described ``name``: a slider's handle (``"layer"``,
        ``"feature"``), a dropdown's ``<select>`` (``"clip"``, ``"method"``), a radio group's checked button
        (``"seeding"``, ``"loudness"``), the upload button (``"upload"``)."""
        explorer = self.page.locator(EXPLORER)
        label = self.page.locator("label.widget-label", has_text=re.compile(f"^{re.escape(name)}$"))
        if name == "upload":
            return explorer.locator("button.widget-upload")
        for kind, inner in ((".widget-hslider", ".noUi-handle"), (".widget-dropdown", "select"),
                            (".widget-radio", "input[type=radio]:checked")):
            found = explorer.locator(kind).filter(has=label).locator(inner)
            if found.count():
                return found.first
        raise LookupError(f"the explorer has no control {name!r}")

    def radio(self, name: str, choice: str) -> Any:
        """The radio button ``choice`` of the radio group ``name`` (``"loudness"``, ``"peak"``)."""
        label = self.page.locator("label.widget-label", has_text=re.compile(f"^{re.escape(name)}$"))
        group = self.page.locator(EXPLORER).locator(".widget-radio").filter(has=label)
        return group.locator("label", has_text=re.compile(f"^{re.escape(choice)}$")).locator("input")

    def press(self, name: str, key: str) -> None:
        """Focus the control ``name`` and press ``key`` (``"ArrowRight"``, say)."""
        self.control(name).focus()
        self.page.keyboard.press(key)

    def status(self) -> str:
        """The explorer's status line (it names the clip, layer, feature and method shown)."""
        return self.page.locator(EXPLORER).locator(".widget-html-content", has_text=" shown in ").first.text_content()

    def value(self, name: str) -> str:
        """What the control ``name`` shows now (a slider's readout, a dropdown's or radio group's choice)."""
        control = self.control(name)
        if name in ("layer", "feature"):
            return control.get_attribute("aria-valuetext")
        if name in ("seeding", "loudness"):
            return control.evaluate("(input) => input.parentElement.textContent.trim()")
        return control.input_value()

    def change(self, what: str, action: Callable[[], None], *, figure: bool = True, timeout: float = 30.0) -> Change:
        """Do ``action`` and wait (at most ``timeout`` s) for a new playable auralisation and, with ``figure``, a
        new figure (the loudness changes what is heard, not what is drawn).

        Raises
        ------
        playwright.sync_api.Error
            Nothing new within ``timeout`` (the message says which of the two did not come).
        """
        self.page.evaluate(_WATCH, [AURALISED, FIGURE, int(1000 * timeout), figure])
        action()
        try:
            times = self.page.evaluate("() => window.__auralisationChange")
        except Exception as error:  # Playwright's Error: say what was changed and what the page shows
            raise AssertionError(f"{what}: {error}\nstatus: {self.status()}\nconsole errors: {self.errors}") from None
        decoded = self.page.evaluate(_DECODE, AURALISED)
        wav = base64.b64decode(decoded["source"].split(",", 1)[1])
        audio, sr = sf.read(io.BytesIO(wav), dtype="float32")
        src = self.page.locator(FIGURE).get_attribute("src")
        figure_latency = None if times["figure"] is None else times["figure"] / 1000
        return Change(what, times["audio"] / 1000, figure_latency, audio, int(sr), float(decoded["peak"]),
                      base64.b64decode(src.split(",", 1)[1]), self.status())

    def tab_order(self, stops: int = 40) -> list[str]:
        """Press Tab ``stops`` times from the clip picker; return what got the focus each time: the label of the
        control it belongs to (``"layer"``), an ``<audio>``'s ``aria-label``, or a button's text."""
        self.control("clip").focus()
        names = []
        for _ in range(stops):
            self.page.keyboard.press("Tab")
            names.append(self.page.evaluate("""() => {
              const e = document.activeElement;
              if (!e) return '';
              if (e.getAttribute('aria-label')) return e.getAttribute('aria-label');
              const box = e.closest('.widget-inline-hbox, .widget-radio');
              const label = box && box.querySelector(':scope > label.widget-label');
              if (label && label.textContent) return label.textContent;
              return e.textContent.trim() || e.tagName.toLowerCase();
            }"""))
        return names
