"""The comparison's conclusion in words: which maps a reader can trust, from the faithfulness and sanity numbers.

A method is *faithful* for a target when its deletion curve lies below the random ranking's (lower area) and its
insertion curve above it (higher area); it *passes the sanity check* when its maps stop resembling the trained
model's as the layers are randomised (mean rank correlation over the stages below :func:`~.sanity.summarise_sanity`'s
threshold).
"""

from __future__ import annotations

from collections.abc import Sequence

from .faithfulness import RANDOM, Faithfulness
from .sanity import BARELY_CHANGED, Sanity

__all__ = ["conclude", "faithful_targets", "passes_sanity"]


def faithful_targets(results: Sequence[Faithfulness], method: str) -> list[str]:
    """The targets for which ``method`` beats the random ranking on both deletion and insertion."""
    return [
        r.target
        for r in results
        if method in r.deletion
        and r.deletion[method].auc < r.deletion[RANDOM].auc
        and r.insertion[method].auc > r.insertion[RANDOM].auc
    ]


def passes_sanity(result: Sanity, method: str, *, threshold: float = BARELY_CHANGED) -> bool:
    """True when ``method``'s map correlates below ``threshold`` with the trained one, on average over the stages."""
    return result.retained(method) < threshold


def conclude(results: Sequence[Faithfulness], sanity: Sanity, *, threshold: float = BARELY_CHANGED) -> str:
    """What to do with each method, from faithfulness results (one per target) and one randomisation check.

    Examples
    --------
    The output is a few lines such as::

        Trust for listening (beats random on 2/2 targets and depends on the learned weights): occlusion, gradient.
        ...
    """
    methods = [m for m in sanity.methods if all(m in r.deletion for r in results)]
    faithful = {m: faithful_targets(results, m) for m in methods}
    passing = {m: passes_sanity(sanity, m, threshold=threshold) for m in methods}
    n = len(results)
    trusted = [m for m in methods if passing[m] and len(faithful[m]) == n]
    lines = []
    if trusted:
        lines.append(
            f"Trust for listening (beats a random ranking on deletion and insertion for {n}/{n} targets and depends "
            f"on the learned weights): {', '.join(trusted)}."
        )
    else:
        lines.append(
            "No method both beats a random ranking on every target and depends on the learned weights: read every "
            "map here as a hypothesis to check by listening to what deleting its bins does."
        )
    for m in methods:
        if m in trusted:
            continue
        reasons = []
        if not passing[m]:
            reasons.append(
                f"its map barely changes when the weights are randomised from {sanity.stages[0]} down to "
                f"{sanity.stages[-1]} (mean rank correlation {sanity.retained(m):.2f} with the trained map), so it "
                "shows the clip through the network's architecture more than what the network learned"
            )
        if len(faithful[m]) < n:
            reasons.append(f"it beats a random ranking of bins on both curves for {len(faithful[m])}/{n} targets")
        lines.append(f"Use {m} with care: " + "; ".join(reasons) + ".")
    if "deconvnet" in methods:
        lines.append(
            "For the paper's auralisations (deconvnet): "
            + (
                "they pass both checks here, so what they let you hear is evidence about the learned features."
                if "deconvnet" in trusted
                else "treat what they let you hear as a picture of the clip filtered by the network's switches and "
                "ReLUs, and confirm any claim about a feature with a method from the trusted list."
            )
        )
    return "\n".join(lines)
