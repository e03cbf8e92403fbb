"""How a network's features respond to the paper's stimuli: correlations, invariance, lines and onsets.

Typical use (the trained model from notebook 01 and the 124 stimuli)::

    from auralisation import analysis
    responses = analysis.compute_responses(model, stimuli, config, label="trained")
    result = analysis.analyse(responses)
    print(analysis.summarise_findings(result))

Modules: :mod:`~auralisation.analysis.correlation` (pairs, correlations, bootstrap; pure numpy),
:mod:`~auralisation.analysis.measures` (line share, onset log-ratio; pure numpy),
:mod:`~auralisation.analysis.responses` (running a model over the stimuli),
:mod:`~auralisation.analysis.findings` (tables and the verdict), :mod:`~auralisation.analysis.tables` (CSV).
"""

from __future__ import annotations

from .correlation import (
    ATTRIBUTES,
    FLOOR,
    CorrelationRow,
    Interval,
    attribute_pairs,
    bootstrap_ci,
    clip_correlations,
    correlation_table,
    invariance_matrix,
    pair_correlations,
    pearson,
)
from .findings import (
    INPUT,
    INVARIANT,
    Analysis,
    LineRow,
    OnsetRow,
    analyse,
    extreme_features,
    invariance_index,
    line_table,
    onset_extremes,
    onset_table,
    summarise_findings,
)
from .measures import active_frames, frame_energy, line_share, line_shares, onset_frames, onset_log_ratio, onset_masks
from .responses import (
    REPRESENTATIONS,
    Responses,
    compute_responses,
    feature_audio,
    select_stimuli,
    untrained_copy,
)
from .tables import records, write_csv

__all__ = [
    "ATTRIBUTES",
    "FLOOR",
    "INPUT",
    "INVARIANT",
    "REPRESENTATIONS",
    "Analysis",
    "CorrelationRow",
    "Interval",
    "LineRow",
    "OnsetRow",
    "Responses",
    "active_frames",
    "analyse",
    "attribute_pairs",
    "bootstrap_ci",
    "clip_correlations",
    "compute_responses",
    "correlation_table",
    "extreme_features",
    "feature_audio",
    "frame_energy",
    "invariance_index",
    "invariance_matrix",
    "line_share",
    "line_shares",
    "line_table",
    "onset_extremes",
    "onset_frames",
    "onset_log_ratio",
    "onset_masks",
    "onset_table",
    "pair_correlations",
    "pearson",
    "records",
    "select_stimuli",
    "summarise_findings",
    "untrained_copy",
    "write_csv",
]
