"""Throughput of the feature atlas: pass 1 (excerpts/s) and pass 2 (features/s), local against Ray, and memory.

In one run, on the same model and corpus:

1. the local engine, then Ray with one and with two local workers: excerpts per second of pass 1, features per
   second of pass 2, and Ray's start-up and overhead against the local engine;
2. peak memory (resident set of a fresh process) of pass 1 alone, for a corpus and for one four times larger: it
   must stay flat, since pass 1 keeps k scores per feature, never the corpus;
3. from these figures, the time for a 25,000-clip corpus (30 s clips, so 7 excerpts of 4 s each) on one machine
   and on 8 (Ray, the per-worker rate of this machine's two-worker run, 8 machines with this many cores).

The model is ``models/choi2016`` when it exists (a random ``choi2016`` otherwise); the corpus is synthetic tracks
(``bench_pipeline.write_synthetic``) in a temporary folder. ``--quick`` is a small run to try the script out.

Usage: ``python benchmarks/bench_atlas.py [--quick] [--tracks 40] [--seconds 12]``
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench_pipeline import write_synthetic  # noqa: E402

from auralisation.atlas import build_atlas  # noqa: E402
from auralisation.atlas.build import TIMINGS  # noqa: E402
from auralisation.audio import AudioConfig  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402
from auralisation.io import save_model  # noqa: E402

#: The corpus of the estimate: 25,000 clips of 30 s, cut into 4 s excerpts.
CLIPS, CLIP_SECONDS = 25_000, 30.0

_MEMORY_CHILD = """
import json, resource, sys
from auralisation.atlas import build_atlas
build_atlas(sys.argv[1], sys.argv[2], sys.argv[3], top=1, layers=[5], progress=False)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
"""


def model_folder(scratch: Path) -> tuple[Path, str]:
    """The trained model's folder if there is one, else a random choi2016 saved in ``scratch``."""
    trained = project_paths(fast=False).models / "choi2016"
    if (trained / "model.keras").is_file():
        return trained, f"trained model {trained}"
    folder = scratch / "random-choi2016"
    save_model(folder, choi2016(AudioConfig(), 4, seed=0), AudioConfig(), ["blues", "classical", "jazz", "rock"])
    return folder, "a random choi2016 (no models/choi2016 yet)"


def run(model: Path, corpus: Path, out: Path, **options) -> dict:
    """Build an atlas from scratch; its timings (``state/timings.json``) with the wall time of the whole call."""
    tic = time.perf_counter()
    build_atlas(model, corpus, out, force=True, progress=False, **options)
    timings = json.loads((out / "state" / TIMINGS).read_text())
    timings["wall"] = time.perf_counter() - tic
    return timings


def peak_memory_mb(model: Path, corpus: Path, out: Path) -> float:
    """Peak resident memory (MB) of a fresh process that builds a one-layer, top-1 atlas of ``corpus``."""
    done = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(model), str(corpus), str(out)],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 tracks of 8 s, layers 1 and 5, top 3 (to try it out)")
    parser.add_argument("--tracks", type=int, default=40, help="synthetic tracks in the corpus")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each track")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray runs")
    args = parser.parse_args()
    tracks, seconds = (8, 8.0) if args.quick else (args.tracks, args.seconds)
    # Shards small enough that two Ray workers both get some of a small corpus.
    options = {"top": 3, "layers": [1, 5], "shard_size": 8} if args.quick else {"top": 9, "shard_size": 16}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model, described = model_folder(scratch)
        corpus = write_synthetic(scratch / "corpus", tracks, seconds, AudioConfig().sr)
        print(f"model: {described}; corpus: {tracks} synthetic tracks of {seconds:g} s; {options}; "
              f"{os.cpu_count()} CPU cores (figures from a shared machine are noisy)")
        print(f"{'engine':<10}{'pass 1 excerpts/s':>19}{'pass 2 features/s':>19}{'start-up s':>12}{'wall s':>9}"
              f"{'wall / local':>14}", flush=True)
        engines = [("local", {})]
        if not args.no_ray:
            try:
                import ray  # noqa: F401
            except ImportError:
                print("ray is not installed (pip install 'auralisation[ray]'): skipping the Ray runs")
            else:
                engines += [(f"ray x{n}", {"engine": "ray", "workers": n}) for n in (1, 2)]
        results = {}
        for name, engine in engines:
            t = results[name] = run(model, corpus, scratch / name.replace(" ", ""), **engine, **options)
            rate1 = t["pass1"]["excerpts"] / t["pass1"]["seconds"]
            rate2 = t["pass2"]["features"] / t["pass2"]["seconds"]
            print(f"{name:<10}{rate1:>19.1f}{rate2:>19.2f}{t['start']:>12.1f}{t['wall']:>9.1f}"
                  f"{t['wall'] / results['local']['wall']:>14.2f}", flush=True)

        big = write_synthetic(scratch / "big", 4 * tracks, seconds, AudioConfig().sr, seed=1)
        small_mb = peak_memory_mb(model, corpus, scratch / "memory-small")
        big_mb = peak_memory_mb(model, big, scratch / "memory-big")
        print(f"peak memory, pass 1 of a one-layer atlas: {small_mb:.0f} MB for {tracks} tracks, {big_mb:.0f} MB for "
              f"{4 * tracks} tracks (ratio {big_mb / small_mb:.2f}; flat is 1)")

        local = results["local"]
        excerpts = CLIPS * int(CLIP_SECONDS // AudioConfig().duration)
        features = local["pass2"]["features"]
        one = excerpts / (local["pass1"]["excerpts"] / local["pass1"]["seconds"]) + local["pass2"]["seconds"]
        print(f"estimate for {CLIPS:,} clips of {CLIP_SECONDS:g} s ({excerpts:,} excerpts; pass 2: {features} "
              f"features, top {options['top']}): one machine like this one {one / 3600:.1f} h")
        if "ray x2" in results:
            ray2 = results["ray x2"]
            per_machine = ray2["pass1"]["excerpts"] / ray2["pass1"]["seconds"]
            eight = excerpts / (8 * per_machine) + ray2["pass2"]["seconds"] / 4 + ray2["start"]
            print(f"  8 machines like this one on Ray ({per_machine:.1f} excerpts/s each, as measured with 2 workers "
                  f"here; pass 2 spread over 8 as over 2): {eight / 3600:.2f} h")


if __name__ == "__main__":
    main()
