"""auralisation: see and hear what a convolutional network learned from spectrograms.

A reproduction of K. Choi, G. Fazekas and M. Sandler, *Explaining Deep Convolutional Neural Networks on Music
Classification* (2016): a 5-layer CNN on STFT magnitudes, Zeiler & Fergus deconvolution of any feature map, and
auralisation of the deconvolved spectrogram with the clip's own phase.

The functions a user calls are here; each is imported on first use (PEP 562), so ``import auralisation`` loads
neither NumPy nor TensorFlow. The rest lives in its module: :mod:`audio` (config, loading, STFT), :mod:`data`
(GTZAN-style datasets), :mod:`synth` (generated default data and the paper's stimuli), :mod:`models`, :mod:`io`
(the saved-model format), :mod:`training`, :mod:`deconv`, :mod:`methods`, :mod:`auralise` (a map to sound:
``from auralisation.auralise import auralise``), :mod:`analysis`, :mod:`atlas`, :mod:`cli` (the command line).

Examples
--------
>>> import auralisation
>>> auralisation.AudioConfig().input_shape
(257, 173, 1)
>>> sorted(name for name in auralisation.__all__ if name.endswith("Error"))[:3]
['AtlasError', 'AudioError', 'AuralisationError']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AtlasError,
    AudioError,
    AuralisationError,
    ConfigError,
    DatasetError,
    ModelError,
    ParameterError,
    SynthError,
)

if TYPE_CHECKING:
    from .atlas import build_atlas
    from .audio import AudioConfig, load_clip, stft
    from .deconv import Deconvolver, deconvolve
    from .io import TrainedModel, load_model
    from .methods import attribute

__version__ = "0.1.0"

#: Name -> the module it is imported from on first use.
_LAZY: dict[str, str] = {
    "AudioConfig": "audio",
    "load_clip": "audio",
    "stft": "audio",
    "TrainedModel": "io",
    "load_model": "io",
    "Deconvolver": "deconv",
    "deconvolve": "deconv",
    "attribute": "methods",
    "build_atlas": "atlas",
}

__all__ = [
    "AudioConfig", "load_clip", "stft", "TrainedModel", "load_model", "Deconvolver", "deconvolve", "attribute",
    "build_atlas",
    "AtlasError", "AudioError", "AuralisationError", "ConfigError", "DatasetError", "ModelError", "ParameterError",
    "SynthError",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'auralisation' has no attribute {name!r}")
    module = importlib.import_module(f".{_LAZY[name]}", __name__)
    value = getattr(module, name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
