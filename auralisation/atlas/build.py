"""Building an atlas: the two passes and their checkpoints (``auralisation atlas`` is :mod:`auralisation.cli.atlas`).

**Pass 1** cuts the corpus (:func:`~.corpus.scan_corpus`, in path and offset order) into shards of ``shard_size``
excerpts; the engine scores each shard (one number per excerpt and feature of every chosen layer,
:meth:`~.worker.AtlasWorker.score`) and the driver writes each shard's scores to ``OUT/state/pass1/`` as soon as
it comes back. Merging the shards, in order, into a streaming top-k per feature (:class:`~.topk.TopK`) and then
into histograms (:class:`~.topk.Histogram`) holds a few numbers per feature, never the corpus nor its maps. The
chosen excerpts go to ``OUT/atlas.json``.

**Pass 2** renders the features in chunks of :data:`FEATURES_PER_CHUNK` (:meth:`~.worker.AtlasWorker.render`): each
chosen excerpt is deconvolved once per layer for all the features of the chunk that chose it, and auralised; a
chunk is marked done in ``OUT/state/pass2/`` when its files are written. Last come the pages, the index last.

An interrupted run started again with ``resume=True`` (``--resume``) skips the shards and chunks already done and
gives the same site, byte for byte: nothing in it depends on timing, engine or order of completion. What each
pass of the last run took is in ``OUT/state/timings.json``, and what it ran with (package versions, CPU) in
``OUT/state/environment.json`` (:func:`auralisation.provenance.record_environment`).

Examples
--------
>>> from auralisation.atlas import build_atlas
>>> build_atlas("models/choi2016", "data/generated", "results/atlas", top=9)        # doctest: +SKIP
PosixPath('results/atlas/index.html')
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from ..choices import STATISTICS
from ..errors import AtlasError, ModelError, ParameterError
from ..fileio import atomic_path, atomic_write_text
from ..provenance import record_environment
from ..io import CLASSES_FILE, CONFIG_FILE, MODEL_FILE, load_model
from ..tagging import is_tagger
from .corpus import Corpus, scan_corpus
from .engines import check_engine, open_engine
from .site import INDEX, write_site
from .topk import Histogram, TopK
from .worker import FeatureUnit, RenderUnit, ScoreResult, ScoreUnit, WorkerSpec

__all__ = ["ATLAS_FILE", "build_atlas"]

#: The chosen excerpts of every feature (and the histograms), as JSON, in the site's folder.
ATLAS_FILE = "atlas.json"

#: Features rendered per unit of pass 2.
FEATURES_PER_CHUNK = 8

#: Histogram bins per feature.
BINS = 30

#: Version of the state and atlas layout; a different one is another atlas.
_FORMAT = 1

_STATE = "state"
_JOB = "job.json"

#: Seconds spent by the last run, in ``OUT/state/``: start-up (model, corpus scan, engine), each pass, in all.
TIMINGS = "timings.json"


def _absolute(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute against the working folder (``..`` folded, symbolic links kept), as a worker on
    another node or in another folder must be given it.

    Examples
    --------
    >>> _absolute("/srv/models/../models/choi2016")
    PosixPath('/srv/models/choi2016')
    """
    return Path(os.path.abspath(path))


def _model_digest(folder: Path) -> str:
    """A hash of a saved model's files (a pretrained model's checkpoint): another model, or the same one
    retrained, is another atlas."""
    from ..pretrained import checkpoint_files, is_pretrained

    digest = hashlib.sha256()
    files = checkpoint_files(str(folder)) if is_pretrained(folder) else [
        folder / name for name in (MODEL_FILE, CONFIG_FILE, CLASSES_FILE)
    ]
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _check_folder(out: Path, job: dict[str, Any], *, resume: bool, force: bool) -> None:
    """Make ``out`` ready for ``job``: new, resumed, or (with ``force``) emptied of another atlas."""
    if not out.exists():
        return
    if not out.is_dir():
        raise AtlasError(f"{out}: exists and is not a folder; choose another --out")
    state = out / _STATE / _JOB
    if not state.is_file():
        if any(out.iterdir()):
            raise AtlasError(f"{out}: the folder is not empty and holds no atlas; choose an empty or new --out")
        return
    try:
        previous = json.loads(state.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        previous = {}
    same = previous.get("key") == job["key"]
    if force:
        shutil.rmtree(out)
        return
    if same and resume:
        return
    done = (out / INDEX).is_file() and (out / _STATE / "complete").is_file()
    if same:
        what = "a complete atlas" if done else "an interrupted run of this atlas"
        raise AtlasError(f"{out}: holds {what} (same model, corpus and settings); pass --resume to continue it (or "
                         "rewrite its pages), or --force to build it again from scratch")
    model = previous.get("model", {}).get("folder", "another model")
    raise AtlasError(
        f"{out}: holds the atlas of {model} on {', '.join(previous.get('sources', ['another corpus']))} with other "
        "settings or files; choose another --out, or pass --force to replace it"
    )


def _shards(corpus: Corpus, size: int) -> list[ScoreUnit]:
    """The corpus as pass 1's units of ``size`` excerpts."""
    rows = [(i, str(e.path), e.label, e.offset) for i, e in enumerate(corpus.excerpts)]
    return [ScoreUnit(n, tuple(rows[start : start + size])) for n, start in enumerate(range(0, len(rows), size))]


def _shard_file(out: Path, shard: int) -> Path:
    return out / _STATE / "pass1" / f"shard-{shard:05d}.npz"


def _save_shard(out: Path, result: ScoreResult) -> None:
    failed = json.dumps(result.failed)
    with atomic_path(_shard_file(out, result.shard)) as tmp:
        np.savez(tmp, index=result.index, failed=np.array(failed), **{f"stats_{k}": v for k, v in result.stats.items()})


def _load_shard(out: Path, shard: int, layers: Sequence[str]) -> ScoreResult:
    with np.load(_shard_file(out, shard), allow_pickle=False) as data:
        failed = [tuple(item) for item in json.loads(str(data["failed"]))]
        return ScoreResult(shard, data["index"], {name: data[f"stats_{name}"] for name in layers}, failed)


def _merge(out: Path, n_shards: int, layers: Sequence[str], top: int, corpus: Corpus) -> dict[str, Any]:
    """Merge pass 1's shards: per layer a :class:`TopK` and a :class:`Histogram`; and the excerpts that failed."""
    tops: dict[str, TopK] = {}
    failed: list[tuple[int, str]] = []
    for shard in range(n_shards):
        result = _load_shard(out, shard, layers)
        failed += result.failed
        for name in layers:
            stats = result.stats[name]
            tops.setdefault(name, TopK(stats.shape[1], top)).update(stats, result.index)
    labels = corpus.labels
    label_index = {label: i for i, label in enumerate(labels)}
    excerpt_labels = np.array([label_index[e.label] for e in corpus.excerpts])
    histograms = {name: Histogram(t.low, t.scores[:, 0], len(labels), BINS) for name, t in tops.items()}
    for shard in range(n_shards):
        result = _load_shard(out, shard, layers)
        for name in layers:
            histograms[name].update(result.stats[name], excerpt_labels[result.index])
    return {"tops": tops, "histograms": histograms, "failed": failed}


def _atlas_json(
    job: dict[str, Any], corpus: Corpus, merged: dict[str, Any], blocks: list[str], model_name: str,
) -> dict[str, Any]:
    """The atlas as a JSON-ready dictionary: settings, corpus, and per feature its chosen excerpts."""
    layers = []
    for name, top in merged["tops"].items():
        histogram = merged["histograms"][name]
        features = []
        for feature in range(len(top.scores)):
            chosen = []
            for index, score in top.chosen(feature):
                excerpt = corpus.excerpts[index]
                chosen.append({"excerpt": index, "path": str(excerpt.path), "track": excerpt.path.name,
                               "label": excerpt.label, "offset": excerpt.offset, "activation": score})
            features.append({
                "feature": feature,
                "top": chosen,
                "edges": histogram.edges[feature].tolist(),
                "counts": histogram.counts[feature].tolist(),
            })
        layers.append({"layer": name, "block": blocks.index(name) + 1 if name in blocks else None,
                       "features": features})
    skipped = [{"path": s.path, "reason": s.reason} for s in corpus.skipped]
    for index, reason in merged["failed"]:
        excerpt = corpus.excerpts[index]
        skipped.append({"path": f"{excerpt.path} at {excerpt.offset:g} s", "reason": reason})
    usable = len(corpus.excerpts) - len(merged["failed"])
    return {
        "format": _FORMAT,
        "model": {**job["model"], "name": model_name},
        "statistic": job["statistic"],
        "top": job["top"],
        "seeding": job["seeding"],
        "corpus": {"sources": job["sources"], "excerpts": usable, "tracks": corpus.n_tracks,
                   "labels": corpus.labels, "duration": corpus.config.duration, "sr": corpus.config.sr, "notes": corpus.notes()},
        "layers": layers,
        "skipped": skipped,
    }


#: Tags shown per feature when the model is a tagger.
TAGS_SHOWN = 5


def _add_tags(atlas: dict[str, Any], corpus: Corpus, trained: Any) -> None:
    """With a tagger: each feature's ``tags``, the tagger's mean tags over its top excerpts (the strongest
    :data:`TAGS_SHOWN`, as ``[tag, probability]``), shown beside the label mix."""
    from ..audio import load_clip
    from ..tagging import predict_clips, top_classes

    entries = [entry for layer in atlas["layers"] for entry in layer["features"]]
    wanted = sorted({top["excerpt"] for entry in entries for top in entry["top"]})
    clips = [load_clip(corpus.excerpts[i].path, trained.config, corpus.excerpts[i].offset, silence="allow")
             for i in wanted]
    tags = dict(zip(wanted, predict_clips(trained, np.stack(clips)))) if clips else {}
    for entry in entries:
        if entry["top"]:
            mean = np.mean([tags[top["excerpt"]] for top in entry["top"]], axis=0)
            entry["tags"] = [[tag, round(p, 4)] for tag, p in top_classes(mean, trained.classes, TAGS_SHOWN)]


def _render_units(atlas: dict[str, Any], out: Path) -> list[RenderUnit]:
    units = []
    labels = tuple(atlas["corpus"]["labels"])
    for layer in atlas["layers"]:
        features = []
        for entry in layer["features"]:
            if not entry["top"]:
                continue
            top = tuple((t["excerpt"], t["path"], t["label"], t["offset"]) for t in entry["top"])
            features.append(FeatureUnit(entry["feature"], top, np.array(entry["counts"]), np.array(entry["edges"]),
                                        entry["top"][-1]["activation"]))
        for start in range(0, len(features), FEATURES_PER_CHUNK):
            units.append(RenderUnit(len(units), layer["layer"], tuple(features[start : start + FEATURES_PER_CHUNK]),
                                    labels, str(out)))
    return units


def build_atlas(
    model: str | os.PathLike[str],
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    top: int = 9,
    layers: Sequence[int | str] | None = None,
    statistic: Literal["max", "mean"] = "max",
    seeding: Literal["map", "max"] = "map",
    engine: Literal["local", "ray"] = "local",
    address: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    hop: float | None = None,
    cache: str | os.PathLike[str] | None = None,
    shard_size: int = 64,
    batch_size: int = 16,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Build the feature atlas of a saved model over a corpus; return the path of its index page.

    Parameters
    ----------
    model : path-like
        A saved model folder (``auralisation train --out``), or a pretrained tagger ``musicnn:NAME``.
    data : path-like or sequence of path-like
        A GTZAN-style folder (``root/<label>/<track>``), or folders and audio files (:func:`~.corpus.scan_corpus`).
        Audio at another sample rate is resampled, and tracks are cut into excerpts of the model's duration every
        ``hop`` seconds, as in training; the site says so.
    out : path-like
        The site's folder: new, empty, or holding this same atlas (with ``resume``); ``force`` replaces an atlas
        already there.
    top : int
        Excerpts per feature.
    layers : sequence of int or str, optional
        Block numbers (1-based) or layer names; all blocks by default.
    statistic : {"max", "mean"}
        How a feature map ranks an excerpt: its largest value (a feature that fires strongly anywhere) or its mean
        (one that fires throughout the excerpt).
    seeding : {"map", "max"}
        Deconvolution seeding (:func:`auralisation.deconv.deconvolve`).
    engine : {"local", "ray"}
        Run in this process, or on Ray actors (:mod:`.engines`).
    address : str, optional
        With ``engine="ray"``, an existing Ray cluster to join; None starts a local one for the run.
    workers : int, optional
        Ray actors (default: 2 locally, as many as a cluster's CPUs hold); the local engine runs one, and refuses
        another number.
    threads : int, optional
        With ``engine="ray"``: the CPUs each actor reserves and TensorFlow's threads in it (default 1).
    hop : float, optional
        Seconds between excerpt starts (default: the model's duration, no overlap).
    cache : path-like, optional
        A spectrogram cache folder (:class:`~auralisation.data.SpectrogramCache`) shared with training.
    shard_size, batch_size : int
        Excerpts per checkpointed shard of pass 1, and per forward pass.
    resume, force : bool
        Continue the interrupted (or complete) run of this same atlas in ``out``; or delete the atlas in ``out``
        and start again.
    progress : bool
        A progress bar per pass.

    Returns
    -------
    pathlib.Path
        ``out/index.html``.

    Raises
    ------
    DatasetError
        The corpus is missing or holds no usable excerpt.
    ModelError
        The model cannot be loaded, or a layer does not exist.
    AtlasError
        ``out`` holds another atlas (or other files), or Ray is asked for and not installed.
    ParameterError
        ``top``, ``statistic``, ``seeding``, ``engine``, ``workers``, ``threads``, ``shard_size`` or ``batch_size``
        out of range.
    AtlasError
        ``workers`` or ``threads`` given to the local engine, ``address`` without the Ray engine, or a unit failed on
        a Ray worker (the message names it).

    Notes
    -----
    The model, corpus, cache and site paths are made absolute here, before any is sent to a worker: on a cluster
    they must name the same files on every node (shared storage).
    """
    started = time.perf_counter()
    if top < 1:
        raise ParameterError(f"top must be at least 1 excerpt per feature, got {top}")
    if statistic not in STATISTICS:
        raise ParameterError(f"statistic must be one of {', '.join(STATISTICS)}, got {statistic!r}")
    if shard_size < 1 or batch_size < 1:
        raise ParameterError(f"shard_size and batch_size must be at least 1, got {shard_size} and {batch_size}")
    check_engine(engine, address=address, workers=workers, threads=threads)
    from ..deconv import Deconvolver
    from ..deconv.rules import check_seeding

    check_seeding(seeding)

    model_folder = _absolute(model)
    trained = load_model(model_folder)
    deconvolver = Deconvolver(trained.model)
    blocks = deconvolver.layer_names
    wanted = range(1, len(blocks) + 1) if layers is None else layers
    names = list(dict.fromkeys(deconvolver.layer_name(layer) for layer in wanted))
    if not names:
        raise ModelError("no layers chosen; pass block numbers like 1-5 or layer names")
    sources = [str(_absolute(item)) for item in ([data] if isinstance(data, (str, os.PathLike)) else data)]
    corpus = scan_corpus(sources, trained.config, hop=hop)
    settings = {"top": top, "layers": names, "statistic": statistic, "seeding": seeding, "hop": corpus.hop,
                "shard_size": shard_size, "batch_size": batch_size, "format": _FORMAT}
    model_info = {"folder": str(model_folder), "sha256": _model_digest(model_folder)}
    key_payload = json.dumps([model_info["sha256"], corpus.fingerprint(), settings], sort_keys=True)
    job = {"key": hashlib.sha256(key_payload.encode()).hexdigest()[:16], "model": model_info, "sources": sources,
           **settings}
    out = _absolute(out)
    _check_folder(out, job, resume=resume, force=force)
    atomic_write_text(out / _STATE / _JOB, json.dumps(job, indent=1, sort_keys=True) + "\n")
    (out / _STATE / "complete").unlink(missing_ok=True)

    spec = WorkerSpec(str(model_folder), tuple(names), statistic, seeding, batch_size,
                      None if cache is None else str(_absolute(cache)), threads)
    shards = _shards(corpus, shard_size)
    with open_engine(engine, spec, address=address, workers=workers) as runner:
        pending = [unit for unit in shards if not _shard_file(out, unit.shard).is_file()]
        done = len(corpus.excerpts) - sum(len(unit.excerpts) for unit in pending)
        timings: dict[str, Any] = {"engine": runner.name, "workers": runner.workers, "actors": runner.describe(),
                                   "start": time.perf_counter() - started}
        tic = time.perf_counter()
        with tqdm(total=len(corpus.excerpts), initial=done, desc=f"atlas pass 1 ({runner.name})", unit="excerpt",
                  disable=not progress) as bar:
            for unit, result in runner.map("score", pending):  # as they complete; merged below in shard order
                _save_shard(out, result)
                bar.update(len(unit.excerpts))
        timings["pass1"] = {"seconds": time.perf_counter() - tic, "excerpts": len(corpus.excerpts) - done}
        merged = _merge(out, len(shards), names, top, corpus)
        if len(merged["failed"]) == len(corpus.excerpts):
            raise AtlasError(f"none of the {len(corpus.excerpts)} excerpts could be decoded; the first: "
                             f"{merged['failed'][0][1]}")
        atlas = _atlas_json(job, corpus, merged, blocks, trained.model.name)
        if is_tagger(trained):
            _add_tags(atlas, corpus, trained)
        atomic_write_text(out / ATLAS_FILE, json.dumps(atlas, indent=1, sort_keys=True) + "\n")
        units = _render_units(atlas, out)
        marker = out / _STATE / "pass2"
        pending_render = [unit for unit in units if not (marker / f"chunk-{unit.chunk:05d}.done").is_file()]
        total = sum(len(unit.features) for unit in units)
        tic = time.perf_counter()
        with tqdm(total=total, initial=total - sum(len(unit.features) for unit in pending_render),
                  desc=f"atlas pass 2 ({runner.name})", unit="feature", disable=not progress) as bar:
            for unit, count in runner.map("render", pending_render):
                atomic_write_text(marker / f"chunk-{unit.chunk:05d}.done", f"{count}\n")
                bar.update(count)
        timings["pass2"] = {"seconds": time.perf_counter() - tic,
                            "features": sum(len(unit.features) for unit in pending_render)}
    index = write_site(out, atlas)
    timings["total"] = time.perf_counter() - started
    atomic_write_text(out / _STATE / TIMINGS, json.dumps(timings, indent=1) + "\n")
    record_environment(out / _STATE)
    atomic_write_text(out / _STATE / "complete", job["key"] + "\n")
    return index
