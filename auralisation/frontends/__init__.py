"""Front ends: how a clip reaches the first convolution, and how a deconvolved map comes back to the linear STFT.

A model may see the clip through

* the **linear magnitude** ``|X|`` (the paper's network);
* a **filterbank** (librosa's mel filterbank, or any linear map from STFT bins to bands), either as a
  :class:`Filterbank` layer inside the model on a magnitude input, or computed outside it;
* a **compression**, ``log(1 + x)`` or decibels (:class:`auralisation.models.MagnitudeScaling`);
* a Keras ``STFTSpectrogram`` or ``MelSpectrogram`` layer on a **waveform** input.

The front end is described once, by :class:`auralisation.audio.FrontEnd` inside the model's saved
:class:`~auralisation.audio.AudioConfig`. Auralisation needs the deconvolved map on the clip's *linear* STFT grid
(``n_bins x n_frames``), to multiply the clip's complex STFT with its own phase. A map on filterbank bands ``m``
comes back by one of two routes (:data:`ROUTES`):

``"transpose"`` (default)
    ``M.T @ m``: the filterbank's transpose, which *is* the gradient of the linear map ``S -> M @ S``, so the
    route continues the backward pass exactly as the rule started it. Each linear bin receives the bands that
    listen to it, weighted by how much they listen: bins no band covers get nothing, and the map stays non-negative
    where ``m`` is. With librosa's area-normalised (Slaney) filters the wide high bands carry small weights, so the
    transpose darkens high frequencies.
``"pinv"``
    ``pinv(M) @ m``: the smallest linear spectrogram whose filterbank output is ``m``; it undoes the filters'
    weighting (high bands come back at their own level) but is not a backward pass: it rings (negative lobes
    between band centres) where bands overlap, and is not what the network's gradient would give.

We default to the transpose because deconvolution is a backward pass, and the transpose is the only route that
keeps it one; ``"pinv"`` is there to hear a band-level map at the level the network saw it.
:func:`auralisation.plotting.compare_routes` shows both on one map.

Compression (``log``, ``dB``) is a monotone element-wise map: as the authors did with their scaling, its
backward pass is the identity by default (layers carry the class attribute ``identity_backward = True``, the
protocol the deconvolution engine reads), and its true gradient on request.

Examples
--------
>>> from auralisation.audio import AudioConfig, FrontEnd
>>> config = AudioConfig(frontend=FrontEnd(filterbank="mel", n_mels=96))
>>> M = mel_filterbank(config)
>>> M.shape
(96, 257)
>>> import numpy as np
>>> to_linear(np.ones((2, 96, 173), dtype="float32"), M).shape
(2, 257, 173)
"""

from __future__ import annotations

from .filterbank import (
    ROUTES,
    Filterbank,
    apply_back,
    back_projection,
    check_filterbank,
    filterbank_of,
    mel_filterbank,
    mel_parameters,
    to_linear,
)
from .layers import check_front_end, front_end_of, model_input, stft_layers
from .linear import activation_names, describe, require_magnitude_input, spectrogram_target

__all__ = [
    "ROUTES", "Filterbank", "activation_names", "apply_back", "back_projection",
    "check_filterbank", "check_front_end", "describe", "filterbank_of", "front_end_of", "mel_filterbank",
    "mel_parameters", "model_input", "require_magnitude_input", "spectrogram_target", "stft_layers", "to_linear",
]
