"""The documentation site: built in strict mode (a broken link, a missing page or a public object without a
docstring fails), and the griffe extension that makes a missing docstring a warning, on a package made here."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

import griffe
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _extension_module():
    spec = importlib.util.spec_from_file_location("griffe_docstrings", ROOT / "scripts" / "griffe_docstrings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_site_builds_strictly(tmp_path):
    # the repository's notebooks, not executed copies in results/ (fast, and what CI sees)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT), "AURALISATION_DOCS_EXECUTED": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert done.returncode == 0, "\n".join(warnings) or done.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "api" / "audio" / "index.html").is_file()
    assert (site / "notebooks" / "01_train_cnn" / "index.html").is_file()
    audio_page = (site / "api" / "audio" / "index.html").read_text()
    assert "load_clip" in audio_page and ":func:`" not in audio_page


@pytest.fixture()
def toy_package(tmp_path):
    package = tmp_path / "toy"
    package.mkdir()
    (package / "__init__.py").write_text('"""A toy package."""\n')
    (package / "core.py").write_text(
        '"""Core: see :func:`helper`, :func:`~toy.core.Thing`, :mod:`.other` and :func:`numpy.fft.rfft`."""\n\n\n'
        "def helper(x):\n    return x\n\n\n"
        "def _private(x):\n    return x\n\n\n"
        'class Thing:\n    """A thing."""\n\n    def method(self):\n        pass\n\n    def __call__(self):\n        pass\n'
    )
    (package / "other.py").write_text('"""Other."""\n')
    return tmp_path


def test_missing_docstrings_are_warnings_and_roles_become_links(toy_package, caplog):
    extension = _extension_module().DocstringChecks()
    with caplog.at_level(logging.WARNING):
        package = griffe.load("toy", search_paths=[toy_package], extensions=griffe.load_extensions(extension))
    missing = sorted(record.getMessage().split(" has no docstring")[0].rsplit(" ", 1)[-1] for record in caplog.records)
    assert missing == ["toy.core.Thing.method", "toy.core.helper"]  # not _private, not __call__
    assert package["core"].docstring.value == (
        "Core: see [`helper`][toy.core.helper], [`Thing`][toy.core.Thing], [`other`][toy.other] and "
        "`numpy.fft.rfft`."
    )


def _hooks_module():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pages_follow_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv("AURALISATION_DOCS_EXECUTED", raising=False)
    hooks = _hooks_module()
    for path in ["notebooks/01_a.ipynb", "notebooks/02_b.ipynb", "notebooks/scratch.ipynb",
                 "results/notebooks/02_b.ipynb", "auralisation/__init__.py", "auralisation/audio.py",
                 "auralisation/_compat.py", "auralisation/cli/__init__.py", "auralisation/deconv/__init__.py",
                 "auralisation/app/explorer.ipynb", "auralisation/__pycache__/audio.cpython-311.pyc"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}")
    assert hooks.notebooks(tmp_path) == [("notebooks/01_a.ipynb", tmp_path),  # unexecuted: the repository's
                                         ("notebooks/02_b.ipynb", tmp_path / "results")]  # executed copy
    monkeypatch.setenv("AURALISATION_DOCS_EXECUTED", "0")
    assert [folder for _, folder in hooks.notebooks(tmp_path)] == [tmp_path, tmp_path]
    assert hooks.api_modules(tmp_path) == ["audio", "deconv"]  # not private, not the CLI, not a plain folder


def test_study_table_is_the_readme_block(tmp_path):
    from auralisation.study.report import BEGIN, END

    hooks = _hooks_module()
    assert hooks.STUDY_MARKERS == (BEGIN, END)  # the markers the study writes
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- study:begin -->\n| a | b |\n<!-- study:end -->\nmore\n")
    assert hooks.study_table(readme) == "| a | b |"
    readme.write_text("<!-- study:end -->\n<!-- study:begin -->\n")
    with pytest.raises(hooks.PluginError, match="expected one"):
        hooks.study_table(readme)


def test_simple_tables_become_markdown_tables():
    convert = _extension_module().simple_tables_to_markdown
    headed = "Intro.\n\n=====  ============\nname   meaning\n=====  ============\nAI     a |X| share\n       continued\nSPS    sparse   ness\n=====  ============\n\nAfter."
    assert convert(headed).splitlines() == [
        "Intro.", "", "", "| name | meaning |", "|---|---|", "| AI | a \\|X\\| share continued |",
        "| SPS | sparse   ness |", "", "", "After."]
    bare = "====  ====\n``a|b``  runs past\n====  ===="  # a cell running past its column; a pipe in code kept
    assert convert(bare).splitlines()[1:] == ["|  |  |", "|---|---|", "| ``a|b`` | runs past |"]
