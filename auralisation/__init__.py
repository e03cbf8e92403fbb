"""auralisation: see and hear what a convolutional network learned from spectrograms.

A reproduction of K. Choi, G. Fazekas and M. Sandler, *Explaining Deep Convolutional Neural Networks on Music
Classification* (2016): a 5-layer CNN on STFT magnitudes, Zeiler & Fergus deconvolution of any feature map, and
auralisation of the deconvolved spectrogram with the clip's own phase.

The functions a user calls are here; each is imported on first use (``lazy_loader``, as in librosa), so
``import auralisation`` loads neither NumPy nor TensorFlow. The rest lives in its module: :mod:`audio` (config, loading, STFT), :mod:`data`
(GTZAN-style datasets), :mod:`synth` (generated default data and the paper's stimuli), :mod:`models`, :mod:`io`
(the saved-model format), :mod:`training`, :mod:`deconv`, :mod:`methods`, :mod:`auralise` (a map to sound:
``from auralisation.auralise import auralise``), :mod:`analysis`, :mod:`atlas`, :mod:`pretrained` (the musicnn
taggers, ``load_model("musicnn:NAME")``), :mod:`tagging` (:func:`predict`), :mod:`cli` (the command line).

Examples
--------
>>> import auralisation
>>> auralisation.AudioConfig().input_shape
(257, 173, 1)
>>> sorted(name for name in auralisation.__all__ if name.endswith("Error"))[:3]
['AtlasError', 'AudioError', 'AuralisationError']
"""

from __future__ import annotations

import lazy_loader

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "audio": ["AudioConfig", "load_clip", "stft"],
        "io": ["TrainedModel", "load_model"],
        "deconv": ["Deconvolver", "deconvolve"],
        "methods": ["attribute"],
        "atlas": ["build_atlas"],
        "tagging": ["predict"],
        "errors": ["AtlasError", "AudioError", "AuralisationError", "ConfigError", "DatasetError", "ModelError",
                   "ParameterError", "SynthError"],
    },
)
