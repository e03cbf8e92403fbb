"""The study's tables: which findings hold for which architecture, condition and how many seeds.

:func:`summarise` folds the per-run verdicts into one row per criterion, architecture and condition;
:func:`markdown` writes the criteria, that table and the runs' accuracy and timing as Markdown;
:func:`write_reports` writes everything to the results folder (CSV, Markdown, JSON); :func:`replace_block` puts the
Markdown into the README between :data:`BEGIN` and :data:`END`, leaving everything else as it was.

Examples
--------
>>> replace_block("a\\n<!-- study:begin -->\\nold\\n<!-- study:end -->\\nb\\n", "new")
'a\\n<!-- study:begin -->\\nnew\\n<!-- study:end -->\\nb\\n'
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.tables import records, write_csv
from ..errors import ParameterError
from ..fileio import atomic_write_text
from ..provenance import cpu, record_environment
from .criteria import CONTRADICTED, CONTROL_RULE, CRITERIA, HOLDS, UNCLEAR, Criterion, Verdict
from .runner import CONDITIONS, CONTROL, RunRecord, VerdictRow

__all__ = [
    "BEGIN",
    "END",
    "SummaryRow",
    "criteria_markdown",
    "describe",
    "find_reports",
    "machine",
    "markdown",
    "model_table",
    "read_reports",
    "replace_block",
    "summarise",
    "write_reports",
]

#: The README markers between which the study writes its table.
BEGIN, END = "<!-- study:begin -->", "<!-- study:end -->"


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """One criterion for one architecture and condition (trained, untrained, or the paired difference), over seeds.

    ``effect`` is the median of the seeds' effects; ``per_seed`` each seed's effect and 95 % interval; ``learned``
    the seeds for which the finding holds for the trained network *and* the paired effect trained minus untrained
    lies above 0 (the same number in the three rows of a criterion and architecture).
    """

    criterion: str
    arch: str
    condition: str
    seeds: int
    holds: int
    unclear: int
    contradicted: int
    effect: float
    per_seed: str
    learned: int = 0


def _interval(row: VerdictRow) -> str:
    return f"{row.effect:.3f} [{row.low:.3f}, {row.high:.3f}]"


def summarise(rows: Sequence[VerdictRow], criteria: Sequence[Criterion] = CRITERIA) -> list[SummaryRow]:
    """Per criterion, architecture and condition: how many seeds the finding holds for (and is learned for), and
    the effects."""
    out = []
    archs = list(dict.fromkeys(row.arch for row in rows))
    for criterion in criteria:
        for arch in archs:
            verdict = {(r.condition, r.seed): r.verdict for r in rows if (r.criterion, r.arch) == (criterion.key, arch)}
            learned = sum(v == HOLDS and verdict.get((CONTROL, seed)) == HOLDS
                          for (condition, seed), v in verdict.items() if condition == "trained")
            for condition in (*CONDITIONS, CONTROL):
                chosen = sorted((r for r in rows if (r.criterion, r.arch, r.condition) == (criterion.key, arch,
                                                                                           condition)),
                                key=lambda r: r.seed)
                if not chosen:
                    continue
                effects = np.array([r.effect for r in chosen], dtype=np.float64)
                count = {v: sum(r.verdict == v for r in chosen) for v in (HOLDS, UNCLEAR, CONTRADICTED)}
                out.append(SummaryRow(
                    criterion=criterion.key, arch=arch, condition=condition, seeds=len(chosen), holds=count[HOLDS],
                    unclear=count[UNCLEAR], contradicted=count[CONTRADICTED],
                    effect=float(np.median(effects[np.isfinite(effects)])) if np.isfinite(effects).any() else np.nan,
                    per_seed="; ".join(f"seed {r.seed}: {_interval(r)}" for r in chosen), learned=learned,
                ))
    return out


def _holds_text(row: SummaryRow) -> str:
    extra = [f"{n} {word}" for n, word in ((row.unclear, UNCLEAR), (row.contradicted, CONTRADICTED)) if n]
    return f"{row.holds}/{row.seeds}" + (f" ({', '.join(extra)})" if extra else "")


#: How the block says when the rules were fixed (item 6 of issue 21: exactly, not "in advance").
WHEN_FIXED = (
    "The criteria and thresholds (`auralisation/study/criteria.py`) were written on 2026-11-29, before any run of "
    "the study but after a single-run analysis of one trained `choi2016` on the earlier, easier default data; the "
    "control's rule and the resampling of clips instead of pairs were added on 2026-12-06, after the first full "
    "study."
)


def criteria_markdown(criteria: Sequence[Criterion] = CRITERIA) -> str:
    """The study's rules as Markdown: how a verdict is reached, when the rules were fixed, and the criteria."""
    lines = [
        "Generated by `make study` (`auralisation study --update-readme`); do not edit by hand. " + WHEN_FIXED + " A seed "
        "*holds* when the trained network's 95 % interval meets the rule; it is *learned* when, in addition, the "
        "paired effect trained minus untrained (the same seed's initial weights, the same draws of clips) has its "
        f"95 % interval above {CONTROL_RULE.lower:g}: an effect the untrained copy shows as much is the "
        "architecture's. Intervals resample clips (the pairs among the drawn clips), not pairs. The invariance "
        "criteria read the deepest layer whose maps have more than one frequency row: `choi2016`'s block 5 (8 rows), "
        "`choi2017`'s block 3 (3 rows; its last two blocks are 1 x 1); a correlation over 3 points piles up near "
        "+-1, so `choi2017`'s invariance effects are coarse and not comparable in size with `choi2016`'s. The "
        "untrained `choi2017`'s batch normalisation is recalibrated on 64 training spectrograms (no weight "
        "updated), so that it sees its dB input normalised as training would start. Rows named `musicnn-...` are "
        "the `musicnn` package's pretrained taggers (trained elsewhere, on real music; one network each, no "
        "training run here): their control is an untrained copy (Keras's initial weights), its batch "
        "normalisation recalibrated the same way on 64 spectrograms of the bundled training split at the tagger's "
        "16 kHz, their invariance layer is chosen by the same rule, and they are analysed over the first 8 features of "
        "each block, as notebook 07 reads them (`--pretrained-features`; all 640 would take over an hour per tagger "
        "on 2 cores), so their shares of features move in steps of 1/8.",
        "",
        "| finding | effect | rule |",
        "|---|---|---|",
    ]
    lines += [f"| {c.finding} | {c.effect} | {c.rule.text} |" for c in criteria]
    return "\n".join(lines)


def markdown(
    summary: Sequence[SummaryRow],
    runs: Sequence[RunRecord],
    *,
    criteria: Sequence[Criterion] = CRITERIA,
    where: str = "",
) -> str:
    """The criteria, the table of findings and the runs, as Markdown (the README block and ``study.md``).

    Parameters
    ----------
    summary : sequence of SummaryRow
    runs : sequence of RunRecord
    criteria : sequence of Criterion
    where : str
        The machine and date of the run, said above the runs' table.
    """
    by_key = {c.key: c for c in criteria}
    lines = [criteria_markdown(criteria)]
    lines += [
        "",
        "| finding | architecture | learned: seeds | trained: seeds it holds for | trained - untrained: effect, "
        "median (per seed, 95 % interval) | trained: effect, median (per seed) | untrained: seeds it holds for | "
        "untrained: effect, median (per seed) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cells = {(row.criterion, row.arch, row.condition): row for row in summary}
    for criterion in criteria:
        for arch in dict.fromkeys(row.arch for row in summary):
            trained, untrained, control = (cells.get((criterion.key, arch, c)) for c in (*CONDITIONS, CONTROL))
            if trained is None:
                continue
            parts = [f"**{trained.learned}/{trained.seeds}**", _holds_text(trained)]
            parts.append("-" if control is None else f"{control.effect:.3f} ({control.per_seed})")
            parts.append(f"{trained.effect:.3f} ({trained.per_seed})")
            parts += ["-", "-"] if untrained is None else [_holds_text(untrained),
                                                           f"{untrained.effect:.3f} ({untrained.per_seed})"]
            lines.append(f"| {by_key[criterion.key].finding} | {arch} | " + " | ".join(parts) + " |")
    lines += [
        "",
        f"Runs{f' ({where})' if where else ''}: one fixed split; the seed sets the initial weights, dropout and "
        "shuffle. Seconds are wall time.",
        "",
        "| architecture | seed | epochs | training (s) | analyses, trained + untrained (s) | test accuracy: excerpts, "
        "tracks | MFCC baseline: excerpts, tracks |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.arch} | {r.seed} | {r.epochs} | {r.train_seconds:.0f} | {r.analysis_seconds_trained:.0f} + "
        f"{r.analysis_seconds_untrained:.0f} | {100 * r.accuracy:.1f} %, {100 * r.track_accuracy:.1f} % | "
        f"{100 * r.baseline_accuracy:.1f} %, {100 * r.baseline_track_accuracy:.1f} % |"
        for r in runs
    ]
    return "\n".join(lines)


def replace_block(text: str, block: str, *, begin: str = BEGIN, end: str = END) -> str:
    """``text`` with whatever lies between the ``begin`` and ``end`` lines replaced by ``block``.

    Raises
    ------
    ParameterError
        The markers are missing, repeated or out of order: the README is left alone rather than guessed at.
    """
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ParameterError(
            f"the README must hold exactly one {begin!r} line followed by one {end!r} line for the study's table; "
            "add them where the table belongs"
        )
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{block.strip()}\n{end}{tail}"


def write_reports(
    folder: str | os.PathLike[str],
    runs: Sequence[RunRecord],
    rows: Sequence[VerdictRow],
    *,
    readme: str | os.PathLike[str] | None = None,
    settings: Any = None,
) -> dict[str, Path]:
    """Write ``runs.csv``, ``verdicts.csv``, ``table.csv``, ``study.md``, ``study.json``, ``environment.json``
    (:func:`~auralisation.provenance.record_environment`) and the figure ``effects.png`` to ``folder``, and the Markdown into ``readme`` between the markers when given.

    Returns
    -------
    dict
        Name -> path of each file written.
    """
    folder = Path(folder)
    summary = summarise(rows)
    where = f"{cpu()}, {time.strftime('%Y-%m-%d')}"
    text = markdown(summary, runs, where=where)
    written = {
        "runs": write_csv(runs, folder / "runs.csv"),
        "verdicts": write_csv(rows, folder / "verdicts.csv"),
        "table": write_csv(summary, folder / "table.csv"),
        "markdown": atomic_write_text(folder / "study.md", text + "\n"),
        "json": atomic_write_text(folder / "study.json", json.dumps({
            "machine": where,
            "settings": None if settings is None else dataclasses.asdict(settings),
            "criteria": [{"key": c.key, "finding": c.finding, "effect": c.effect, "rule": c.rule.text}
                         for c in CRITERIA],
            "runs": records(runs), "verdicts": records(rows), "table": records(summary),
        }, indent=2, allow_nan=True) + "\n"),
    }
    written["environment"] = record_environment(folder)
    from ..plotting.style import save_figure
    from .figures import effects_by_seed

    save_figure(effects_by_seed(rows), folder / "effects.png")
    written["figure"] = folder / "effects.png"
    if readme is not None:
        path = Path(readme)
        written["readme"] = atomic_write_text(path, replace_block(path.read_text(encoding="utf-8"), text))
    return written


def read_reports(folder: str | os.PathLike[str]) -> tuple[list[RunRecord], list[VerdictRow]] | None:
    """The runs and verdicts of a study written to ``folder`` by :func:`write_reports`, or None if there is none."""
    path = Path(folder) / "study.json"
    if not path.is_file():
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    return [RunRecord(**run) for run in stored["runs"]], [VerdictRow(**row) for row in stored["verdicts"]]


def find_reports() -> tuple[Path, bool] | None:
    """The folder of the full study's reports if they exist, else the fast-mode study's; with True for the full one.

    None when neither exists (``make study`` writes the full one, ``make study FAST=1`` the fast one).
    """
    from ..paths import project_paths

    for fast in (False, True):
        folder = project_paths(fast=fast).results / "study"
        if (folder / "study.json").is_file():
            return folder, not fast
    return None


def describe(summary: Sequence[SummaryRow], criteria: Sequence[Criterion] = CRITERIA) -> str:
    """One Markdown line per finding: per architecture, for how many seeds it holds and is learned, with the effects.

    The effects are the seeds' medians: trained, untrained, and the paired difference trained minus untrained, whose
    interval decides "learned".
    """
    cells = {(row.criterion, row.arch, row.condition): row for row in summary}
    archs = list(dict.fromkeys(row.arch for row in summary))
    lines = []
    for criterion in criteria:
        parts = []
        for arch in archs:
            trained, untrained, control = (cells.get((criterion.key, arch, c)) for c in (*CONDITIONS, CONTROL))
            if trained is None:
                continue
            text = f"{arch} holds for {trained.holds}/{trained.seeds} seeds (effect {trained.effect:.3f}"
            if untrained is not None:
                text += f"; untrained {untrained.effect:.3f}, holds for {untrained.holds}/{untrained.seeds}"
            text += ")"
            if control is not None:
                text += (f", learned for {trained.learned}/{trained.seeds} (trained - untrained {control.effect:+.3f}, "
                         f"above 0 for {control.holds}/{control.seeds})")
            parts.append(text)
        if parts:
            lines.append(f"- *{criterion.finding}*: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def model_table(verdicts: dict[str, Sequence[Verdict]], criteria: Sequence[Criterion] = CRITERIA) -> str:
    """The criteria applied to one model (and its control): a Markdown table of effect, interval and verdict.

    Parameters
    ----------
    verdicts : dict
        Condition (``"trained"``, ``"untrained"``) -> :func:`~auralisation.study.criteria.evaluate`'s verdicts.
    """
    conditions = list(verdicts)
    by_condition = {condition: {v.criterion: v for v in values} for condition, values in verdicts.items()}
    lines = ["| finding | " + " | ".join(conditions) + " |", "|---|" + "---|" * len(conditions)]
    for criterion in criteria:
        cells = []
        for condition in conditions:
            v = by_condition[condition].get(criterion.key)
            cells.append("-" if v is None else f"{v.effect:.3f} [{v.low:.3f}, {v.high:.3f}]: **{v.verdict}**")
        lines.append(f"| {criterion.finding} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
