"""The study: every architecture x training seed, trained and untrained, through the analyses and the criteria.

For each architecture and seed, :func:`run_study`

1. trains the network on one fixed train/validation/test split (``split_seed``; the seed of the weights, the dropout
   and the shuffle is the run's) into ``models/<arch>-seed<k>/``, scored against the MFCC baseline, unless that
   folder already holds the run;
2. runs the trained network and its untrained copy (:func:`~auralisation.analysis.responses.untrained_copy`: the
   same seed's initial weights; a copy with batch normalisation, ``choi2017``, has its moving statistics
   recalibrated on :data:`CALIBRATION_CLIPS` training spectrograms, no weight updated) over the stimuli
   (:func:`~auralisation.analysis.responses.compute_responses`),
   caching the responses in ``results/<arch>-seed<k>/<condition>/responses.npz`` unless already there;
3. writes notebook 04's tables of each (:func:`~auralisation.analysis.findings.analyse`) and the summary, and
   applies every criterion of :data:`~auralisation.study.criteria.CRITERIA` to each, and the control's rule to
   the paired effect trained minus untrained (:func:`~auralisation.study.criteria.evaluate_control`).

A run already done is not redone: an interrupted study continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.correlation import StimulusLike
from ..analysis.findings import analyse, summarise_findings
from ..analysis.responses import Responses, compute_responses, select_stimuli, untrained_copy
from ..errors import ModelError, ParameterError
from ..fileio import atomic_path, atomic_write_text
from .criteria import CRITERIA, Verdict, evaluate, evaluate_control

__all__ = [
    "CONDITIONS", "CONTROL", "RunRecord", "StudySettings", "VerdictRow", "pretrained_label", "run_name", "run_study",
]

#: The two conditions of every run: the trained network and its untrained copy (the control).
CONDITIONS: tuple[str, ...] = ("trained", "untrained")

#: The verdict rows of the paired effect trained minus untrained
#: (:func:`~auralisation.study.criteria.evaluate_control`).
CONTROL = "trained - untrained"

#: Written beside a trained study model: how long it took to train.
TIMING_FILE = "study.json"


@dataclasses.dataclass(frozen=True)
class StudySettings:
    """What the study runs.

    Attributes
    ----------
    archs : tuple of str
        Architectures (:data:`auralisation.models.ARCHITECTURES`).
    seeds : tuple of int
        Training seeds: weights, dropout and shuffle (the split stays ``split_seed``'s).
    split_seed : int
        Seed of the train/validation/test split, the same for every run.
    fast : bool
        Train with :meth:`~auralisation.training.TrainSettings.for_mode`'s fast settings.
    epochs, width : int or None
        Override the training settings' epochs and filters per convolution.
    layers : int or None
        First N blocks analysed (default all).
    features : int or None
        First N features of each layer analysed (default all).
    keys, instruments : tuple of str or None
        Stimuli analysed (:func:`~auralisation.analysis.responses.select_stimuli`; ``None`` keeps all).
    drums : bool
        Keep the drum loops (they add onsets to layer 1's measure).
    n_boot : int
        Bootstrap resamples of every interval.
    pretrained : tuple of str
        Networks trained elsewhere (:func:`~auralisation.io.load_model` sources: a model folder, a ``.keras``
        file, or a pretrained tagger's name once those load), each studied as one trained network (seed 0) with its
        untrained copy as the control; they have no row in the runs table (nothing was trained here).
    pretrained_features : int or None
        First N features of each block of a pretrained network analysed (also within ``features``); ``None``: all.
        The musicnn taggers' blocks have 128 features (their front end's up to 204): all 640 over the 124 stimuli
        would take over an hour per tagger on 2 cores, so 8 by default, as notebook 07 reads them (about a minute and
        a half per condition).
    """

    archs: tuple[str, ...] = ("choi2016", "choi2017")
    seeds: tuple[int, ...] = (0, 1, 2)
    split_seed: int = 0
    fast: bool = False
    epochs: int | None = None
    width: int | None = None
    layers: int | None = None
    features: int | None = None
    keys: tuple[str, ...] | None = None
    instruments: tuple[str, ...] | None = None
    drums: bool = True
    n_boot: int = 1000
    pretrained: tuple[str, ...] = ()
    pretrained_features: int | None = 8

    @classmethod
    def for_mode(cls, fast: bool) -> StudySettings:
        """Full mode: both architectures, 3 seeds, every stimulus and feature. Fast mode (tests, CI): 2 seeds,
        fast training, one key pair, two instruments, no drums, the first 8 features of each layer, 300 resamples."""
        if not fast:
            return cls()
        return cls(seeds=(0, 1), fast=True, features=8, keys=("Bb2", "A3"), instruments=("sine", "piano"),
                   drums=False, n_boot=300)

    def for_pretrained(self) -> StudySettings:
        """The settings a pretrained network is analysed with: at most ``pretrained_features`` per block.

        Examples
        --------
        >>> StudySettings().for_pretrained().features, StudySettings(features=4).for_pretrained().features
        (8, 4)
        >>> StudySettings(pretrained_features=None).for_pretrained().features is None
        True
        """
        caps = [n for n in (self.features, self.pretrained_features) if n is not None]
        return dataclasses.replace(self, features=min(caps) if caps else None)

    def check(self) -> None:
        """Raise :class:`~auralisation.errors.ParameterError` on settings the study cannot run."""
        from ..models import ARCHITECTURES

        unknown = [arch for arch in self.archs if arch not in ARCHITECTURES]
        if unknown or not self.archs:
            raise ParameterError(f"unknown architectures {unknown}: choose from {sorted(ARCHITECTURES)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ParameterError(f"seeds must be distinct non-negative integers, got {list(self.seeds)}")
        for name in ("epochs", "width", "layers", "features", "pretrained_features"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ParameterError(f"{name} must be at least 1, got {value}")
        if self.n_boot < 10:
            raise ParameterError(f"n_boot must be at least 10 for a 95 % interval, got {self.n_boot}")

    def train_settings(self, arch: str, seed: int) -> Any:
        """The :class:`~auralisation.training.TrainSettings` of one run."""
        from ..training import TrainSettings

        overrides = {"epochs": self.epochs, "width": self.width}
        return dataclasses.replace(TrainSettings.for_mode(self.fast, arch), seed=seed,
                                   **{k: v for k, v in overrides.items() if v is not None})


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One trained run: its scores against the baseline and what it cost (seconds of wall time)."""

    arch: str
    seed: int
    epochs: int
    train_seconds: float
    analysis_seconds_trained: float
    analysis_seconds_untrained: float
    accuracy: float
    track_accuracy: float
    baseline_accuracy: float
    baseline_track_accuracy: float


@dataclasses.dataclass(frozen=True)
class VerdictRow(Verdict):
    """One criterion applied to one run (architecture and seed) and condition."""

    arch: str = ""
    seed: int = 0
    condition: str = ""


def run_name(arch: str, seed: int) -> str:
    """The folder name of one run, ``<arch>-seed<k>``."""
    return f"{arch}-seed{seed}"


# ------------------------------------------------------------------------------------------------------- training


def _comparable(settings: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def _trained_before(folder: Path, data: Any, settings: Any) -> dict[str, Any] | None:
    """The scores of the model in ``folder`` if it was trained with ``settings`` on ``data``'s split, else None.

    Notebook 01 (and ``make reproduce``) trains ``models/<arch>`` with the study's settings for seed 0 on its split;
    such a model is that run, and need not be trained twice.
    """
    from ..training import HISTORY_FILE, METRICS_FILE, SPLITS_FILE, splits_record

    files = [folder / name for name in ("model.keras", METRICS_FILE, SPLITS_FILE, HISTORY_FILE)]
    if not all(path.is_file() for path in files):
        return None
    metrics = json.loads((folder / METRICS_FILE).read_text(encoding="utf-8"))
    split = json.loads((folder / SPLITS_FILE).read_text(encoding="utf-8"))
    if metrics.get("settings") != _comparable(settings) or split != json.loads(json.dumps(splits_record(data.splits))):
        return None
    history = json.loads((folder / HISTORY_FILE).read_text(encoding="utf-8"))
    return {**metrics, "train_seconds": float(sum(history.get("seconds", []))), "epochs": len(history.get("loss", [])),
            "resumed": True}


def _train(data: Any, folder: Path, settings: Any, *, verbose: int | str) -> dict[str, Any]:
    """Train one run into ``folder`` unless it is there; return its timing and scores (``"resumed"``: it was)."""
    from ..training import train_and_evaluate

    metrics_file, timing_file = folder / "metrics.json", folder / TIMING_FILE
    if metrics_file.is_file() and timing_file.is_file() and (folder / "model.keras").is_file():
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        if metrics.get("settings") != _comparable(settings):
            raise ModelError(
                f"{folder} holds a run trained with other settings ({metrics.get('settings')}, asked for "
                f"{_comparable(settings)}); delete that folder to train it again, or give the study another --models"
            )
        return {**metrics, **json.loads(timing_file.read_text(encoding="utf-8")), "resumed": True}
    started = time.perf_counter()
    result = train_and_evaluate(data, folder, settings, verbose=verbose)
    timing = {"train_seconds": time.perf_counter() - started, "epochs": len(result.history.get("loss", []))}
    atomic_write_text(timing_file, json.dumps(timing, indent=2) + "\n")
    return {**json.loads(metrics_file.read_text(encoding="utf-8")), **timing, "resumed": False}


# ------------------------------------------------------------------------------------------------ response cache


#: Training spectrograms the untrained copy's batch normalisation is recalibrated on (models that have it).
CALIBRATION_CLIPS = 64


def _signature(stimuli: Sequence[StimulusLike], settings: StudySettings, calibrated: int = 0) -> dict[str, Any]:
    return {"stimuli": [s.name for s in stimuli], "layers": settings.layers, "features": settings.features,
            **({"batch_norm_calibration": calibrated} if calibrated else {})}


def _calibration(data: Any) -> np.ndarray:
    """Up to :data:`CALIBRATION_CLIPS` training spectrograms spread over the split (every class)."""
    train = data.splits.train
    chosen = np.unique(np.linspace(0, len(train) - 1, min(CALIBRATION_CLIPS, len(train))).astype(int))
    return np.stack([data.cache.get(train[i]) for i in chosen])


def save_responses(path: Path, responses: Responses, meta: dict[str, Any]) -> Path:
    """Write ``responses`` (every array, and ``meta`` with the stimulus names) to one ``.npz``, atomically."""
    arrays: dict[str, np.ndarray] = {"input_lines": np.asarray(responses.input_lines)}
    for name in ("features", "activation", "deconvolution", "lines", "onset"):
        for layer, values in getattr(responses, name).items():
            arrays[f"{name}/{layer}"] = np.asarray(values)
    stored = {"signature": meta, "label": responses.label, "layers": responses.layers}
    arrays["meta"] = np.asarray(json.dumps(stored))
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def load_responses(path: Path, stimuli: Sequence[StimulusLike], meta: dict[str, Any]) -> Responses | None:
    """The responses cached at ``path`` if they were computed over ``stimuli`` with ``meta``'s settings, else None."""
    if not path.is_file():
        return None
    with np.load(path) as archive:
        stored = json.loads(str(archive["meta"]))
        if stored.get("signature") != json.loads(json.dumps(meta)):
            return None
        tables: dict[str, dict[str, np.ndarray]] = {}
        for key in archive.files:
            if "/" in key:
                name, layer = key.split("/", 1)
                tables.setdefault(name, {})[layer] = archive[key]
        input_lines = archive["input_lines"]
    layers = stored["layers"]
    ordered = {name: {layer: tables.get(name, {})[layer] for layer in layers if layer in tables.get(name, {})}
               for name in ("features", "activation", "deconvolution", "lines", "onset")}
    return Responses(label=stored["label"], stimuli=list(stimuli), layers=layers, input_lines=input_lines, **ordered)


def _responses(model: Any, config: Any, stimuli: Sequence[StimulusLike], settings: StudySettings, *, label: str,
               folder: Path, progress: bool, calibrated: int = 0) -> tuple[Responses, float]:
    """Cached or computed responses of one condition, with the seconds they took to compute."""
    path, meta = folder / "responses.npz", _signature(stimuli, settings, calibrated)
    cached = load_responses(path, stimuli, meta)
    timing = folder / "timing.json"
    if cached is not None and timing.is_file():
        return cached, float(json.loads(timing.read_text(encoding="utf-8"))["seconds"])
    started = time.perf_counter()
    layers = None if settings.layers is None else list(range(1, settings.layers + 1))
    responses = compute_responses(model, stimuli, config, label=label, layers=layers, n_features=settings.features,
                                  progress=progress)
    seconds = time.perf_counter() - started
    save_responses(path, responses, meta)
    atomic_write_text(timing, json.dumps({"seconds": seconds}) + "\n")
    return responses, seconds


def _has_batch_norm(model: Any) -> bool:
    import keras

    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)


# ---------------------------------------------------------------------------------------------------------- study


def run_study(
    settings: StudySettings,
    *,
    data: str | os.PathLike[str],
    stimuli: Sequence[StimulusLike],
    models: str | os.PathLike[str],
    results: str | os.PathLike[str],
    cache: str | os.PathLike[str],
    progress: bool = True,
    log: Callable[[str], Any] = print,
    earlier: str | os.PathLike[str] | None = None,
) -> tuple[list[RunRecord], list[VerdictRow]]:
    """Train (or load) every run, analyse it and its untrained control, and apply the criteria.

    Parameters
    ----------
    settings : StudySettings
    data : path-like
        The dataset (GTZAN layout) every run trains on.
    stimuli : sequence of Stimulus
        The paper's stimuli (:func:`auralisation.synth.load_stimuli`); ``settings`` selects among them.
    models : path-like
        Folder of the runs' models, ``models/<arch>-seed<k>/``.
    results : path-like
        Folder of the analyses, ``results/<arch>-seed<k>/<condition>/``.
    cache : path-like
        Spectrogram cache of the dataset.
    progress : bool
        Progress bars (runs, clips) and Keras's one line per epoch.
    log : callable
        Where the per-run lines (timing, accuracy) go.
    earlier : path-like, optional
        A folder of models trained outside the study, one per architecture (``models/<arch>``, notebook 01's): a
        run that is not in ``models`` yet uses the one there when it was trained with the run's settings on the
        same split, instead of training it again.

    Returns
    -------
    (list of RunRecord, list of VerdictRow)
        One record per run; one row per run, condition (trained, untrained, and :data:`CONTROL`, the paired effect
        trained minus untrained) and criterion.

    Raises
    ------
    ParameterError
        Bad settings, or no stimulus left after the selection.
    ModelError
        A run's folder holds a model trained with other settings.
    DatasetError
        The dataset cannot be read or split.
    """
    from tqdm.auto import tqdm

    from ..io import load_model
    from ..training import ARCH_CONFIGS, prepare_data

    settings.check()
    chosen = select_stimuli(stimuli, keys=settings.keys, instruments=settings.instruments, drums=settings.drums)
    if not chosen:
        raise ParameterError(f"no stimulus has keys {settings.keys} and instruments {settings.instruments}")
    models, results = Path(models), Path(results)
    runs, rows = [], []
    plan = [(arch, seed) for arch in settings.archs for seed in settings.seeds]
    bar = tqdm(plan, desc="study", unit="run", disable=not progress)
    prepared: dict[str, Any] = {}
    for arch, seed in bar:
        name = run_name(arch, seed)
        bar.set_postfix_str(name)
        train_settings = settings.train_settings(arch, seed)
        if arch not in prepared:
            prepared[arch] = prepare_data(data, ARCH_CONFIGS[arch], cache, hop=train_settings.hop,
                                          fractions=train_settings.fractions, seed=settings.split_seed)
        folder = models / name
        scores = None
        if earlier is not None and not (folder / "model.keras").exists():
            scores = _trained_before(Path(earlier) / arch, prepared[arch], train_settings)
            if scores is not None:
                folder = Path(earlier) / arch
                log(f"{name}: {folder} was trained with this run's settings on its split; the study uses it")
        if scores is None:
            scores = _train(prepared[arch], folder, train_settings, verbose=2 if progress else 0)
        trained = load_model(folder)
        calibration = _calibration(prepared[arch]) if _has_batch_norm(trained.model) else None
        new_rows, seconds = _analyse_run(trained, arch, seed, calibration, chosen, settings, results / name,
                                         progress=progress)
        rows += new_rows
        record = RunRecord(
            arch=arch, seed=seed, epochs=int(scores["epochs"]), train_seconds=float(scores["train_seconds"]),
            analysis_seconds_trained=seconds["trained"], analysis_seconds_untrained=seconds["untrained"],
            accuracy=scores["cnn"]["accuracy"], track_accuracy=scores["cnn"]["track_accuracy"],
            baseline_accuracy=scores["baseline"]["accuracy"],
            baseline_track_accuracy=scores["baseline"]["track_accuracy"],
        )
        runs.append(record)
        done = " (done before)" if scores["resumed"] else ""
        log(f"{name}{done}: {record.epochs} epochs in {record.train_seconds:.0f} s, test accuracy "
            f"{100 * record.accuracy:.1f} % (baseline {100 * record.baseline_accuracy:.1f} %); analyses "
            f"{record.analysis_seconds_trained:.0f} s trained, {record.analysis_seconds_untrained:.0f} s untrained")
    pretrained_settings = settings.for_pretrained()
    for source in settings.pretrained:
        trained = load_model(source)
        label = pretrained_label(source)
        calibration = None
        if _has_batch_norm(trained.model):
            calibration = _calibration(prepare_data(data, trained.config, cache, seed=settings.split_seed))
        new_rows, seconds = _analyse_run(trained, label, 0, calibration, chosen, pretrained_settings, results / label,
                                         progress=progress)
        rows += new_rows
        log(f"{label} (pretrained, not trained here): analyses {seconds['trained']:.0f} s trained, "
            f"{seconds['untrained']:.0f} s untrained")
    return runs, rows


def pretrained_label(source: str) -> str:
    """The row (and folder) name of a pretrained network: its folder's name, or the source with ``:`` as ``-``.

    Examples
    --------
    >>> pretrained_label("musicnn:MSD_vgg"), pretrained_label("models/choi2016/")
    ('musicnn-MSD_vgg', 'choi2016')
    """
    return Path(source).name if not source.count(":") else source.replace(":", "-")


def _analyse_run(trained: Any, arch: str, seed: int, calibration: np.ndarray | None, chosen: Sequence[StimulusLike],
                 settings: StudySettings, folder: Path, *, progress: bool) -> tuple[list[VerdictRow], dict[str, float]]:
    """One network and its untrained copy through the analyses and the criteria, and the control's paired effects:
    the verdict rows and the seconds each condition's responses took."""
    networks = {"trained": trained.model, "untrained": untrained_copy(trained.model, calibration)}
    calibrated = {"trained": 0, "untrained": 0 if calibration is None else len(calibration)}
    analyses, seconds, measured, rows = {}, {}, {}, []
    for condition, network in networks.items():
        measured[condition], seconds[condition] = _responses(network, trained.config, chosen, settings,
                                                             label=condition, folder=folder / condition,
                                                             progress=progress, calibrated=calibrated[condition])
        analyses[condition] = analyse(measured[condition], n_boot=settings.n_boot)
        analyses[condition].write(folder / condition)
        verdicts: list[Verdict] = evaluate(measured[condition], CRITERIA, n_boot=settings.n_boot)
        rows += [VerdictRow(**dataclasses.asdict(v), arch=arch, seed=seed, condition=condition) for v in verdicts]
    control = evaluate_control(measured["trained"], measured["untrained"], CRITERIA, n_boot=settings.n_boot)
    rows += [VerdictRow(**dataclasses.asdict(v), arch=arch, seed=seed, condition=CONTROL) for v in control]
    atomic_write_text(folder / "summary.txt", summarise_findings(analyses["trained"], analyses["untrained"]) + "\n")
    return rows, seconds
