"""auralisation: see and hear what a convolutional network learned from spectrograms.

A reproduction of K. Choi, G. Fazekas and M. Sandler, *Explaining Deep Convolutional Neural Networks on Music
Classification* (2016): a 5-layer CNN on STFT magnitudes, Zeiler & Fergus deconvolution of any feature map, and
auralisation of the deconvolved spectrogram with the clip's own phase.

Modules: :mod:`audio` (config, loading, STFT), :mod:`data` (GTZAN-style datasets), :mod:`synth` (generated
default data and the paper's stimuli), :mod:`models`, :mod:`train`, :mod:`deconv`, :mod:`auralise`,
:mod:`analysis`, :mod:`plots`, :mod:`widgets`, :mod:`cli`.
"""

from .audio import AudioConfig
from .errors import AuralisationError

__all__ = ["AudioConfig", "AuralisationError"]
__version__ = "0.1.0"
