"""The label mix of each feature's top excerpts, from ``atlas.json`` alone: which features select a label.

A feature whose top excerpts are mostly one label, far above that label's share of the corpus, is a **label (genre)
selector**: :func:`label_selectivity` gives, per feature, the most common top label, its share of the top excerpts
and its *lift* (that share over the label's share of the corpus; 1 is what chance gives).

Examples
--------
>>> atlas = {"corpus": {"labels": ["jazz", "rock"]}, "layers": [{"layer": "pool5", "features": [
...     {"feature": 0, "counts": [[9, 1], [1, 9]], "top": [{"label": "rock", "activation": 2.0}] * 3}]}]}
>>> label_selectivity(atlas)[0]
Selectivity(layer='pool5', feature=0, label='rock', count=3, top=3, share=1.0, lift=2.0, selector=True)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["SELECTOR_LIFT", "SELECTOR_SHARE", "Selectivity", "label_selectivity"]

#: A label selector: at least this share of the top excerpts from one label ...
SELECTOR_SHARE = 2 / 3
#: ... and at least this many times the label's share of the corpus.
SELECTOR_LIFT = 2.0


@dataclasses.dataclass(frozen=True)
class Selectivity:
    """The label mix of one feature's top excerpts."""

    layer: str
    feature: int
    label: str
    count: int
    top: int
    share: float
    lift: float
    selector: bool


def label_selectivity(atlas: dict[str, Any]) -> list[Selectivity]:
    """For every feature that fires, its most common top label (ties: alphabetical), share, lift and verdict."""
    rows = []
    for layer in atlas["layers"]:
        for entry in layer["features"]:
            top = entry["top"]
            if not top or top[0]["activation"] <= 0:
                continue
            corpus = np.asarray(entry["counts"]).sum(axis=1)
            labels = [t["label"] for t in top]
            label = min(set(labels), key=lambda name: (-labels.count(name), name))
            share = labels.count(label) / len(labels)
            corpus_share = corpus[atlas["corpus"]["labels"].index(label)] / max(corpus.sum(), 1)
            lift = float(share / corpus_share) if corpus_share > 0 else float("inf")
            rows.append(Selectivity(layer["layer"], entry["feature"], label, labels.count(label), len(labels),
                                    round(share, 3), round(lift, 2),
                                    share >= SELECTOR_SHARE and lift >= SELECTOR_LIFT))
    return rows
