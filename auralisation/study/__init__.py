"""Findings that stand: the paper's findings held to stated criteria and to the untrained control, across seeds and
architectures.

Typical use (``make study``, or from Python)::

    from auralisation import study, synth
    runs, rows = study.run_study(study.StudySettings(), data="data/generated",
                                 stimuli=synth.load_stimuli("data/stimuli"), models="models/study",
                                 results="results/study", cache="data/cache")
    study.write_reports("results/study", runs, rows, readme="README.md")

Modules: :mod:`~auralisation.study.criteria` (the findings, their effects and decision rules; pure numpy),
:mod:`~auralisation.study.runner` (training, analysing and caching every run), :mod:`~auralisation.study.report`
(tables, Markdown, the README block), :mod:`~auralisation.study.figures` (every run's effect); the command
``auralisation study`` is :mod:`auralisation.cli.study`.
"""

from __future__ import annotations

from .criteria import (
    CONTRADICTED,
    CONTROL_RULE,
    CRITERIA,
    HOLDS,
    LEARNED,
    UNCLEAR,
    Criterion,
    Effect,
    Rule,
    Verdict,
    evaluate,
    evaluate_control,
)
from .figures import effects_by_seed
from .report import (
    BEGIN,
    END,
    SummaryRow,
    describe,
    find_reports,
    markdown,
    model_table,
    read_reports,
    replace_block,
    summarise,
    write_reports,
)
from .runner import CONDITIONS, CONTROL, RunRecord, StudySettings, VerdictRow, run_name, run_study

__all__ = [
    "BEGIN",
    "CONDITIONS",
    "CONTRADICTED",
    "CONTROL",
    "CONTROL_RULE",
    "CRITERIA",
    "END",
    "HOLDS",
    "LEARNED",
    "UNCLEAR",
    "Criterion",
    "Effect",
    "Rule",
    "RunRecord",
    "StudySettings",
    "SummaryRow",
    "Verdict",
    "VerdictRow",
    "describe",
    "effects_by_seed",
    "evaluate",
    "evaluate_control",
    "find_reports",
    "markdown",
    "model_table",
    "read_reports",
    "replace_block",
    "run_name",
    "run_study",
    "summarise",
    "write_reports",
]
