"""The names the package's options take: attribution rules and methods, seedings, architectures, engines...

Each tuple is defined once, here, in a module that imports nothing, so that the command line can offer the choices
(``auralisation auralise --help``) without loading TensorFlow; the modules that act on a choice
(:mod:`auralisation.deconv.rules`, :mod:`auralisation.methods`, :mod:`auralisation.models`...) import it from here.

Examples
--------
>>> from auralisation.choices import METHODS, RULES
>>> METHODS[: len(RULES)] == RULES
True
"""

from __future__ import annotations

__all__ = [
    "ARCHITECTURE_NAMES", "ENGINES", "LISTENABLE_METHODS", "LOUDNESS", "METHODS", "RULES", "SEEDINGS", "STATISTICS",
    "STRATEGIES",
]

#: Attribution rules: how a rectifier passes the backward signal (:mod:`auralisation.deconv.rules`).
RULES: tuple[str, ...] = ("deconvnet", "guided", "gradient")

#: Seedings (where the backward signal starts): the whole activation map of the feature (the authors), or its
#: single strongest activation (Zeiler & Fergus).
SEEDINGS: tuple[str, ...] = ("map", "max")

#: Every attribution method, the paper's first (:mod:`auralisation.methods`).
METHODS: tuple[str, ...] = (*RULES, "gradcam", "occlusion")

#: The methods of the listenable-maps benchmark: every method and the L-MAC decoder.
LISTENABLE_METHODS: tuple[str, ...] = (*METHODS, "lmac")

#: The architectures by name (:data:`auralisation.models.ARCHITECTURES`).
ARCHITECTURE_NAMES: tuple[str, ...] = ("choi2016", "choi2017")

#: The choices of ``train --strategy``. Multi-worker training (``tf.distribute.MultiWorkerMirroredStrategy``) is
#: left out: Keras 3's ``fit`` fails under it ("Attempt to convert a value (PerReplica...)", keras-team/keras#20585).
STRATEGIES: tuple[str, ...] = ("none", "mirrored")

#: The loudness policies of an auralisation (:mod:`auralisation.auralise`).
LOUDNESS: tuple[str, ...] = ("comparable", "peak")

#: The statistics of a feature map that can rank an atlas's excerpts.
STATISTICS: tuple[str, ...] = ("max", "mean")

#: Where an atlas's work runs (:mod:`auralisation.atlas.engines`).
ENGINES: tuple[str, ...] = ("local", "ray")
