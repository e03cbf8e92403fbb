"""The dependency lists agree: requirements.txt, pyproject.toml, requirements.lock and environment.yml.

Every name declared in requirements.txt is declared in pyproject.toml (as a dependency or in an extra) with the same
range, and the other way round; the lock pins every one of them at a version inside that range; environment.yml
installs the lock with the lock's Python. And a run's record of its environment names what it really imported.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _requirements_txt() -> dict[str, Requirement]:
    lines = (line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    requirements = [Requirement(line) for line in lines if line]
    return {canonicalize_name(r.name): r for r in requirements}


def _pyproject() -> tuple[dict[str, Requirement], dict, dict]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = [*project["project"]["dependencies"],
                *(item for extra in project["project"]["optional-dependencies"].values() for item in extra)]
    requirements = [Requirement(item) for item in declared]
    return {canonicalize_name(r.name): r for r in requirements}, project["project"], project["build-system"]


def _lock() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_requirements_and_pyproject_declare_the_same_names_and_ranges() -> None:
    listed = _requirements_txt()
    declared, _, _ = _pyproject()
    assert sorted(listed) == sorted(declared)
    assert {name: str(r.specifier) for name, r in listed.items()} == {
        name: str(r.specifier) for name, r in declared.items()
    }


def test_the_lock_pins_every_declared_name_inside_its_range() -> None:
    pins = _lock()
    for name, requirement in _requirements_txt().items():
        assert name in pins, f"{name} is declared but not locked: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is locked outside the declared range {requirement.specifier}: run `make lock`"
        )
    header = (ROOT / "requirements.lock").read_text().splitlines()[:5]
    assert any("make lock" in line for line in header) and any("CPython 3.11" in line for line in header)


def test_what_the_package_imports_is_declared() -> None:
    """Every third-party module imported under auralisation/ comes from a declared distribution (or its deps)."""
    import importlib.metadata

    owners = importlib.metadata.packages_distributions()
    declared, _, _ = _pyproject()
    imported = set()
    for path in (ROOT / "auralisation").rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(r"^\s*(?:from|import) ([A-Za-z_]\w*)", text, re.MULTILINE):
            imported.add(match.group(1))
        # modules imported by name at run time (pyfluidsynth, for one, is loaded through importlib)
        imported.update(re.findall(r"import_module\(\s*[\"']([A-Za-z_]\w*)", text))
    direct = {"IPython", "ipywidgets", "keras", "librosa", "matplotlib", "numpy", "pretty_midi", "ray", "scipy",
              "sklearn", "soundfile", "tensorflow", "tqdm", "voila", "fluidsynth"}
    assert direct <= imported  # the scan sees the imports
    for module in sorted(direct):
        distributions = {canonicalize_name(d) for d in owners.get(module, [])}
        assert distributions & set(declared), f"{module} is imported but {distributions} is not declared"


def test_environment_yml_installs_the_lock_with_its_python() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*- python=3\.11\s*$", text, re.MULTILINE)
    assert re.search(r"^\s*- -r requirements\.lock\s*$", text, re.MULTILINE)
    assert "requirements.txt\n" not in text.split("dependencies:")[1]


def test_the_packaging_metadata_fits_the_declared_setuptools() -> None:
    """``license = "MIT"`` (an SPDX expression) needs setuptools 77; the LICENSE file is MIT and shipped."""
    _, project, build = _pyproject()
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    (setuptools,) = [Requirement(r) for r in build["requires"] if Requirement(r).name == "setuptools"]
    assert not setuptools.specifier.contains("76.1") and setuptools.specifier.contains("77.0")
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "2026 the auralisation authors" in license_text


def test_a_recorded_environment_names_the_imported_versions_and_the_lock(tmp_path: Path) -> None:
    import importlib.metadata

    import numpy

    from auralisation.provenance import locked_versions, record_environment

    record = json.loads(record_environment(tmp_path).read_text())
    assert record["packages"]["numpy"] == numpy.__version__ == importlib.metadata.version("numpy")
    assert locked_versions() == {name: str(version) for name, version in _lock().items()}
    numpy_locked = _lock()["numpy"]
    assert ("numpy" in record["unlocked"]) == (Version(numpy.__version__) != numpy_locked)
    assert record["cpu"].endswith("cores") and record["python"].startswith("CPython 3.")
