"""Deconvolution of a CNN's feature maps back to the spectrogram (Zeiler & Fergus 2014; Choi et al. 2016).

Deconvolution projects one feature map of one layer back onto the input: going down block by block, the signal is
unpooled with the switches of the forward pass, rectified, and convolved with the layer's filters flipped and
transposed; below the first layer it is a signed array shaped like the magnitude spectrogram, the *deconvolved
spectrogram*. Written as a gradient, that procedure is the gradient of the seeded activation with every ReLU's
backward pass replaced by ``relu(dy)``; replacing it by ``relu(dy) * (x > 0)`` gives guided backpropagation and
keeping ``dy * (x > 0)`` gives the plain gradient (:mod:`.rules`).

* :func:`deconvolve` and :class:`Deconvolver` (:mod:`.core`): the public interface;
* :mod:`.network`: the user's own Keras model (any graph), its layers by path, and its forward pass under a rule;
* :mod:`.rules`: the rules, for the ReLU and the other rectifiers;
* :mod:`.tape`: the definition, one GradientTape pass over the real model;
* :mod:`.fast`: the same values with one forward pass per clip shared by all features.

Examples
--------
>>> import numpy as np
>>> from auralisation.audio import AudioConfig
>>> from auralisation.models import choi2016
>>> model = choi2016(AudioConfig(), n_classes=2, seed=0)
>>> S = np.random.default_rng(0).random((257, 173)).astype("float32")
>>> D = deconvolve(model, S, layer=1)  # all 64 features of block 1 (the output of pool1)
>>> D.shape, D.dtype
((64, 257, 173), dtype('float32'))
"""

from __future__ import annotations

from .core import Deconvolver, check_spectrograms, deconvolve
from .network import Network
from .rules import RULES, SEEDINGS

__all__ = ["RULES", "SEEDINGS", "Deconvolver", "Network", "check_spectrograms", "deconvolve"]
