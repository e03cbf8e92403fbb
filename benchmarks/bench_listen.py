"""Benchmark: how fast the explorer answers its sliders, headless and in a browser, and how long a static report
takes.

Uses the paper's network at its full input (257 x 173): the trained model in ``models/choi2016`` when it exists,
else a randomly initialised one (the figures say which; weights do not change the cost). The clips are notebook 2's
(rendered from MIDI), else synthetic ones where FluidSynth is missing.

* **Headless**: the time to compute the view and update the widgets' values in the kernel, without a front end.
* **In the browser** (:mod:`auralisation.browser`, headless Chromium through Playwright): notebook 03 run in
  JupyterLab, then ``auralisation explore`` (Voila), with the same model; the feature and layer sliders are moved
  with the arrow keys after the clip's first view, and each move is timed in the page from the key press to the
  new auralisation's ``canplay`` event (kernel round trip included). Skipped, saying why, without Playwright or
  Chromium.

Run: ``.venv/bin/python benchmarks/bench_listen.py [--moves N] [--skip-browser]``
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the Playwright harness, tests/browser.py
from browser import ExplorerPage, explore_app, find_chromium, jupyterlab, launch  # noqa: E402

from auralisation.audio import AudioConfig, write_wav  # noqa: E402
from auralisation.errors import SynthError  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402
from auralisation.io import TrainedModel, load_model, save_model  # noqa: E402
from auralisation.ui.report import build_report  # noqa: E402
from auralisation.synth import demo_clips  # noqa: E402
from auralisation.ui.explorer import Explorer  # noqa: E402


def the_model() -> tuple[TrainedModel, str]:
    """The trained full-mode model if there is one, else a random ``choi2016``; and which it is."""
    folder = project_paths(fast=False).models / "choi2016"
    if (folder / "model.keras").is_file():
        trained = load_model(folder)
        return trained, f"trained model {folder}"
    config = AudioConfig()
    return TrainedModel(choi2016(config, 8, seed=0), config, [f"class{i}" for i in range(8)]), "random choi2016"


def the_clips(config: AudioConfig) -> tuple[dict[str, np.ndarray], str]:
    """Two of notebook 2's clips (the full band and the solo), else two synthetic clips without FluidSynth."""
    try:
        clips = demo_clips(config)
        return {name: clips[name] for name in ("full band", "solo")}, "notebook 2's clips 'full band' and 'solo'"
    except SynthError as error:
        reason = str(error)
    rng = np.random.default_rng(0)
    t = np.arange(config.n_samples) / config.sr
    clips = {}
    for i, f0 in enumerate((220.0, 330.0)):
        y = 0.2 * np.sin(2 * np.pi * f0 * t) + 0.1 * np.sin(2 * np.pi * 3 * f0 * t) + 0.02 * rng.standard_normal(len(t))
        y[:: config.sr // 4] += 0.6
        clips[f"synthetic {i}"] = y.astype(np.float32)
    return clips, f"synthetic clips ({reason})"


def ms(seconds: float) -> str:
    return f"{1000 * seconds:7.0f} ms"


def summary(name: str, times: list[float]) -> str:
    """Median, 90th percentile and maximum of ``times`` (seconds)."""
    return (f"{name}: median {ms(statistics.median(times))}, 90th percentile {ms(float(np.percentile(times, 90)))}, "
            f"max {ms(max(times))} ({len(times)} moves)")


def browser_moves(page: ExplorerPage, moves: int) -> dict[str, list[float]]:
    """Move the feature slider ``moves`` times (ArrowRight), then the layer slider ``moves`` times (up to layer 5
    and back); return the latencies, key press to playable audio, in seconds."""
    times: dict[str, list[float]] = {"feature slider": [], "layer slider": []}
    for _ in range(moves):
        times["feature slider"].append(page.change("feature", lambda: page.press("feature", "ArrowRight")).latency)
    layer, step = int(page.value("layer")), 1
    for _ in range(moves):
        if not 1 <= layer + step <= 5:
            step = -step
        layer += step
        key = "ArrowRight" if step > 0 else "ArrowLeft"
        times["layer slider"].append(page.change("layer", lambda: page.press("layer", key)).latency)
    return times


def in_the_browser(trained: TrainedModel, moves: int) -> None:
    """Time the explorer's sliders in JupyterLab (notebook 03) and in ``auralisation explore``, in Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("in the browser: skipped (Playwright for Python is not installed)")
        return
    if find_chromium() is None:
        print("in the browser: skipped (no Chromium; scripts/setup.sh --browser installs Debian's)")
        return
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        home = Path(tmp)
        model = save_model(home / "models" / "choi2016", trained.model, trained.config, trained.classes)
        (home / "notebooks").mkdir()
        shutil.copy(repo / "notebooks" / "03_listen.ipynb", home / "notebooks")
        env = {**os.environ, "AURALISATION_FAST": "0", "AURALISATION_HOME": str(home),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
        browser = launch(playwright)
        for where in ("JupyterLab, notebook 03", "auralisation explore (Voila)"):
            start = time.perf_counter()
            if where.startswith("JupyterLab"):
                server = jupyterlab(home / "notebooks", "03_listen.ipynb", env=env, timeout=180)
            else:
                server = explore_app(model, env=env, log=home / "app.log", timeout=180)
            with server:
                page = ExplorerPage.open(browser, server.url)
                if where.startswith("JupyterLab"):
                    errors = page.run_notebook(timeout=600)
                    if errors:
                        raise RuntimeError(f"notebook 03 failed in JupyterLab: {errors}")
                page.wait_for_explorer(timeout=600)
                what = "the kernel start and the whole notebook" if where.startswith("JupyterLab") else "the kernel start"
                print(f"{where}: server start to the explorer's first view (includes {what}): "
                      f"{time.perf_counter() - start:6.1f} s")
                for name, times in browser_moves(page, moves).items():
                    print(f"  in the browser, {summary(name, times)}")
                if page.errors:
                    print(f"  console errors: {page.errors}")
                page.page.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=12, help="moves of each slider in the browser (default 12)")
    parser.add_argument("--skip-browser", action="store_true", help="headless figures and the report only")
    args = parser.parse_args()
    trained, which = the_model()
    with tempfile.TemporaryDirectory() as tmp:
        clips, what = the_clips(trained.config)
        print(f"bench_listen: {which}, {what}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        start = time.perf_counter()
        explorer = Explorer(trained, clips, prefetch=False)
        print(f"first view of the first clip (layer 1, includes compiling): {ms(time.perf_counter() - start)}")
        names = list(explorer.clip.options)
        for layer in range(2, 6):
            explorer.layer.value = layer
            print(f"first view of layer {layer} (compiling + one batched deconvolution): {ms(explorer.latency)}")

        start = time.perf_counter()
        explorer.select(clip=names[1], layer=1)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for layer in range(2, 6):
            _ = explorer.cache.get(explorer._clip(names[1]), layer, "map").thumbnails
        print(f"first view of a second clip (layer 1, compiled):            {ms(first)}")
        print(f"preparing its layers 2-5 (what prefetch does after a first view): {ms(time.perf_counter() - start)}")

        rng = np.random.default_rng(0)
        feature_times, layer_times = [], []
        for _ in range(5):
            for layer in (2, 3, 4, 5, 1):
                explorer.layer.value = layer
                layer_times.append(explorer.latency)
                for feature in rng.choice(explorer.feature.max + 1, size=4, replace=False):
                    if int(feature) != explorer.feature.value:
                        explorer.feature.value = int(feature)
                        feature_times.append(explorer.latency)
        for name, times in (("feature slider", feature_times), ("layer slider", layer_times)):
            print(f"later views, headless, {summary(name, times)}")

        audio = write_wav(Path(tmp) / "clip.wav", next(iter(clips.values())), trained.config.sr, normalize="none")
        for layers, label in ((None, "all 5 layers"), ([1], "layer 1 only")):
            start = time.perf_counter()
            build_report(trained, [audio], Path(tmp) / "report", layers=layers, n_features=4, progress=False)
            print(f"report, one clip, {label}, 4 features per layer (includes compiling): "
                  f"{time.perf_counter() - start:6.1f} s")

    if not args.skip_browser:
        in_the_browser(trained, args.moves)


if __name__ == "__main__":
    main()
