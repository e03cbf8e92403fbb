"""The study's figure: every run's effect and interval per finding, against the rule's thresholds.

Built without pyplot, like :mod:`auralisation.plotting`; a figure of several panels, so the function returns its
:class:`~matplotlib.figure.Figure`.

Examples
--------
>>> from auralisation.study.runner import VerdictRow
>>> rows = [VerdictRow("key_rises", 0.1, 0.05, 0.2, 180, "holds", arch="choi2016", seed=s, condition=c)
...         for s in (0, 1) for c in ("trained", "untrained")]
>>> fig = effects_by_seed(rows)
>>> len(fig.axes), fig.axes[0].get_title()
(1, 'invariance to key rises with depth')
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from .criteria import CONTRADICTED, CONTROL_RULE, CRITERIA, HOLDS, UNCLEAR, Criterion
from .runner import CONDITIONS, CONTROL, VerdictRow

__all__ = ["effects_by_seed"]

#: Marker colour of each verdict.
VERDICT_COLOURS = {HOLDS: "tab:green", UNCLEAR: "tab:gray", CONTRADICTED: "tab:red"}


def effects_by_seed(rows: Sequence[VerdictRow], criteria: Sequence[Criterion] = CRITERIA) -> Figure:
    """One panel per finding: each run's effect (dot) and 95 % interval (bar), coloured by its verdict.

    Runs are grouped by architecture and condition along the x axis (seeds side by side): trained, untrained, and
    the paired effect trained minus untrained (its own rule: above 0, the dotted line); dashed lines are the
    criterion's thresholds. Criteria without rows are left out.
    """
    shown = [c for c in criteria if any(r.criterion == c.key for r in rows)]
    columns = min(4, max(len(shown), 1))
    n_rows = -(-len(shown) // columns) if shown else 1
    figure = Figure(figsize=(3.4 * columns, 2.8 * n_rows), layout="constrained")
    axes = figure.subplots(n_rows, columns, squeeze=False).ravel()
    present = {r.condition for r in rows}
    groups = list(dict.fromkeys((r.arch, condition) for r in rows for condition in (*CONDITIONS, CONTROL)
                                if condition in present))
    for ax, criterion in zip(axes, shown):
        for position, (arch, condition) in enumerate(groups):
            chosen = sorted((r for r in rows if (r.criterion, r.arch, r.condition) == (criterion.key, arch,
                                                                                       condition)),
                            key=lambda r: r.seed)
            for offset, row in enumerate(chosen):
                x = position + (offset - (len(chosen) - 1) / 2) * 0.15
                colour = VERDICT_COLOURS[row.verdict]
                ax.errorbar([x], [row.effect], yerr=[[row.effect - row.low], [row.high - row.effect]], fmt="o",
                            color=colour, markersize=4, capsize=2)
        for threshold in (criterion.rule.lower, criterion.rule.upper):
            if threshold is not None:
                ax.axhline(threshold, color="black", lw=0.8, ls="--")
        if CONTROL in present:
            ax.axhline(CONTROL_RULE.lower, color="tab:blue", lw=0.8, ls=":")
        ax.set_xticks(range(len(groups)), [f"{arch}\n{condition}" for arch, condition in groups], fontsize=6)
        ax.set_title(criterion.finding, fontsize=8, wrap=True)
        ax.set_xlim(-0.5, len(groups) - 0.5)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    figure.suptitle("effect per seed, 95 % interval; green holds, grey unclear, red contradicted", fontsize=9)
    return figure
