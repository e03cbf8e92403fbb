"""Where the project keeps data, models and results, in full mode and in the fast mode that tests use.

Notebooks and the command line take their folders from :func:`project_paths`, so that the fast mode (set by the
environment variable ``AURALISATION_FAST=1``) never touches the full run's data, models or results.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

__all__ = ["ProjectPaths", "fast_mode", "project_paths"]


def project_root() -> Path:
    """The repository root: ``$AURALISATION_HOME`` if set, else the folder above the package."""
    home = os.environ.get("AURALISATION_HOME")
    return Path(home).resolve() if home else Path(__file__).resolve().parents[1]


def fast_mode() -> bool:
    """True when ``AURALISATION_FAST`` is set to ``1`` (tests and CI): small data, few epochs."""
    return os.environ.get("AURALISATION_FAST", "0").strip().lower() in ("1", "true", "yes")


@dataclasses.dataclass(frozen=True)
class ProjectPaths:
    """The folders of one mode.

    Attributes
    ----------
    data : Path
        The default dataset (GTZAN layout) notebooks train on.
    stimuli : Path
        The paper's 124 stimuli and their manifest.
    cache : Path
        Spectrogram cache.
    models : Path
        Saved models (one folder per model).
    results : Path
        Exported audio, figures and reports.
    """

    data: Path
    stimuli: Path
    cache: Path
    models: Path
    results: Path


def project_paths(fast: bool | None = None) -> ProjectPaths:
    """The folders for full mode or fast mode (``fast=None`` reads :func:`fast_mode`).

    ``$AURALISATION_DATA`` overrides the dataset folder (point it at GTZAN's ``genres/`` folder, for instance).
    """
    fast = fast_mode() if fast is None else fast
    root = project_root()
    if fast:
        paths = ProjectPaths(
            data=root / "data" / "fast" / "generated",
            stimuli=root / "data" / "fast" / "stimuli",
            cache=root / "data" / "fast" / "cache",
            models=root / "models" / "fast",
            results=root / "results" / "fast",
        )
    else:
        paths = ProjectPaths(
            data=root / "data" / "generated",
            stimuli=root / "data" / "stimuli",
            cache=root / "data" / "cache",
            models=root / "models",
            results=root / "results",
        )
    data_override = os.environ.get("AURALISATION_DATA")
    if data_override:
        paths = dataclasses.replace(paths, data=Path(data_override).resolve())
    return paths
