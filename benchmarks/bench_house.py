"""The house in figures: module sizes, import times and the public surface.

Prints the largest modules (lines), ``import auralisation`` (``python -X importtime``, the package's cumulative
time, median of several fresh interpreters), the wall time of ``auralisation --help``, the count of public names
(the sum of every module's ``__all__``, and what ``auralisation`` itself offers), and which heavy libraries the
light entry points pull in (the report must not load ipywidgets; the model loader must not load scikit-learn).
Side by side in one run: ``import auralisation`` against ``import numpy`` as the reference of the same machine.

Usage: ``python benchmarks/bench_house.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "auralisation"

#: Entry points and the heavy modules each must not load.
LIGHT = {
    "auralisation": ("tensorflow", "keras", "ipywidgets", "sklearn", "matplotlib"),
    "auralisation.ui.report": ("ipywidgets",),  # IPython: Keras imports it itself wherever it is installed
    "auralisation.io": ("sklearn",),
    "auralisation.train": ("sklearn",),
}


def import_ms(module: str, runs: int) -> float:
    """Median cumulative import time of ``module`` in fresh interpreters, in milliseconds."""
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                             capture_output=True, text=True, check=True).stderr
        line = next(row for row in reversed(out.splitlines()) if row.rstrip().endswith(f"| {module}"))
        times.append(int(line.split("|")[1]) / 1000)
    return statistics.median(times)


def loaded(module: str, heavy: tuple[str, ...]) -> list[str] | None:
    """Which of ``heavy`` importing ``module`` loads (None when the module does not exist)."""
    probe = (f"import sys\ntry:\n    import {module}\nexcept ModuleNotFoundError:\n    print('-')\n"
             f"else:\n    print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    return None if out == "-" else out.split()


def public_names() -> tuple[int, int]:
    """(sum over modules of ``len(__all__)``, names ``auralisation`` itself exports)."""
    import warnings

    import auralisation

    total = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for info in pkgutil.walk_packages(auralisation.__path__, "auralisation."):
            try:
                total += len(getattr(importlib.import_module(info.name), "__all__", ()))
            except Exception as error:  # an optional extra missing (ray, voila): say so, count the rest
                print(f"  (not imported: {info.name}: {type(error).__name__})")
    return total, len(getattr(auralisation, "__all__", ()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per import timing")
    args = parser.parse_args()
    sizes = sorted(((len(p.read_text().splitlines()), p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")),
                   reverse=True)
    print("largest modules: " + ", ".join(f"{path} {lines}" for lines, path in sizes[:5]))
    numpy_ms, package_ms = import_ms("numpy", args.runs), import_ms("auralisation", args.runs)
    print(f"import auralisation: {package_ms:.0f} ms (numpy {numpy_ms:.0f} ms; ratio {package_ms / numpy_ms:.2f})")
    cli = Path(sys.executable).with_name("auralisation")
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([str(cli), "--help"], capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
    print(f"auralisation --help: {statistics.median(walls):.2f} s (median of {args.runs})")
    total, top = public_names()
    print(f"public names: {total} in module __all__s; {top} exported by auralisation itself")
    for module, heavy in LIGHT.items():
        found = loaded(module, heavy)
        if found is not None:
            print(f"import {module}: loads {', '.join(found) if found else 'none of'} ({', '.join(heavy)})")


if __name__ == "__main__":
    main()
