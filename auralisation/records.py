"""Results the README states, generated from the record of the run that measured them.

Every result figure of ``README.md`` (and of the documentation's pages, ``docs/*.md``: :func:`documents`) lies
between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` and is rendered from a record in
``docs/results/NAME.json`` (committed, so that anyone can check a figure against the run it came from):
:data:`BLOCKS` says how. A full run writes its record and the block (:func:`publish`); without a record the block
says what to run. :func:`stale_blocks` lists the blocks that differ from what their records render: the
tests hold the README to it, so a typed figure, or a figure from earlier data, cannot stay.

* ``study`` — ``make study`` (``auralisation study``): the criteria, the verdicts across seeds and architectures
  with the untrained control, and each run's accuracy and time (``results/study/study.json``);
* ``listenable`` (``docs/listenable-maps.md``) — ``make listenable`` (``auralisation benchmark --publish``): the
  listenable-maps benchmark on the whole test split, with the baselines and the equal-sparsity comparison. Its
  per-clip scores (``results/listenable/scores.json``, megabytes) stay out of the repository: the record holds the
  rendered tables and the SHA-1 of that file (:func:`listenable_record`), and :func:`stale_sources` compares it with
  the file wherever the file is;
* ``commands`` — ``python3 scripts/timed.py reproduce`` (or ``test``): the time, memory and disk of the README's two
  commands, each notebook's time;
* ``taggers`` — notebook 07 in full mode: what the musicnn taggers' tags and features show on the bundled data;
* ``tagger-speed`` (also in ``docs/pretrained.md``) — ``benchmarks/bench_pretrained.py --publish``: tagging speed
  and the deconvolution of every feature of a patch against the compute limit, for both architectures.

Examples
--------
>>> text = "a\\n<!-- study:begin -->\\nold\\n<!-- study:end -->\\n"
>>> blocks_in(text)
['study']
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import ParameterError
from .fileio import atomic_write_text

__all__ = [
    "BLOCKS", "RECORDS", "blocks_in", "documents", "listenable_record", "markdown_record", "markers", "publish",
    "refresh_documents", "refresh_readme", "render", "stale_blocks", "stale_sources", "study_record",
]

#: Where the records live, relative to the repository's root.
RECORDS = Path("docs") / "results"


def documents(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """``README.md`` and the documentation's pages that hold at least one block."""
    base = _root(root)
    pages = [base / "README.md", *sorted((base / "docs").glob("*.md"))]
    return [page for page in pages if page.is_file() and blocks_in(page.read_text(encoding="utf-8"))]


def markers(name: str) -> tuple[str, str]:
    """The README's begin and end markers of block ``name``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def blocks_in(text: str) -> list[str]:
    """The names of the blocks a README holds, in order."""
    return re.findall(r"<!-- ([\w-]+):begin -->", text)


def _study(record: dict[str, Any] | None) -> str:
    from .study.report import criteria_markdown, markdown, summarise
    from .study.runner import RunRecord, VerdictRow

    if record is None:
        return criteria_markdown() + (
            "\n\nNo study has been run with these rules on this data yet: `make study` writes the table here "
            "(54 min on 2 cores with the earlier rules).")
    runs = [RunRecord(**run) for run in record["runs"]]
    rows = [VerdictRow(**row) for row in record["verdicts"]]
    return markdown(summarise(rows), runs, where=record.get("machine", ""))


def _markdown(missing: str) -> Callable[[dict[str, Any] | None], str]:
    """A renderer of records that hold their Markdown (``{"markdown": ...}``); ``missing`` says what writes it."""

    def render_markdown(record: dict[str, Any] | None) -> str:
        return missing if record is None else str(record["markdown"])

    return render_markdown


def _duration(seconds: float) -> str:
    """``1895.2`` -> ``'31 min 35 s'``."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _size(n: float) -> str:
    """``3.4e9`` -> ``'3.2 GB'`` (binary units, as ``du -h``)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") or n >= 100 else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _commands(record: dict[str, Any] | None) -> str:
    """The README's table of its two commands, from ``scripts/timed.py``'s records."""
    record = record or {}
    lines = ["| command | time | peak memory (largest process) | disk afterwards |", "|---|---|---|---|"]
    notes = []
    for command in ("reproduce", "test"):
        run = record.get(command)
        if run is None:
            lines.append(f"| `make {command}` | not measured yet: `python3 scripts/timed.py {command}` | | |")
            continue
        time = _duration(run["seconds"]) + (" from a fresh clone" if run["fresh"] else " (set-up done before)")
        if run.get("notebooks"):
            each = ", ".join(f"{name.split('_')[0]} {_duration(s)}" for name, s in run["notebooks"].items())
            time += f"; set-up and data {_duration(run['seconds'] - sum(run['notebooks'].values()))}; notebooks {each}"
        if run.get("pytest"):
            time += f"; pytest: {run['pytest']}"
        disk = ", ".join(f"`{name}` {_size(n)}" for name, n in run["disk_bytes"].items())
        lines.append(f"| `make {command}` | {time} | {_size(run['peak_memory_bytes'])} | {disk} |")
        notes.append(f"`make {command}` on {run['date']}, commit {run['commit']}, {run['machine']}, load average "
                     f"{run['load_at_start']:g} at the start")
    written = ("Written by `python3 scripts/timed.py reproduce|test`, which runs the command and measures it; do not "
               "edit by hand.")
    return "\n".join(lines) + "\n\n" + written + (" Measured: " + "; ".join(notes) + "." if notes else "")


def listenable_record(scores: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> str:
    """The ``listenable`` record of a benchmark's ``scores.json``: its tables rendered, the file's SHA-1 and its path
    relative to ``root`` (the project's by default)."""
    from .methods.benchmark import Benchmark, format_benchmark, format_sparsity, summarise_benchmark

    path = Path(scores)
    text = path.read_text(encoding="utf-8")
    result = Benchmark.from_json(text)
    markdown = (f"Generated by `make listenable` from `{path.name}` (SHA-1 {_sha1(text)[:12]}, {len(result.clips)} "
                f"test clips, methods scored in {_duration(sum(result.seconds.values()))}); do not edit by hand.\n\n"
                f"{format_benchmark(result)}\n{summarise_benchmark(result)}\n\n{format_sparsity(result)}")
    source = Path(os.path.relpath(path.resolve(), _root(root).resolve())).as_posix()
    return json.dumps({"markdown": markdown, "source": source, "sha1": _sha1(text)}, indent=1) + "\n"


def markdown_record(markdown: str, **facts: Any) -> str:
    """A record that holds its block's Markdown as written by the run that measured it (and any ``facts`` beside).

    >>> json.loads(markdown_record("| a |", seconds=1.5))
    {'markdown': '| a |', 'seconds': 1.5}
    """
    return json.dumps({"markdown": markdown, **facts}, indent=1) + "\n"


def study_record(study_json: str | os.PathLike[str]) -> str:
    """The ``study`` record of a study's ``study.json`` (:func:`~auralisation.study.write_reports`): its content, and
    the file's SHA-1."""
    path = Path(study_json)
    text = path.read_text(encoding="utf-8")
    return json.dumps({**json.loads(text), "source": "results/study/study.json", "sha1": _sha1(text)}) + "\n"


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def stale_sources(root: str | os.PathLike[str] | None = None) -> list[str]:
    """The records whose results file (``source``, relative to ``root``) is here and differs from the one recorded."""
    stale = []
    for name in BLOCKS:
        path = _root(root) / RECORDS / f"{name}.json"
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        source = _root(root) / record.get("source", "-")
        if "sha1" in record and source.is_file() and _sha1(source.read_text(encoding="utf-8")) != record["sha1"]:
            stale.append(name)
    return stale


#: Each block's renderer: the record (parsed JSON, or None when there is none) -> Markdown.
BLOCKS: dict[str, Callable[[dict[str, Any] | None], str]] = {
    "study": _study,
    "listenable": _markdown(
        "Not measured with this benchmark (the recipe's L1 term and noise, the baselines, equal sparsity) on this data "
        "yet: `make listenable` writes the tables here."),
    "commands": _commands,
    "taggers": _markdown("Notebook 07 has not run in full mode on this data yet: `make reproduce` writes what it "
                         "shows here."),
    "tagger-speed": _markdown("Not measured yet: `python benchmarks/bench_pretrained.py --publish` writes the "
                              "figures here."),
}


def _root(root: str | os.PathLike[str] | None) -> Path:
    from .paths import project_root

    return Path(root) if root is not None else project_root()


def render(name: str, root: str | os.PathLike[str] | None = None) -> str:
    """Block ``name`` as its record (``docs/results/<name>.json`` under ``root``) renders it."""
    if name not in BLOCKS:
        raise ParameterError(f"no README block {name!r}: the blocks are {', '.join(BLOCKS)}")
    path = _root(root) / RECORDS / f"{name}.json"
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    return BLOCKS[name](record).strip()


def _replace(text: str, name: str, block: str) -> str:
    from .study.report import replace_block

    begin, end = markers(name)
    return replace_block(text, block, begin=begin, end=end)


def refresh_readme(readme: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
                   names: Sequence[str] | None = None) -> Path:
    """Rewrite every block of ``readme`` (or ``names``) from its record; the rest of the file is left as it is."""
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    for name in names or [n for n in blocks_in(text) if n in BLOCKS]:
        text = _replace(text, name, render(name, root))
    return atomic_write_text(path, text)


def refresh_documents(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Rewrite every block of the README and the documentation's pages (:func:`documents`) from its record; the
    pages rewritten."""
    return [refresh_readme(page, root) for page in documents(root)]


def stale_blocks(readme: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> list[str]:
    """The blocks of ``readme`` whose text differs from what their records render (empty: the README is current).

    Raises
    ------
    ParameterError
        The README holds a block no renderer knows (a typed block dressed as generated).
    """
    text = Path(readme).read_text(encoding="utf-8")
    stale = []
    for name in blocks_in(text):
        expected = _replace(text, name, render(name, root))
        if expected != text:
            stale.append(name)
    return stale


def publish(name: str, record: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Write ``record`` (JSON text) as block ``name``'s record, and the block into every page that holds it
    (:func:`documents`: the README and the documentation's pages)."""
    if name not in BLOCKS:
        raise ParameterError(f"no README block {name!r}: the blocks are {', '.join(BLOCKS)}")
    path = atomic_write_text(_root(root) / RECORDS / f"{name}.json", record)
    for page in documents(root):
        if name in blocks_in(page.read_text(encoding="utf-8")):
            refresh_readme(page, root, [name])
    return path
