"""The work of an atlas, in units any engine can run: score a shard of excerpts, render a chunk of features.

An :class:`AtlasWorker` loads the model once and then serves many units; the local engine keeps one in the
process, the Ray engine one per Ray actor. Units and results are small picklable dataclasses: a score result
carries one number per excerpt and feature, never a feature map, and a render unit writes its files itself
(atomically) into the site folder, which every worker must see (on a cluster, shared storage, as for the corpus).

Pass 1 (:meth:`AtlasWorker.score`) runs a Keras sub-model of the model, ``keras.Model(model.inputs, [block
outputs])``, so one forward pass per batch gives every chosen layer at once; the maps are reduced to one number per
feature in numpy (max or mean over the map), so the result does not depend on how many threads TensorFlow has.
Pass 2 (:meth:`AtlasWorker.render`) deconvolves each chosen excerpt once per chunk of features
(:meth:`~auralisation.methods.Attributor.maps`), auralises it with the excerpt's own phase, and draws ``|X| * D`` as an
image at the spectrogram's own resolution (:func:`~auralisation.plotting.thumbnail_png`: no figure to lay out).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..audio import AudioWarning, load_clip, magnitude, stft, write_wav
from ..auralise import loudness_gains, synthesise
from ..data import DatasetWarning, Excerpt, SpectrogramCache
from ..errors import AudioError, AuralisationError
from ..fileio import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from ..analysis.stems import ClipStems

__all__ = ["AtlasWorker", "FeatureUnit", "RenderUnit", "ScoreResult", "ScoreUnit", "WorkerSpec"]

Statistic = Literal["max", "mean"]



@dataclasses.dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to start: the model folder, the layers, and how to score and deconvolve.

    Attributes
    ----------
    model : str
        A saved model folder (:func:`auralisation.io.save_model`).
    layers : tuple of str
        Layer names, in the atlas's order.
    statistic : {"max", "mean"}
        How a feature map becomes one activation: its largest value, or its mean.
    seeding : {"map", "max"}
        Deconvolution seeding (:meth:`~auralisation.deconv.Deconvolver.deconvolve`).
    batch_size : int
        Excerpts per forward pass in pass 1.
    cache : str or None
        A spectrogram cache folder (:class:`~auralisation.data.SpectrogramCache`), or None to decode every time.
    threads : int or None
        TensorFlow's threads in the worker's process (intra-op; inter-op 1), set before TensorFlow starts; None
        leaves TensorFlow's own choice (every core), as in this process for the local engine.
    """

    model: str
    layers: tuple[str, ...]
    statistic: Statistic = "max"
    seeding: Literal["map", "max"] = "map"
    batch_size: int = 16
    cache: str | None = None
    threads: int | None = None


@dataclasses.dataclass(frozen=True)
class ScoreUnit:
    """Pass 1's unit: one shard of the corpus, as ``(index, path, label, offset)`` per excerpt."""

    shard: int
    excerpts: tuple[tuple[int, str, str, float], ...]

    @property
    def name(self) -> str:
        """The unit as a message names it: its shard and first excerpt."""
        index, path, _, offset = self.excerpts[0]
        return f"shard {self.shard} (excerpts {index}-{index + len(self.excerpts) - 1}, from {path} at {offset:g} s)"


@dataclasses.dataclass
class ScoreResult:
    """One shard's activations: ``stats[layer]`` is float32 ``(len(index), n_features)``.

    ``failed`` lists ``(index, reason)`` of the excerpts that could not be decoded (left out of ``index``).
    """

    shard: int
    index: np.ndarray
    stats: dict[str, np.ndarray]
    failed: list[tuple[int, str]]


@dataclasses.dataclass(frozen=True)
class FeatureUnit:
    """One feature to render: its top excerpts ``(index, path, label, offset)``, best first, and its histogram."""

    feature: int
    top: tuple[tuple[int, str, str, float], ...]
    counts: np.ndarray
    edges: np.ndarray
    threshold: float


@dataclasses.dataclass(frozen=True)
class RenderUnit:
    """Pass 2's unit: some features of one layer, rendered into the site folder ``out``."""

    chunk: int
    layer: str
    features: tuple[FeatureUnit, ...]
    labels: tuple[str, ...]
    out: str

    @property
    def name(self) -> str:
        """The unit as a message names it: its chunk, layer and features."""
        return f"chunk {self.chunk} (layer {self.layer}, features {', '.join(str(f.feature) for f in self.features)})"


def excerpt_asset(index: int) -> str:
    """The site-relative path of an excerpt's player."""
    return f"excerpts/e{index:06d}.wav"


def feature_assets(layer: str, feature: int, rank: int | None = None) -> dict[str, str]:
    """The site-relative paths of one feature's files: ``thumb`` and ``hist``, or with ``rank`` ``wav``, ``png``
    and ``d``.

    ``png`` is ``|X| * D`` and ``d`` is ``D`` on the excerpt of that rank; ``thumb`` is ``D`` of the strongest, small;
    ``stems`` the stem shares of the top excerpts' auralisations (written only for a corpus with stems).
    """
    stem = f"{layer}/assets/f{feature:03d}"
    if rank is None:
        return {"thumb": f"{stem}-thumb.png", "hist": f"{stem}-hist.png", "stems": f"{stem}-stems.json"}
    return {"wav": f"{stem}-{rank}.wav", "png": f"{stem}-{rank}.png", "d": f"{stem}-{rank}-d.png"}


class AtlasWorker:
    """Loads the model once; scores shards (pass 1) and renders features (pass 2).

    Parameters
    ----------
    spec : WorkerSpec
    """

    def __init__(self, spec: WorkerSpec) -> None:
        if spec.threads is not None:  # before the first TensorFlow op of this process, or TensorFlow refuses
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(spec.threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras

        from ..io import load_model
        from ..methods import Attributor

        self.spec = spec
        trained = load_model(spec.model)
        self.config = trained.config
        self.attributor = Attributor(trained.model, trained.config)
        self.n_features = {name: self.attributor.deconvolver("deconvnet").n_features(name) for name in spec.layers}
        outputs = [trained.model.get_layer(name).output for name in spec.layers]
        self.maps = keras.Model(trained.model.inputs, outputs, name="atlas_maps")
        self.cache = SpectrogramCache(spec.cache, self.config) if spec.cache else None
        # Warm up once, so that no unit pays for it: compile the forward pass for its batch shape, and librosa's STFT.
        self.maps.predict_on_batch(np.zeros((spec.batch_size, *self.config.input_shape), np.float32))
        magnitude(np.zeros(self.config.n_samples, np.float32), self.config)

    def describe(self) -> dict[str, object]:
        """Where this worker runs and how: host, process, the package it imported, TensorFlow's and OpenMP's threads."""
        import tensorflow as tf

        from .. import __file__ as package

        return {"host": socket.gethostname(), "pid": os.getpid(), "package": str(Path(package).parent),
                "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}

    def _spectrogram(self, path: str, label: str, offset: float) -> np.ndarray:
        """The excerpt's linear magnitude (from the cache when there is one)."""
        if self.cache is not None:
            return self.cache.get(Excerpt(Path(path), label, offset))
        return magnitude(load_clip(path, self.config, offset, silence="allow"), self.config)

    def _stems(self, path: str, offset: float, X: np.ndarray) -> ClipStems | None:
        """The excerpt's stems on its STFT grid, or None when its track has none (not a generated track)."""
        from ..analysis.stems import clip_stem_shares, excerpt_stems
        from ..synth import SAMPLE_RATE, load_stems

        try:
            stems = load_stems(path)
        except AuralisationError:
            return None
        return clip_stem_shares(excerpt_stems(stems, self.config, offset, sr=SAMPLE_RATE), self.config, X)

    def score(self, unit: ScoreUnit) -> ScoreResult:
        """Pass 1 on one shard: each layer's activation statistic per excerpt and feature."""
        good: list[int] = []
        spectrograms: list[np.ndarray] = []
        failed: list[tuple[int, str]] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AudioWarning)
            warnings.simplefilter("ignore", DatasetWarning)
            for index, path, label, offset in unit.excerpts:
                try:
                    spectrograms.append(self._spectrogram(path, label, offset))
                except AudioError as error:
                    failed.append((index, str(error)))
                    continue
                good.append(index)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.spec.layers}
        for start in range(0, len(spectrograms), self.spec.batch_size):
            batch = np.stack(spectrograms[start : start + self.spec.batch_size])[..., None]
            count = len(batch)
            # The last batch is padded to the full size: one compiled shape, and every excerpt scored in a batch of
            # the same size whichever shard it falls in.
            batch = np.concatenate([batch, np.zeros((self.spec.batch_size - count, *batch.shape[1:]), batch.dtype)])
            outputs = self.maps.predict_on_batch(batch)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            for name, maps in zip(self.spec.layers, outputs):
                maps = np.asarray(maps, dtype=np.float32)[:count]
                axes = tuple(range(1, maps.ndim - 1))
                if self.spec.statistic == "max":
                    parts[name].append(maps.max(axis=axes))
                else:
                    parts[name].append(maps.mean(axis=axes, dtype=np.float64).astype(np.float32))
        stats = {
            name: np.concatenate(chunks) if chunks else np.zeros((0, self.n_features[name]), np.float32)
            for name, chunks in parts.items()
        }
        return ScoreResult(unit.shard, np.asarray(good, dtype=np.int64), stats, failed)

    def render(self, unit: RenderUnit) -> int:
        """Pass 2 on some features of one layer: write their players, pictures and histograms; return how many."""
        from ..plotting.spectrograms import thumbnail_png
        from ..plotting.style import save_figure
        from .figures import activation_histogram

        out = Path(unit.out)
        excerpts = dict.fromkeys(excerpt for feature in unit.features for excerpt in feature.top)
        # Every excerpt is deconvolved for all the chunk's features: one compiled shape per layer, where asking each
        # excerpt for only the features that chose it would trace the deconvolution again for every count.
        features = [feature.feature for feature in unit.features]
        spectra: dict[int, np.ndarray] = {}
        stems: dict[int, ClipStems | None] = {}
        maps: dict[tuple[int, int], np.ndarray] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AudioWarning)
            for index, path, _, offset in excerpts:
                y = load_clip(path, self.config, offset, silence="allow")
                X = stft(y, self.config)
                spectra[index] = X
                stems[index] = self._stems(path, offset, X)
                D = self.attributor.maps(np.abs(X), unit.layer, features, seeding=self.spec.seeding)
                for feature, d in zip(features, D):
                    maps[index, feature] = d
                player = out / excerpt_asset(index)
                if not player.is_file():
                    own_level = float(np.max(np.abs(y))) <= 1.0
                    write_wav(player, y, self.config.sr, normalize="none" if own_level else "peak")
        for feature in unit.features:
            indices = [excerpt[0] for excerpt in feature.top]
            D = np.stack([maps[index, feature.feature] for index in indices])
            waves = np.stack([synthesise(spectra[index], d, self.config)[0] for index, d in zip(indices, D)])
            waves *= loudness_gains(waves, "comparable", normalize=True)[:, None]
            for rank, (index, d, wave) in enumerate(zip(indices, D, waves)):
                files = feature_assets(unit.layer, feature.feature, rank)
                write_wav(out / files["wav"], wave, self.config.sr, normalize="none")
                shape = {"rows": self.config.n_bins, "columns": self.config.n_frames}
                atomic_write_bytes(out / files["png"], thumbnail_png(np.abs(spectra[index]) * d, **shape))
                atomic_write_bytes(out / files["d"], thumbnail_png(d, **shape))
            files = feature_assets(unit.layer, feature.feature)
            if all(stems[index] is not None for index in indices):  # a generated corpus: what each stem explains
                shares = [stems[index].shares(d[None])[0] for index, d in zip(indices, D)]
                record = {"stems": list(stems[indices[0]].names),
                          "mix": [stems[index].mix_shares.tolist() for index in indices],
                          "shares": [row.tolist() if np.isfinite(row).all() else None for row in shares]}
                atomic_write_text(out / files["stems"], json.dumps(record) + "\n")
            atomic_write_bytes(out / files["thumb"], thumbnail_png(D[0]))
            figure = activation_histogram(
                feature.counts, feature.edges, unit.labels, [excerpt[2] for excerpt in feature.top],
                feature.threshold, statistic=self.spec.statistic,
            )
            save_figure(figure, out / files["hist"])
        return len(unit.features)
