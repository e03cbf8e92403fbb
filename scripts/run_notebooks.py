"""Execute notebooks in order and save them with their outputs, saying where it is as it goes (``make notebooks``).

For each notebook, one line per code cell as it starts (``[2/6] 02_deconvolution.ipynb: cell 7 of 21, 1:32
elapsed``) and one when the notebook is done. The saved copies (``--out``, ``results/notebooks/`` by default) are
clean: TensorFlow's start-up lines (printed by its C++ loader whatever ``TF_CPP_MIN_LOG_LEVEL`` says) and its
retracing warnings are removed from the stream outputs (and from the kernel's own standard error, shown here), and
the repository's absolute path is written as a path relative to it, so a saved notebook reads the same on every
machine. A cell that fails stops the run (exit 1): the notebook is saved as far as it ran, and the error is
printed.

Usage::

    python scripts/run_notebooks.py notebooks/[0-9]*.ipynb --out results/notebooks
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]

#: Lines of a stream output that are TensorFlow's start-up chatter or its retracing warnings, not the notebook's.
NOISE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"  # absl's C++ log lines (CUDA, oneDNN, cpu features)
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\."
    r"|WARNING:tensorflow:.*triggered tf\.function retracing\..*"
    r"|\[IPKernelApp\] WARNING \| Kernel is running over TCP without encryption\..*)$"
)


def _elapsed(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}" if minutes >= 60 else f"{minutes}:{seconds:02d}"


def _relative(text: str, root: Path) -> str:
    """``text`` with the absolute path of ``root`` written relative to it."""
    return text.replace(f"{root}{os.sep}", "").replace(str(root), ".")


def clean(notebook: nbformat.NotebookNode, root: Path) -> nbformat.NotebookNode:
    """Remove TensorFlow's noise (:data:`NOISE`) from the stream outputs of ``notebook`` and write ``root``'s
    absolute path relative to it in every text output; drop stream outputs left empty. Changes ``notebook``."""
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                lines = [line for line in output.text.splitlines(keepends=True) if not NOISE.match(line.rstrip("\n"))]
                output.text = _relative("".join(lines), root)
                if not output.text:
                    continue
            elif output.output_type in ("execute_result", "display_data") and "text/plain" in output.get("data", {}):
                output.data["text/plain"] = _relative(output.data["text/plain"], root)
            elif output.output_type == "error":
                output.traceback = [_relative(line, root) for line in output.traceback]
            outputs.append(output)
        if "outputs" in cell:
            cell.outputs = outputs
    return notebook


def _filtered_stderr() -> tuple[int, threading.Thread]:
    """A file descriptor for a kernel's standard error, whose lines reach ours unless they are :data:`NOISE`."""
    read, write = os.pipe()

    def forward() -> None:
        with open(read, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not NOISE.match(line.rstrip("\n")):
                    sys.stderr.write(line)

    thread = threading.Thread(target=forward, daemon=True)
    thread.start()
    return write, thread


def run(
    path: Path, out: Path, *, root: Path = ROOT, timeout: int | None = None, label: str = "",
    log: Callable[[str], None] = print,
) -> bool:
    """Execute the notebook at ``path`` in its own folder, print a line per code cell, and save it cleaned
    (:func:`clean`) into ``out``; return whether every cell ran."""
    notebook = nbformat.read(path, as_version=4)
    code = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    started = time.perf_counter()

    def on_cell_start(cell: nbformat.NotebookNode, cell_index: int) -> None:
        if cell.cell_type == "code":
            log(f"{label}{path.name}: cell {code.index(cell_index) + 1} of {len(code)}, "
                f"{_elapsed(time.perf_counter() - started)} elapsed")

    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}, on_cell_start=on_cell_start)
    ok = True
    stderr, forwarding = _filtered_stderr()
    try:
        client.execute(stderr=stderr)  # the kernel's own stderr (TensorFlow's C++ loader) reaches ours filtered
    except CellExecutionError as error:
        ok = False
        log(_relative(str(error), root))
    finally:
        os.close(stderr)
        forwarding.join(timeout=5)
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(clean(notebook, root), out / path.name)
    log(f"{label}{path.name}: {'done' if ok else 'FAILED'} in {_elapsed(time.perf_counter() - started)}; "
        f"saved to {_relative(str((out / path.name).resolve()), root)}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    """Run the notebooks given on the command line, in order; stop at the first that fails (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebooks to execute, in this order")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "notebooks", help="folder for the copies")
    parser.add_argument("--timeout", type=int, default=None, help="seconds a cell may run (default: no limit)")
    args = parser.parse_args(argv)
    # Read by TensorFlow in the kernel (which inherits this environment): its C++ logs below errors stay quiet.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    timings = args.out / "timings.json"  # each notebook's seconds, for the record of `make reproduce`
    for number, path in enumerate(args.notebooks, 1):
        label = f"[{number}/{len(args.notebooks)}] "
        started = time.perf_counter()
        if not run(path.resolve(), args.out, timeout=args.timeout, label=label,
                   log=lambda line: print(line, flush=True)):
            return 1
        seconds = json.loads(timings.read_text(encoding="utf-8")) if timings.is_file() else {}
        timings.write_text(json.dumps({**seconds, path.name: round(time.perf_counter() - started, 1)}, indent=1) + "\n",
                           encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
