"""Reading an atlas: which features select a label, and what their deconvolutions look like.

Two readings of a feature, as notebook 06 uses them:

* :func:`label_selectivity`, from ``atlas.json`` alone: the most common label among the feature's top excerpts,
  its share of them, and its *lift*, that share over the label's share of the corpus. A feature whose top excerpts
  are mostly one label far above its corpus share is a **label (genre) selector**.
* :func:`feature_character`, from the deconvolved spectrograms ``|X| * D`` of the top excerpts: how much more of
  their energy lies below ``bass_hz`` than of the excerpt's own (**bass**: music's energy is mostly low already, so
  the share alone says little), and their horizontal and vertical line shares
  (:func:`~auralisation.analysis.measures.line_shares`): sustained partials (**harmonic**) or broadband onsets
  (**onset**; drum hits are onsets across the band).

Examples
--------
>>> from auralisation.atlas.summary import label_selectivity, load_atlas
>>> rows = label_selectivity(load_atlas("results/atlas"))                      # doctest: +SKIP
>>> [row for row in rows if row.selector][:1]                                  # doctest: +SKIP
[Selectivity(layer='pool5', feature=12, label='rock', count=8, top=9, share=0.89, lift=7.1, selector=True)]
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.measures import line_shares
from ..audio import load_clip, stft
from ..errors import AtlasError
from ..methods import Attributor
from ..models import TrainedModel
from .build import ATLAS_FILE
from .labels import Selectivity, label_selectivity

__all__ = ["Character", "Selectivity", "feature_character", "label_selectivity", "load_atlas"]

def load_atlas(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The chosen excerpts of an atlas (``folder/atlas.json``, written by :func:`~.build.build_atlas`)."""
    path = Path(folder) / ATLAS_FILE
    if not path.is_file():
        raise AtlasError(f"{folder}: no {ATLAS_FILE}; build the atlas first (auralisation atlas --out {folder})")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclasses.dataclass(frozen=True)
class Character:
    """What a feature's deconvolutions on its top excerpts look like (means over the excerpts)."""

    layer: str
    feature: int
    bass: float
    """Decades by which ``|X| * D`` favours energy below the bass limit over the excerpt's own ``|X|``."""
    harmonic: float
    onset: float
    kind: str


def feature_character(
    trained: TrainedModel, atlas: dict[str, Any], layer: str, *, top: int | None = None, bass_hz: float = 250.0,
) -> list[Character]:
    """Measure ``|X| * D`` of each feature of ``layer`` on its top excerpts.

    Parameters
    ----------
    trained : TrainedModel
        The atlas's model.
    atlas : dict
        :func:`load_atlas`'s result.
    layer : str
        A layer of the atlas (``"pool1"``).
    top : int, optional
        Use only the first ``top`` excerpts of each feature (all by default).
    bass_hz : float
        Energy below this frequency counts as bass.

    Returns
    -------
    list of Character
        One per feature that fires. ``kind`` joins with ``+`` the tags ``"bass"``, when ``|X| * D`` has at least
        three times the ratio of energy below to energy above ``bass_hz`` that ``|X|`` has (``bass >= log10(3)``),
        and ``"onset"`` or ``"harmonic"``, the larger line share when it exceeds 0.1; ``"texture"`` when neither.
        ``"bass+onset"`` is a low drum (kick) detector.
    """
    entries = next((entry["features"] for entry in atlas["layers"] if entry["layer"] == layer), None)
    if entries is None:
        raise AtlasError(f"the atlas has no layer {layer!r}; it has {[e['layer'] for e in atlas['layers']]}")
    config = trained.config
    attributor = Attributor(trained.model, config)
    low = np.fft.rfftfreq(config.n_fft, 1.0 / config.sr) < bass_hz
    spectra: dict[int, np.ndarray] = {}
    rows = []
    for entry in entries:
        chosen = entry["top"][:top]
        if not chosen or chosen[0]["activation"] <= 0:
            continue
        measures = []
        for excerpt in chosen:
            if excerpt["excerpt"] not in spectra:
                spectra[excerpt["excerpt"]] = np.abs(stft(load_clip(excerpt["path"], config, excerpt["offset"],
                                                                    silence="allow"), config))
            S = spectra[excerpt["excerpt"]]
            XD = S * attributor.maps(S, layer, [entry["feature"]])[0]
            horizontal, vertical = line_shares(np.abs(XD))
            measures.append((_low_to_high(XD, low) - _low_to_high(S, low), horizontal, vertical))
        bass, harmonic, onset = np.nanmean(np.asarray(measures, dtype=np.float64), axis=0)
        tags = ["bass"] if bass >= np.log10(3.0) else []
        if max(harmonic, onset) > 0.1:
            tags.append("onset" if onset > harmonic else "harmonic")
        kind = "+".join(tags) or "texture"
        rows.append(Character(layer, entry["feature"], round(float(bass), 3), round(float(harmonic), 3),
                              round(float(onset), 3), kind))
    return rows


def _low_to_high(S: np.ndarray, low: np.ndarray) -> float:
    """``log10`` of the energy in the bins ``low`` over the energy in the others."""
    energy = np.square(np.asarray(S, dtype=np.float64))
    return float(np.log10(max(energy[low].sum(), 1e-30) / max(energy[~low].sum(), 1e-30)))
