"""Benchmark: ``auralisation explore`` with k visitors at once (k = 1, 2, 3): memory per visitor, time to first view,
and the latency of a slider step while every visitor moves a slider.

For each k a fresh server (``--max-visitors`` k) is started on 127.0.0.1 and k visitors, each a headless Chromium
of its own in a process of its own (``tests/browser.py``), open the page at the same moment:

* **time to first view**: from opening the page to the explorer showing a playable auralisation and its figure
  (kernel start, TensorFlow and the model loaded, the first view computed), per visitor;
* **memory per visitor**: once all k explorers are shown, each visitor's kernel process: its resident set (RSS,
  TensorFlow's shared libraries counted in every kernel) and its unique set (USS, what one more visitor adds);
* **step latency**: then all k visitors step the feature slider ``--moves`` times together (they start together;
  each waits for its own new auralisation before the next step), each step timed in the page from the key press to
  the new auralisation's ``canplay`` (``ExplorerPage.change``); p50 and p90 over all steps.

The model is the trained ``models/choi2016`` when it exists, else a random ``choi2016`` at the full input (257 x 173;
weights do not change the cost); the clips are the app's default (notebook 2's demo clips, rendered with FluidSynth).
The figures depend on the machine and on what else runs on it: the output names the CPU and the load average.

Run: ``.venv/bin/python benchmarks/bench_visitors.py [--visitors 1 2 3] [--moves 5]``
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the Playwright harness, tests/browser.py
from browser import ExplorerPage, explore_app, launch  # noqa: E402

#: Seconds a visitor may wait for the first view, and for one step, on a loaded machine.
FIRST_VIEW_TIMEOUT, STEP_TIMEOUT = 600.0, 120.0


def the_model(scratch: Path) -> tuple[Path, str]:
    """The trained model's folder if there is one, else a random full-size choi2016 saved in ``scratch``."""
    # Imported here: the visitors' processes (spawned, they import this file) need no TensorFlow.
    from auralisation.audio import AudioConfig
    from auralisation.io import save_model
    from auralisation.models import choi2016
    from auralisation.paths import project_paths

    trained = project_paths(fast=False).models / "choi2016"
    if (trained / "model.keras").is_file():
        return trained, f"trained model {trained}"
    folder = scratch / "random-choi2016"
    save_model(folder, choi2016(AudioConfig(), 8, seed=0), AudioConfig(), [f"class{i}" for i in range(8)])
    return folder, "a random choi2016 (no models/choi2016 yet)"


def visitor(url: str, moves: int, ready: Any, results: Any) -> None:
    """One visitor: open the page, wait for the explorer, then (with the others) step the feature slider."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        start = time.perf_counter()
        page = ExplorerPage.open(browser, url)
        page.wait_for_explorer(FIRST_VIEW_TIMEOUT)
        first = time.perf_counter() - start
        ready.wait()  # every explorer shown: memory is measured now
        ready.wait()  # then all step together
        steps = [page.change("feature", lambda: page.press("feature", "ArrowRight"), timeout=STEP_TIMEOUT).latency
                 for _ in range(moves)]
        results.put((first, steps, page.errors))
        ready.wait()  # pages (and kernels) kept until every visitor is done
        browser.close()


def kernels(server: psutil.Process) -> list[psutil.Process]:
    """The server's kernel processes."""
    return [p for p in server.children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]


def one_round(model: Path, k: int, moves: int, scratch: Path) -> dict[str, Any]:
    """k visitors at once on a fresh server."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(k + 1), context.Queue()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with explore_app(model, env=env, log=scratch / f"app-{k}.log", timeout=180,
                     options=["--max-visitors", str(k)]) as server:
        people = [context.Process(target=visitor, args=(server.url, moves, ready, results)) for _ in range(k)]
        for person in people:
            person.start()
        try:
            ready.wait(timeout=FIRST_VIEW_TIMEOUT + 60)
            memory = [p.memory_full_info() for p in kernels(psutil.Process(server.process.pid))]
            ready.wait(timeout=60)
            got = [results.get(timeout=moves * STEP_TIMEOUT + 60) for _ in range(k)]
            ready.wait(timeout=60)
        finally:
            for person in people:
                person.join(timeout=60)
                if person.is_alive():
                    person.kill()
    steps = [step for _, visitor_steps, _ in got for step in visitor_steps]
    return {
        "first": [first for first, _, _ in got],
        "steps": steps,
        "rss": [m.rss for m in memory],
        "uss": [m.uss for m in memory],
        "errors": [error for _, _, errors in got for error in errors],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, nargs="+", default=[1, 2, 3], help="values of k (default: 1 2 3)")
    parser.add_argument("--moves", type=int, default=5, help="slider steps per visitor (default: 5)")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = psutil.virtual_memory().total / 2**30
    print(f"machine: {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; load average at start "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (a shared machine: figures are noisy)")
    with tempfile.TemporaryDirectory(prefix="bench-visitors-") as scratch:
        model, which = the_model(Path(scratch))
        print(f"model: {which}; {args.moves} feature steps per visitor\n")
        print(f"{'k':>2}  {'first view s (median, max)':>27}  {'step ms p50':>11}  {'step ms p90':>11}  "
              f"{'kernel RSS GB':>13}  {'kernel USS GB':>13}")
        for k in args.visitors:
            row = one_round(model, k, args.moves, Path(scratch))
            first, steps = row["first"], 1000 * np.asarray(row["steps"])
            print(f"{k:>2}  {statistics.median(first):>18.1f}, {max(first):>6.1f}  {np.percentile(steps, 50):>11.0f}  "
                  f"{np.percentile(steps, 90):>11.0f}  {statistics.mean(row['rss']) / 1e9:>13.2f}  "
                  f"{statistics.mean(row['uss']) / 1e9:>13.2f}"
                  + (f"  console errors: {row['errors']}" if row["errors"] else ""), flush=True)


if __name__ == "__main__":
    main()
