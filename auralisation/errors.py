"""Errors the package raises on bad input.

Every error says what is wrong and what to do about it, so that a user never has to read a traceback from deep
inside TensorFlow or libsndfile to find out.
"""

from __future__ import annotations

__all__ = [
    "AuralisationError", "ParameterError", "AudioError", "DatasetError", "SynthError", "ModelError", "ConfigError",
    "AtlasError",
]


class AuralisationError(ValueError):
    """Base class of every error this package raises on bad input."""


class ParameterError(AuralisationError):
    """An argument has a bad value: a number out of its range, or a choice that is not among the known ones.

    Example
    -------
    >>> from auralisation.deconv.rules import check_seeding
    >>> try:
    ...     check_seeding("peak")
    ... except ParameterError as error:
    ...     print(error)
    unknown seeding 'peak'; choose 'map' (the whole activation map) or 'max' (its maximum)
    """


class AudioError(AuralisationError):
    """An audio file is missing, unreadable, silent, or otherwise unusable."""


class DatasetError(AuralisationError):
    """A dataset folder is empty, badly laid out, or disagrees with a model."""


class SynthError(AuralisationError):
    """FluidSynth or a soundfont is missing, or a rendering request is invalid."""


class ModelError(AuralisationError):
    """A model, layer or feature cannot be used as asked."""


class ConfigError(AuralisationError):
    """A saved configuration file is missing or invalid."""


class AtlasError(AuralisationError):
    """A feature atlas cannot be built as asked: its folder holds another atlas, or its engine is not installed."""
