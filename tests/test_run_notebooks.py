"""scripts/run_notebooks.py on a tiny notebook: progress lines, the saved copy cleaned of TensorFlow's noise and of
the repository's absolute path, and a failing cell stopping the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "run_notebooks.py"

#: What TensorFlow 2.21 prints on import and when a function retraces (from a real run).
TF_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796524626.095413   10853 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
    "I0000 00:00:1796524626.104368   10853 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will "
    "not be used.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.",
    "WARNING:tensorflow:5 out of the last 5 calls to <function f at 0x7f> triggered tf.function retracing. Tracing "
    "is expensive and the excessive number of tracings could be due to (1) creating @tf.function repeatedly in a loop.",
]


def _notebook(folder: Path, *cells: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# tiny"), *(nbformat.v4.new_code_cell(c) for c in cells)]
    path = folder / "tiny.ipynb"
    nbformat.write(notebook, path)
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_runner_prints_progress_and_saves_a_clean_notebook(tmp_path: Path) -> None:
    stderr = "".join(f"sys.stderr.write({line + chr(10)!r})\n" for line in TF_LINES)
    path = _notebook(
        tmp_path,
        "import sys\n" + stderr + "print('a real warning', file=sys.stderr)",
        f"from pathlib import Path\nprint(Path({str(ROOT)!r}) / 'models' / 'choi2016')\nPath({str(ROOT)!r})",
    )
    done = _run(str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("[1/1] tiny.ipynb: cell 1 of 2, 0:0") and lines[0].endswith(" elapsed")
    assert lines[1].startswith("[1/1] tiny.ipynb: cell 2 of 2, ")
    assert lines[2].startswith("[1/1] tiny.ipynb: done in ")
    saved = nbformat.read(tmp_path / "out" / "tiny.ipynb", as_version=4)
    first, second = (cell.outputs for cell in saved.cells[1:])
    assert [(o.name, o.text) for o in first] == [("stderr", "a real warning\n")]
    assert second[0].text == "models/choi2016\n" and second[1].data["text/plain"] == "PosixPath('.')"
    assert str(ROOT) not in repr([cell.get("outputs") for cell in saved.cells])


def test_a_failing_cell_stops_the_run_and_the_notebook_is_saved_as_far_as_it_ran(tmp_path: Path) -> None:
    path = _notebook(tmp_path, "print('before')", "1 / 0", "print('never')")
    done = _run(str(path), str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "ZeroDivisionError" in done.stdout and "[1/2] tiny.ipynb: FAILED in " in done.stdout
    assert "[2/2]" not in done.stdout
    saved = nbformat.read(tmp_path / "out" / "tiny.ipynb", as_version=4)
    assert saved.cells[1].outputs[0].text == "before\n" and saved.cells[3].outputs == []
