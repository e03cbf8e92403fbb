"""Run one of the README's two commands, measure it, and write what was measured into the README.

``python3 scripts/timed.py reproduce`` runs ``make reproduce`` (``test``: ``make test``) in the repository, with
its output passed through, and records its wall time, the load average when it starts (other work on the machine),
the peak memory of its largest process, the disk its folders take afterwards, whether it started from a fresh
clone (no ``.venv``, no ``data/generated``), the machine (``lscpu``'s model name, cores, memory), the date and the
commit; for ``reproduce`` also each notebook's time (``results/notebooks/timings.json``, written by
``scripts/run_notebooks.py``), for ``test`` pytest's last line. The record goes into
``docs/results/commands.json`` (under the command's name) and the README's ``commands`` block is rewritten from it
(:mod:`auralisation.records`), so the times the README gives are the ones measured, never typed. Nothing is
recorded when the command fails (exit status passed on).

Standard library only: it runs before the set-up has made ``.venv``; the README is rewritten with ``.venv``'s
Python once the command has made it.

Usage::

    python3 scripts/timed.py reproduce
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("reproduce", "test")
#: The folders whose size is recorded.
FOLDERS = (".venv", "data", "models", "results")
PYTEST_SUMMARY = re.compile(r"^=+ (.*\d+ passed.*) =+$")


def folder_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed; 0 when it does not exist)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            entry = Path(folder) / name
            if entry.is_file() and not entry.is_symlink():
                total += entry.stat().st_size
    return total


def machine() -> str:
    """``lscpu``'s model name, the cores this process may use and the memory, in words."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        lscpu = ""
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")),
                 "unknown CPU")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {len(os.sched_getaffinity(0))} cores, {memory:.0f} GiB"


def commit() -> str:
    """The short commit of the working tree, with ``+changes`` when it differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def run(command: str) -> dict[str, object] | None:
    """Run ``make COMMAND``, passing its output through; its record, or None when it failed."""
    fresh = not (ROOT / ".venv").exists() and not (ROOT / "data" / "generated").exists()
    measured = commit()  # before the run: notebook 07 rewrites a README block as it goes
    timings = ROOT / "results" / "notebooks" / "timings.json"
    if command == "reproduce" and timings.exists():
        timings.unlink()  # this run's notebooks only
    load = os.getloadavg()[0]  # other work on the machine when the command starts
    started = time.perf_counter()
    summary = ""
    with subprocess.Popen(["make", command], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            found = PYTEST_SUMMARY.match(line.strip())
            summary = found.group(1) if found else summary
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        print(f"timed: make {command} failed (exit {process.returncode}); nothing recorded", file=sys.stderr)
        return None
    record: dict[str, object] = {
        "seconds": round(seconds, 1), "fresh": fresh, "load_at_start": round(load, 1),
        "peak_memory_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "disk_bytes": {name: folder_bytes(ROOT / name) for name in FOLDERS if (ROOT / name).exists()},
        "machine": machine(), "date": datetime.date.today().isoformat(), "commit": measured,
    }
    if command == "reproduce" and timings.is_file():
        record["notebooks"] = json.loads(timings.read_text(encoding="utf-8"))
    if summary:
        record["pytest"] = summary
    return record


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command, record it, rewrite the README's block; the command's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=COMMANDS, help="make reproduce or make test")
    args = parser.parse_args(argv)
    record = run(args.command)
    if record is None:
        return 1
    path = ROOT / "docs" / "results" / "commands.json"
    records = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    records[args.command] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    python = ROOT / ".venv" / "bin" / "python"
    subprocess.run([str(python), "-c", "from auralisation.records import refresh_documents; "
                    "print(*refresh_documents(), sep='\\n')"], cwd=ROOT, check=True)
    print(f"timed: make {args.command} took {record['seconds']:.0f} s; recorded in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
