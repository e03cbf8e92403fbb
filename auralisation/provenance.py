"""What a result was made with: package versions, FluidSynth and its soundfont, the CPU and the platform.

Every run that writes results records :func:`environment` beside them in ``environment.json``
(:func:`record_environment`): ``auralisation train`` (and notebook 01) in the model folder, ``study`` in
``results/study/``, ``benchmark`` in its ``--out`` folder, ``atlas`` in ``OUT/state/``, and ``make notebooks`` in
``results/notebooks/`` (``python -m auralisation.provenance FOLDER``). The record holds:

- ``packages``: the version of every distribution whose modules the process has imported (so a record made after
  training lists TensorFlow, Keras, NumPy... as they really ran), and ``unlocked``: those whose version differs
  from ``requirements.lock`` and ``requirements-nodeps.txt`` (empty on a machine set up from them; ``None``
  where the lock is not shipped);
- ``fluidsynth``: the FluidSynth library's version (``None`` where it cannot be loaded) and the soundfont that
  rendering would use (:func:`~auralisation.synth.fluid.find_soundfont`, described by
  :func:`~auralisation.synth.fluid.describe_soundfont`: ``default`` is true only for FluidR3 GM, the soundfont the
  bundled data is made with);
- ``cpu`` (the ``lscpu`` model name and the cores this process may use), ``platform`` and ``python``.

Examples
--------
>>> record = environment()
>>> sorted(record)
['auralisation', 'cpu', 'fluidsynth', 'packages', 'platform', 'python', 'unlocked']
>>> record["packages"]["numpy"] == __import__("numpy").__version__
True
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

from .fileio import atomic_write_text

__all__ = [
    "ENVIRONMENT_FILE",
    "LOCK_FILE",
    "NODEPS_FILE",
    "cpu",
    "environment",
    "fluidsynth",
    "imported_packages",
    "locked_versions",
    "record_environment",
]

#: The file :func:`record_environment` writes into a results folder.
ENVIRONMENT_FILE = "environment.json"
#: The lock file of a checkout (not shipped in a wheel: a wheel's install records no ``unlocked``).
LOCK_FILE = Path(__file__).resolve().parents[1] / "requirements.lock"
#: The pins installed with ``--no-deps``, outside the lock's resolver (``musicnn``).
NODEPS_FILE = LOCK_FILE.with_name("requirements-nodeps.txt")


def _normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def cpu() -> str:
    """The CPU's model name (as ``lscpu`` says it) and the cores this process may use.

    Examples
    --------
    >>> cpu().endswith(" cores")
    True
    """
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("model name")]
        name = models[0] if models else name
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name}, {cores} cores"


@functools.lru_cache(maxsize=1)
def _distributions_of_modules() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def imported_packages() -> dict[str, str]:
    """``{distribution: version}`` of every installed distribution this process has imported a module of."""
    owners = _distributions_of_modules()
    top_level = {name.partition(".")[0] for name in list(sys.modules)}
    versions = {}
    for module in sorted(top_level):
        for distribution in owners.get(module, []):
            with_version = importlib.metadata.version(distribution)
            versions[_normalise(distribution)] = with_version
    return dict(sorted(versions.items()))


def locked_versions(lock: str | os.PathLike[str] = LOCK_FILE) -> dict[str, str] | None:
    """``{distribution: version}`` pinned by ``lock`` (``name==version`` lines), or None where it is absent.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "requirements.lock"
    >>> _ = path.write_text("# comment\\nScikit_Learn==1.9.1\\n")
    >>> locked_versions(path)
    {'scikit-learn': '1.9.1'}
    """
    path = Path(lock)
    if not path.is_file():
        return None
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, separator, version = line.partition("==")
        if separator and not line.startswith("#"):
            pins[_normalise(name.strip())] = version.split(";")[0].strip()
    return pins


def _library_version(module: Any) -> str | None:
    """The version of the FluidSynth library pyfluidsynth loaded, from its ``fluid_version``."""
    numbers = [ctypes.c_int() for _ in range(3)]
    try:
        module.fluid_version(*(ctypes.byref(number) for number in numbers))
    except (AttributeError, ctypes.ArgumentError, TypeError):
        return None
    return ".".join(str(number.value) for number in numbers)


def fluidsynth() -> dict[str, Any]:
    """The FluidSynth library's version (None where it cannot be loaded) and the soundfont rendering would use."""
    from .errors import SynthError
    from .synth.fluid import describe_soundfont, find_soundfont, load_fluidsynth

    try:
        library = _library_version(load_fluidsynth())
    except SynthError:
        library = None
    try:
        soundfont: dict[str, Any] = describe_soundfont(find_soundfont())
    except SynthError as error:
        soundfont = {"path": None, "default": False, "note": str(error)}
    return {"library": library, "soundfont": soundfont}


def environment() -> dict[str, Any]:
    """The record of what this process runs with (see the module's docstring); JSON-serialisable."""
    synthesis = fluidsynth()  # first: it imports pyfluidsynth, whose version the packages then list
    packages = imported_packages()
    locked = locked_versions()
    if locked is not None:
        locked.update(locked_versions(NODEPS_FILE) or {})
    return {
        "auralisation": importlib.metadata.version("auralisation") if _is_installed("auralisation") else None,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": cpu(),
        "fluidsynth": synthesis,
        "packages": packages,
        "unlocked": None if locked is None else {
            name: {"installed": version, "locked": locked.get(name)}
            for name, version in packages.items() if locked.get(name) != version and name != "auralisation"
        },
    }


def _is_installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def record_environment(folder: str | os.PathLike[str]) -> Path:
    """Write :func:`environment` to ``folder/environment.json`` (atomically); return its path.

    Examples
    --------
    >>> import json, tempfile
    >>> path = record_environment(tempfile.mkdtemp())
    >>> path.name, json.loads(path.read_text())["python"].startswith("CPython")
    ('environment.json', True)
    """
    return atomic_write_text(Path(folder) / ENVIRONMENT_FILE, json.dumps(environment(), indent=1) + "\n")


#: What the numbered notebooks import (``make notebooks`` records them after running them).
_NOTEBOOK_MODULES = ("auralisation.training", "auralisation.deconv", "auralisation.auralise", "auralisation.ui.view",
                     "auralisation.analysis", "auralisation.methods", "auralisation.atlas")


def main(argv: list[str] | None = None) -> int:
    """``python -m auralisation.provenance FOLDER``: import what the notebooks import, record the environment."""
    import importlib

    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        print("usage: python -m auralisation.provenance FOLDER", file=sys.stderr)
        return 2
    for module in _NOTEBOOK_MODULES:
        importlib.import_module(module)
    print(f"recorded the environment in {record_environment(arguments[0])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
