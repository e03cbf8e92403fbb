"""How fast the package's entry points load, and how many names it makes public.

Measures, for the checkout given by ``--root`` (default: this one) in fresh interpreters: ``import auralisation``
(the cumulative microseconds ``python -X importtime`` reports for it), ``import auralisation.io`` (what loading a
model costs before TensorFlow's own start-up), the wall times of ``auralisation --help``, of ``auralisation
auralise --help`` and of the slowest subcommand's ``--help``, and the number of public names (the sum of every
module's ``__all__`` read from the source without importing it, and those names counted once, where they are
defined). Pass ``--root`` twice to compare two checkouts side by side in one run, e.g. the commit before a change
(``git archive REV | tar -x -C /tmp/before``) and the working tree::

    python benchmarks/bench_imports.py --root /tmp/before --root .
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}


def import_ms(root: Path, module: str, repeats: int) -> float:
    """Median cumulative import time of ``module`` in milliseconds, by ``-X importtime``."""
    times = []
    for _ in range(repeats):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=_env(root),
                             cwd=root, capture_output=True, text=True, check=True).stderr
        line = [row for row in err.splitlines() if re.search(rf"\|\s*{re.escape(module)}$", row)][-1]
        times.append(int(line.split("|")[1]) / 1000)
    return statistics.median(times)


def help_seconds(root: Path, repeats: int, *words: str) -> float:
    """Median wall time of ``auralisation [words] --help``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; from auralisation.cli import main; sys.exit(main())",
                        *words, "--help"], env=_env(root), cwd=root, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def slowest_help(root: Path, repeats: int) -> tuple[str, float]:
    """The subcommand whose ``--help`` takes longest, and its median wall time."""
    names = subprocess.run([sys.executable, "-c", "from auralisation.cli import SUBCOMMANDS; print(*SUBCOMMANDS)"],
                           env=_env(root), cwd=root, capture_output=True, text=True, check=True).stdout.split()
    times = {name: help_seconds(root, repeats, name) for name in names}
    name = max(times, key=times.__getitem__)
    return name, times[name]


def public_names(root: Path) -> int:
    """The sum over the package's modules of the length of their literal ``__all__`` (or of the names a package
    attaches with ``lazy_loader.attach``)."""
    total = 0
    for path in sorted((root / "auralisation").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "lazy_loader.attach":
                attrs = next((k.value for k in node.keywords if k.arg == "submod_attrs"), None)
                if isinstance(attrs, ast.Dict):
                    total += sum(len(v.elts) for v in attrs.values if isinstance(v, (ast.List, ast.Tuple)))
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
                    if isinstance(node.value, (ast.List, ast.Tuple)):
                        total += sum(1 for item in node.value.elts if isinstance(item, (ast.Constant, ast.Starred)))
    return total


def defined_public_names(root: Path) -> int:
    """Public names counted once, where they are defined: ``__all__`` entries a module defines itself (a function,
    class or constant), not those a package re-exports from elsewhere."""
    total = 0
    for path in sorted((root / "auralisation").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined, listed = set(), set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if "__all__" in names and isinstance(node.value, (ast.List, ast.Tuple)):
                    listed = {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
                defined |= names
        total += len(listed & defined)
    return total


def largest_module(root: Path) -> tuple[str, int]:
    """The package's longest module and its number of lines."""
    sizes = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines())
             for p in (root / "auralisation").rglob("*.py")}
    name = max(sizes, key=sizes.__getitem__)
    return name, sizes[name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, action="append", help="a checkout (default: this one); repeatable")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    roots = args.root or [Path(__file__).resolve().parents[1]]
    print(f"{'checkout':40s} {'import (ms)':>12s} {'io (ms)':>9s} {'--help (s)':>11s} {'auralise --help':>16s} "
          f"{'slowest --help':>22s} {'public names':>13s} "
          f"{'defined':>8s}  largest")
    for root in roots:
        root = root.resolve()
        name, lines = largest_module(root)
        print(f"{str(root)[-40:]:40s} {import_ms(root, 'auralisation', args.repeats):12.1f} "
              f"{import_ms(root, 'auralisation.io', 1):9.0f} "
              f"{help_seconds(root, args.repeats):11.2f} {help_seconds(root, args.repeats, 'auralise'):16.2f} "
              f"{'{} {:.2f}'.format(*slowest_help(root, args.repeats)):>22s} "
              f"{public_names(root):13d} {defined_public_names(root):8d}  "
              f"{name} ({lines} lines)")


if __name__ == "__main__":
    main()
