"""Time of the whole correlation analysis: the 124 stimuli through all five layers of choi2016.

Uses the stimuli in the project's stimulus folder (``data/stimuli``; generated there first if missing, which is
timed separately) and the trained model ``models/choi2016`` when it exists, else a randomly initialised
``choi2016`` (seed 0). Prints seconds per stage: responses (forward passes and one deconvolution per clip, layer
and feature, with the line and onset measures), then the tables (correlations with bootstrap).

Usage: ``python benchmarks/bench_analysis.py [--stimuli DIR] [--model DIR] [--clips N] [--features N]
[--layers N] [--n-boot 1000]``
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from auralisation import analysis  # noqa: E402
from auralisation.audio import AudioConfig  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402


def load_stimuli(folder: Path) -> list:
    """The stimuli in ``folder``, rendering them first (timed) if there is no manifest."""
    from auralisation.synth import generate_stimuli, load_stimuli as load

    if not (folder / "manifest.json").exists():
        start = time.perf_counter()
        generate_stimuli(folder, progress=False)
        print(f"generate stimuli: {time.perf_counter() - start:.1f} s")
    return load(folder)


def load_model(folder: Path):
    """(model, config, description): the trained model in ``folder``, or an untrained choi2016."""
    if (folder / "model.keras").exists():
        from auralisation.io import load_model as load

        trained = load(folder)
        return trained.model, trained.config, f"trained ({folder})"
    from auralisation.models import choi2016

    config = AudioConfig()
    return choi2016(config, 10, seed=0), config, "random choi2016 (seed 0)"


def main() -> None:
    paths = project_paths()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", type=Path, default=paths.stimuli, help="stimulus folder")
    parser.add_argument("--model", type=Path, default=paths.models / "choi2016", help="trained model folder")
    parser.add_argument("--clips", type=int, default=None, help="first N stimuli only (default all 124)")
    parser.add_argument("--features", type=int, default=None, help="first N features per layer (default all)")
    parser.add_argument("--layers", type=int, default=5, help="first N blocks")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args()

    stimuli = load_stimuli(args.stimuli)[: args.clips]
    model, config, description = load_model(args.model)
    print(f"model: {description}; {len(stimuli)} clips x {args.layers} layers, "
          f"features per layer: {args.features or 'all'}")

    start = time.perf_counter()
    responses = analysis.compute_responses(
        model, stimuli, config, label="bench", layers=list(range(1, args.layers + 1)), n_features=args.features,
        progress=False,
    )
    after_responses = time.perf_counter()
    result = analysis.analyse(responses, n_boot=args.n_boot)
    end = time.perf_counter()
    n_deconv = len(stimuli) * sum(len(f) for f in responses.features.values())
    print(f"responses: {after_responses - start:.1f} s ({n_deconv} deconvolutions, "
          f"{1000 * (after_responses - start) / n_deconv:.1f} ms each, measures included)")
    print(f"tables (correlations, bootstrap, lines, onsets): {end - after_responses:.1f} s")
    print(f"whole analysis: {end - start:.1f} s (goal: under 180 s for 124 clips x 5 layers on 2 cores)")
    print()
    print(analysis.summarise_findings(result))


if __name__ == "__main__":
    main()
