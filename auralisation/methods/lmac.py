"""L-MAC, listenable maps for audio classifiers (Paissan, Ravanelli, Subakan, ICML 2024), on our Keras classifier.

A small decoder reads the frozen classifier's intermediate representations (the block outputs ``pool1`` ...
``pool5`` of :func:`auralisation.models.choi2016`, and the clip's own magnitude, compressed as ``log(1 + |X|)``,
for the finest scale) and outputs a mask ``M`` in [0, 1] on the linear magnitude: the deepest map is resized to the
next block's size, concatenated with it and convolved, up to the spectrogram's ``bins x frames``, and a 1x1
convolution with a sigmoid gives the mask. It is trained with the classifier frozen, on the class ``c`` the
classifier predicts for each clip, to minimise

    ``w_in * CE(f(X * M), c) - w_out * CE(f(X * (1 - M)), c) + w_l1 * mean(M) + w_tv * TV(M)``

so that the masked-in clip keeps the decision, the masked-out clip loses it, and the mask stays sparse and smooth
(``TV``: mean squared difference of neighbouring bins, along frequency plus along time). The weights are those of
SpeechBrain's ``recipes/ESC50/interpret/hparams/lmac_cnn14.yaml`` (``l_in_w: 4``, ``l_out_w: 0.2``,
``reg_w_l1: 0.4``) except the smoothness term, which that recipe switches off (``reg_w_tv: 0``) and the issue asks
for: ``w_tv = 0.4``, the L1 weight, because both terms are means over bins in [0, 1]. Keras's cross-entropy clips
probabilities at 1e-7, so the masked-out term is bounded (at most about 16).

The decoder explains the class the classifier predicts (it is not told the class). It is saved beside the model as
``models/NAME/lmac.keras`` (with ``lmac.json``: settings, training time, losses); :func:`load_lmac` loads it and
says how to train one when it is absent (``auralisation lmac --model models/NAME --data DIR``).

Examples
--------
>>> from auralisation.audio import AudioConfig
>>> from auralisation.models import choi2016
>>> model = choi2016(AudioConfig(), n_classes=3, width=8, seed=0)
>>> lmac = LMAC(model, build_decoder(model, width=4, seed=0))
>>> S = np.random.default_rng(0).random((257, 173)).astype("float32")
>>> mask = lmac.mask(S)
>>> mask.shape, bool(0.0 <= mask.min() and mask.max() <= 1.0)
((257, 173), True)
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

from ..data import Excerpt, SpectrogramCache, make_dataset
from ..deconv import check_spectrograms
from ..errors import ModelError, ParameterError
from ..fileio import atomic_path, atomic_write_text
from ..models import MagnitudeScaling
from ..io import MODEL_FILE
from .attribute import attributor_for

if TYPE_CHECKING:
    from ..training import PreparedData

__all__ = ["DECODER_FILE", "LMAC", "LMACSettings", "build_decoder", "load_lmac", "load_or_train_lmac", "save_lmac",
           "train_lmac"]

#: The trained decoder, saved beside the classifier's ``model.keras``.
DECODER_FILE = "lmac.keras"

#: Settings, training time and the last losses of the decoder.
INFO_FILE = "lmac.json"

#: Name of the decoder's input that takes the clip's linear magnitude.
SPECTROGRAM_INPUT = "spectrogram"


@dataclasses.dataclass(frozen=True)
class LMACSettings:
    """How to train an L-MAC decoder.

    Attributes
    ----------
    weight_in, weight_out, weight_l1, weight_tv : float
        The loss's weights (see the module's docstring for where they come from).
    width : int
        Filters of each decoder convolution.
    epochs : int
        Epochs of ``steps_per_epoch`` batches.
    steps_per_epoch : int or None
        Batches per epoch (the clips are shuffled and repeated); ``None``: one pass over the clips.
    clips : int or None
        Use only the first ``clips`` training excerpts (fast mode); ``None``: all.
    batch_size : int
        Clips per step.
    learning_rate : float
        Adam's (the recipe's 2e-4 is for 200 epochs on a GPU; we train for minutes, so ten times that).
    seed : int
        Seed of the decoder's weights and of the shuffle.
    """

    weight_in: float = 4.0
    weight_out: float = 0.2
    weight_l1: float = 0.4
    weight_tv: float = 0.4
    width: int = 16
    epochs: int = 1
    steps_per_epoch: int | None = 40
    clips: int | None = None
    batch_size: int = 8
    learning_rate: float = 2e-3
    seed: int = 0

    @classmethod
    def for_mode(cls, fast: bool) -> "LMACSettings":
        """Full mode: 40 steps of 8 clips shuffled from the whole training split (2 to 4 s a step for the paper's
        network on 2 cores, quiet to busy: 85 to 151 s measured); fast mode: a narrow decoder, 2 steps of 4 clips,
        to try the pipeline out."""
        if fast:
            return cls(width=4, epochs=1, steps_per_epoch=2, clips=8, batch_size=4)
        return cls()


def _feature_layers(classifier: keras.Model) -> list[str]:
    """The block outputs of ``classifier`` that the decoder reads, shallowest first."""
    return attributor_for(classifier).deconvolver("deconvnet").layer_names


def build_decoder(
    classifier: keras.Model, *, layers: Sequence[str] | None = None, width: int = 16, seed: int | None = 0
) -> keras.Model:
    """An untrained L-MAC decoder for ``classifier``: inputs the clip and the maps of ``layers``, output the mask.

    Parameters
    ----------
    classifier : keras.Model
        The network to explain (read, not modified).
    layers : sequence of str, optional
        Layers whose outputs the decoder reads, shallowest first; default: every block output (``pool1``...).
    width : int
        Filters per convolution.
    seed : int or None
        Seed of the weights.

    Returns
    -------
    keras.Model
        Inputs ``[spectrogram (bins, frames, 1), *maps]`` named after the layers; output the mask
        ``(bins, frames, 1)`` in [0, 1].
    """
    if width < 1:
        raise ParameterError(f"the decoder needs at least 1 filter per convolution, got width={width}")
    names = list(layers) if layers is not None else _feature_layers(classifier)
    if not names:
        raise ModelError("the decoder needs at least one layer of the classifier to read")
    bins, frames = classifier.input_shape[1:3]
    spectrogram = keras.Input(shape=(bins, frames, 1), name=SPECTROGRAM_INPUT)
    try:
        maps = [keras.Input(shape=classifier.get_layer(name).output.shape[1:], name=name) for name in names]
    except ValueError as error:
        raise ModelError(f"the classifier has no layer among {names}: {error}") from None
    initializer = keras.initializers.GlorotUniform(seed=seed)

    def convolve(x: Any, label: str) -> Any:
        return keras.layers.Conv2D(
            width, 3, padding="same", activation="relu", kernel_initializer=initializer, name=label
        )(x)

    x = convolve(maps[-1], f"decode_{names[-1]}")
    skips = [*maps[-2::-1], MagnitudeScaling("log", name="decode_log")(spectrogram)]
    for skip, label in zip(skips, [*names[-2::-1], SPECTROGRAM_INPUT]):
        x = keras.layers.Resizing(*skip.shape[1:3], interpolation="bilinear", name=f"up_to_{label}")(x)
        x = keras.layers.Concatenate(name=f"join_{label}")([x, skip])
        x = convolve(x, f"decode_{label}")
    mask = keras.layers.Conv2D(1, 1, activation="sigmoid", kernel_initializer=initializer, name="mask")(x)
    return keras.Model([spectrogram, *maps], mask, name="lmac_decoder")


class LMAC:
    """A trained (or untrained) L-MAC decoder attached to the classifier it explains.

    Parameters
    ----------
    classifier : keras.Model
        The network (never modified).
    decoder : keras.Model
        From :func:`build_decoder`, :func:`train_lmac` or :func:`load_lmac`; its inputs name the layers it reads.
    batch_size : int
        Clips per forward pass in :meth:`masks`.
    """

    def __init__(self, classifier: keras.Model, decoder: keras.Model, *, batch_size: int = 16) -> None:
        self.classifier = classifier
        self.decoder = decoder
        self.batch_size = batch_size
        self.layers = [tensor.name for tensor in decoder.inputs[1:]]
        try:
            outputs = [classifier.get_layer(name).output for name in self.layers]
        except ValueError:
            raise ModelError(
                f"this L-MAC decoder reads layers {self.layers}, which model {classifier.name!r} does not have: "
                "it was trained for another model; train one for this model"
            ) from None
        for name, tensor, wanted in zip(self.layers, outputs, decoder.inputs[1:]):
            if tuple(tensor.shape[1:]) != tuple(wanted.shape[1:]):
                raise ModelError(
                    f"this L-MAC decoder expects {name} maps of shape {tuple(wanted.shape[1:])}, model "
                    f"{classifier.name!r} gives {tuple(tensor.shape[1:])}: train a decoder for this model"
                )
        self.features = keras.Model(classifier.inputs, outputs, name="lmac_features")
        self._network = attributor_for(classifier).deconvolver("deconvnet").network
        self._run = tf.function(self.call, reduce_retracing=True)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """The masks ``(n, bins, frames, 1)`` of a batch of linear magnitudes ``(n, bins, frames, 1)``."""
        maps = self.features(x, training=False)
        maps = list(maps) if isinstance(maps, (list, tuple)) else [maps]
        return self.decoder([x, *maps], training=training)

    def masks(self, spectrograms: np.ndarray) -> np.ndarray:
        """The masks of a batch of spectrograms ``(n, bins, frames)``: float32 ``(n, bins, frames)`` in [0, 1]."""
        batch, _ = check_spectrograms(self._network, spectrograms)
        out = [
            self._run(tf.constant(batch[start : start + self.batch_size])).numpy()
            for start in range(0, len(batch), self.batch_size)
        ]
        return np.concatenate(out)[..., 0].astype(np.float32)

    def mask(self, spectrogram: np.ndarray) -> np.ndarray:
        """The mask of one spectrogram ``(bins, frames)``, for the class the classifier predicts: ``(bins, frames)``.

        Auralise it like any map: ``auralise(X, mask[None], config)`` plays ``X * M`` with the clip's phase.
        """
        batch, single = check_spectrograms(self._network, spectrogram)
        if not single:
            raise ModelError(f"expected one spectrogram, got a batch of shape {np.shape(spectrogram)}; use masks()")
        return self.masks(batch[..., 0])[0]


class _Trainer(keras.Model):
    """Fits an L-MAC decoder with Keras's loop; only the decoder's weights are updated."""

    def __init__(self, lmac: LMAC, settings: LMACSettings) -> None:
        super().__init__(name="lmac_trainer")
        self.lmac = lmac
        self.settings = settings
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("loss", "ce_in", "ce_out", "l1", "tv", "kept")
        }

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """The masks of a batch."""
        return self.lmac.call(x, training=training)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        """The loss and its terms, and the share of masked-in clips that keep their class ("kept")."""
        return list(self.trackers.values())

    def _terms(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        """The loss and its terms for a batch of linear magnitudes."""
        classifier = self.lmac.classifier
        target = tf.stop_gradient(keras.ops.argmax(classifier(x, training=False), axis=-1))
        mask = self.call(x, training=True)
        p_in = classifier(x * mask, training=False)
        p_out = classifier(x * (1.0 - mask), training=False)
        ce = keras.losses.sparse_categorical_crossentropy
        terms = {
            "ce_in": keras.ops.mean(ce(target, p_in)),
            "ce_out": keras.ops.mean(ce(target, p_out)),
            "l1": keras.ops.mean(mask),
            "tv": keras.ops.mean(keras.ops.square(mask[:, 1:] - mask[:, :-1]))
            + keras.ops.mean(keras.ops.square(mask[:, :, 1:] - mask[:, :, :-1])),
            "kept": keras.ops.mean(keras.ops.cast(keras.ops.argmax(p_in, axis=-1) == target, "float32")),
        }
        s = self.settings
        terms["loss"] = (
            s.weight_in * terms["ce_in"]
            - s.weight_out * terms["ce_out"]
            + s.weight_l1 * terms["l1"]
            + s.weight_tv * terms["tv"]
        )
        return terms

    def _report(self, terms: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        """One step on the decoder's weights (the classifier is frozen: it gets no gradient update)."""
        x = data[0] if isinstance(data, tuple) else data
        variables = self.lmac.decoder.trainable_variables
        with tf.GradientTape() as tape:
            terms = self._terms(x)
        self.optimizer.apply(tape.gradient(terms["loss"], variables), variables)
        return self._report(terms)

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        """The loss on a validation batch."""
        x = data[0] if isinstance(data, tuple) else data
        return self._report(self._terms(x))


def train_lmac(
    classifier: keras.Model,
    train: Sequence[Excerpt],
    classes: Sequence[str],
    cache: SpectrogramCache,
    settings: LMACSettings = LMACSettings(),
    *,
    validation: Sequence[Excerpt] | None = None,
    verbose: int = 1,
) -> tuple[LMAC, dict[str, list[float]]]:
    """Train an L-MAC decoder for ``classifier`` on the excerpts ``train`` (their labels are not used: the decoder
    learns to explain the class the classifier predicts).

    Parameters
    ----------
    classifier : keras.Model
        The frozen network (not modified).
    train : sequence of Excerpt
        Training clips, read through ``cache`` (say ``data.splits.train`` of
        :func:`~auralisation.training.prepare_data`).
    classes : sequence of str
        The classifier's class names (the pipeline checks the excerpts' labels against them).
    cache : SpectrogramCache
        Where spectrograms come from; its config must be the classifier's.
    settings : LMACSettings
        Weights, sizes, steps.
    validation : sequence of Excerpt, optional
        Clips to report the loss on after each epoch.
    verbose : int
        Keras's progress bar (1), one line per epoch (2) or nothing (0).

    Returns
    -------
    tuple
        The :class:`LMAC` and the Keras history (loss terms per epoch, and ``seconds``: the training time).
    """
    clips = list(train)[: settings.clips] if settings.clips else list(train)
    if not clips:
        raise ModelError("no training clips for the L-MAC decoder; give the training split of a dataset")
    lmac = LMAC(classifier, build_decoder(classifier, width=settings.width, seed=settings.seed))
    trainer = _Trainer(lmac, settings)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate))
    data = make_dataset(clips, classes, cache, batch_size=settings.batch_size, shuffle=True, seed=settings.seed)
    if settings.steps_per_epoch:
        data = data.repeat()
    checked = (
        make_dataset(list(validation), classes, cache, batch_size=settings.batch_size) if validation else None
    )
    started = time.perf_counter()
    history = trainer.fit(
        data,
        epochs=settings.epochs,
        steps_per_epoch=settings.steps_per_epoch,
        validation_data=checked,
        shuffle=False,  # the pipeline shuffles
        verbose=verbose,
    ).history
    record = {key: [float(v) for v in values] for key, values in history.items()}
    record["seconds"] = [time.perf_counter() - started]
    return lmac, record


def save_lmac(
    folder: str | os.PathLike[str], lmac: LMAC, settings: LMACSettings, history: dict[str, list[float]]
) -> Path:
    """Save the decoder as ``folder/lmac.keras`` and its settings and history as ``folder/lmac.json`` (atomically);
    return the decoder's path."""
    folder = Path(folder)
    path = folder / DECODER_FILE
    with atomic_path(path) as tmp:
        lmac.decoder.save(tmp)
    info = {"settings": dataclasses.asdict(settings), "history": history, "layers": lmac.layers}
    atomic_write_text(folder / INFO_FILE, json.dumps(info, indent=2) + "\n")
    return path


def load_lmac(folder: str | os.PathLike[str], classifier: keras.Model) -> LMAC:
    """The L-MAC decoder saved beside a model (``folder/lmac.keras``), attached to ``classifier``.

    Raises
    ------
    ModelError
        No decoder there (the message says how to train one), a file that is not a Keras archive, or a decoder
        trained for another model.
    """
    path = Path(folder) / DECODER_FILE
    if not path.is_file():
        raise ModelError(
            f"{path}: no L-MAC decoder beside this model; train one with "
            f"`auralisation lmac --model {folder} --data DATASET` (or auralisation.methods.train_lmac and "
            "save_lmac); it takes a few minutes on 2 cores"
        )
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras .keras archive; train the decoder again")
    decoder = keras.saving.load_model(path, custom_objects={"MagnitudeScaling": MagnitudeScaling}, safe_mode=True)
    return LMAC(classifier, decoder)


def load_or_train_lmac(
    folder: str | os.PathLike[str] | None,
    classifier: keras.Model,
    data: PreparedData,
    settings: LMACSettings = LMACSettings(),
    *,
    retrain: bool = False,
    verbose: int = 2,
) -> tuple[LMAC, str]:
    """The decoder saved in ``folder`` if there is one (and not ``retrain``), else one trained on ``data`` and saved
    there (when ``folder`` holds a saved model); with a sentence saying which, and how long training took.

    Parameters
    ----------
    folder : path-like or None
        The model's folder; ``None`` for a model that is not saved (the decoder is then not saved either).
    classifier : keras.Model
        The model (frozen).
    data : PreparedData
        From :func:`auralisation.training.prepare_data`: its training split trains the decoder, its validation split
        reports the loss.
    settings : LMACSettings
        For training.
    retrain : bool
        Train even when a decoder is saved (say, in fast mode, where the model is retrained on every run).
    verbose : int
        Keras's progress display while training.
    """
    saved = folder is not None and (Path(folder) / DECODER_FILE).is_file()
    if saved and not retrain:
        return load_lmac(folder, classifier), f"L-MAC decoder loaded from {Path(folder) / DECODER_FILE}"
    lmac, history = train_lmac(
        classifier,
        data.splits.train,
        data.classes,
        data.cache,
        settings,
        validation=data.splits.validation,
        verbose=verbose,
    )
    note = (
        f"L-MAC decoder trained in {history['seconds'][0]:.0f} s ({settings.epochs} x "
        f"{settings.steps_per_epoch or 'all'} steps of {settings.batch_size} clips)"
    )
    if folder is not None and (Path(folder) / MODEL_FILE).is_file():
        note += f"; saved to {save_lmac(folder, lmac, settings, history)}"
    return lmac, note
