"""A model's front end: what it takes (magnitude or waveform), its STFT layers, and checks against its config."""

from __future__ import annotations

import keras
import numpy as np

from ..audio import AudioConfig, FrontEnd, magnitude
from ..errors import ConfigError, ModelError
from .filterbank import MATRIX_TOLERANCE, Filterbank, _layers, mel_filterbank

__all__ = ["model_input"]


def model_input(y: np.ndarray, config: AudioConfig) -> np.ndarray:
    """What a model with ``config``'s front end takes, computed from waveforms ``y`` ``(..., n_samples)``.

    The linear magnitude ``(..., n_bins, n_frames)`` for a magnitude input; the filterbank's output
    ``(..., n_bands, n_frames)`` (of the magnitude raised to ``frontend.power``) for a filterbank computed outside
    the model; the waveform with a channel axis
    ``(..., n_samples, 1)`` for a waveform input. All float32.
    """
    y = np.asarray(y, dtype=np.float32)
    if config.frontend.input == "waveform":
        return y[..., np.newaxis]
    S = magnitude(y, config)
    if config.frontend.input == "filterbank":
        S = S if config.frontend.power == 1.0 else S**config.frontend.power
        return np.einsum("mb,...bt->...mt", mel_filterbank(config), S).astype(np.float32)
    return S


def stft_layers(config: AudioConfig) -> list[keras.layers.Layer]:
    """Keras layers that turn a waveform ``(n_samples, 1)`` into ``config``'s magnitude ``(n_bins, n_frames, 1)``.

    Keras's ``STFTSpectrogram`` with the conventions of :func:`auralisation.audio.stft` (librosa): a periodic
    window of ``config.window`` (``periodic=True``; Keras's default is symmetric), no window scaling
    (``scaling=None``; Keras's default divides by the window's density), centred frames by zero-padding
    ``n_fft // 2`` samples on both sides (``ZeroPadding1D``; librosa's ``pad_mode="constant"``; Keras's own
    ``padding="same"`` pads asymmetrically and shifts the frames), and the magnitude
    (``sqrt(max(power, 1e-7))``: within 1e-5 of librosa above the floor). The last layer, a ``Permute`` named
    ``spectrogram``, puts frequency first, as everywhere in this package; it is the tensor deconvolution explains.

    Raises
    ------
    ConfigError
        A config Keras's layer cannot follow: a window Keras does not know (it has ``hann`` and ``hamming``), or a
        ``win_length`` shorter than ``n_fft`` (librosa centres the shorter window in the frame, Keras does not).
    """
    if config.window not in ("hann", "hamming"):
        raise ConfigError(
            f"Keras's STFTSpectrogram has no {config.window!r} window; use window 'hann' or 'hamming' for a "
            "waveform front end"
        )
    if config.win_length not in (None, config.n_fft):
        raise ConfigError(
            f"a waveform front end needs win_length equal to n_fft ({config.n_fft}), got {config.win_length}: "
            "librosa centres a shorter window in each frame and Keras's STFTSpectrogram does not"
        )
    frame = config.n_fft
    layers: list[keras.layers.Layer] = []
    if config.center:
        layers.append(keras.layers.ZeroPadding1D(config.n_fft // 2, name="stft_padding"))
    layers += [
        keras.layers.STFTSpectrogram(
            mode="magnitude",
            frame_length=frame,
            frame_step=config.hop_length,
            fft_length=config.n_fft,
            window=config.window,
            periodic=True,
            scaling=None,
            padding="valid",
            expand_dims=True,
            name="stft",
        ),
        keras.layers.Permute((2, 1, 3), name="spectrogram"),
    ]
    return layers


def check_front_end(model: keras.Model, config: AudioConfig, *, source: str = "the model") -> None:
    """Refuse a model whose front end disagrees with the :class:`~auralisation.audio.FrontEnd` of its config.

    Checks that the model has a filterbank exactly when the config computes one inside it, that this filterbank
    equals the config's (librosa's mel filterbank of ``n_mels`` bands between ``fmin`` and ``fmax``), and that a
    waveform model's Keras ``STFTSpectrogram`` or ``MelSpectrogram`` layer uses the config's ``n_fft`` and
    ``hop_length``. The input shape and the compression are checked by :func:`auralisation.io.load_model`.

    Raises
    ------
    ModelError
        Naming what differs and what to do.
    """
    front = config.frontend
    layers = _layers(model)
    banks = [layer for layer in layers if isinstance(layer, (Filterbank, keras.layers.MelSpectrogram))]
    inside = front.filterbank != "none" and front.input != "filterbank"
    advice = "save the model with the config it was trained with"
    if banks and not inside:
        raise ModelError(
            f"{source}: the model applies a filterbank ({banks[0].name!r}) but its config's front end computes none "
            f"inside the model (filterbank={front.filterbank!r}, input={front.input!r}); {advice}"
        )
    if inside and not banks:
        raise ModelError(
            f"{source}: its config says the model applies a {front.n_mels}-band {front.filterbank} filterbank, but the "
            f"model has no Filterbank or MelSpectrogram layer; {advice}"
        )
    for layer in banks:
        if isinstance(layer, Filterbank):
            _check_same_matrix(layer, config, source, advice)
    if front.input == "waveform":
        kinds = (keras.layers.STFTSpectrogram, keras.layers.MelSpectrogram)
        spectrograms = [layer for layer in layers if isinstance(layer, kinds)]
        if not spectrograms:
            raise ModelError(
                f"{source}: its config says the model takes the waveform, but it has no STFTSpectrogram or "
                f"MelSpectrogram layer to make the spectrogram; {advice}"
            )
        for layer in spectrograms:
            fft, hop = _stft_sizes(layer)
            if (fft, hop) != (config.n_fft, config.hop_length):
                raise ModelError(
                    f"{source}: layer {layer.name!r} computes an STFT with n_fft {fft} and hop {hop}, but the config "
                    f"says n_fft {config.n_fft} and hop_length {config.hop_length}; {advice}"
                )


def _check_same_matrix(layer: Filterbank, config: AudioConfig, source: str, advice: str) -> None:
    """:class:`ModelError` unless ``layer``'s matrix is the config's mel filterbank."""
    front = config.frontend
    found = layer.matrix
    expected = mel_filterbank(config)
    if found.shape != expected.shape:
        raise ModelError(
            f"{source}: layer {layer.name!r} maps {found.shape[1]} bins to {found.shape[0]} bands, but the config's "
            f"mel filterbank maps {expected.shape[1]} bins to n_mels={front.n_mels} bands; {advice}"
        )
    if not np.allclose(found, expected, rtol=0, atol=MATRIX_TOLERANCE * float(np.abs(expected).max())):
        raise ModelError(
            f"{source}: layer {layer.name!r} holds a filterbank that is not the config's mel filterbank "
            f"(n_mels={front.n_mels}, fmin={front.fmin:g}, fmax={front.fmax}); {advice}"
        )


def _stft_sizes(layer: keras.layers.Layer) -> tuple[int, int]:
    """FFT size and hop of a Keras ``STFTSpectrogram`` or ``MelSpectrogram`` layer."""
    if isinstance(layer, keras.layers.MelSpectrogram):
        return int(layer.fft_length), int(layer.sequence_stride)
    return int(layer._fft_length), int(layer._frame_step)  # the sizes it uses, defaults resolved


def front_end_of(model: keras.Model) -> FrontEnd | None:
    """The :class:`~auralisation.audio.FrontEnd` that ``model``'s own layers describe, for a ``.keras`` file saved
    without its config; ``None`` when they describe none (a model on the magnitude, or on bands computed outside it).

    A Keras ``STFTSpectrogram`` or ``MelSpectrogram`` layer means a waveform input; a :class:`Filterbank` holding
    librosa's mel filterbank (by its parameters) or a ``MelSpectrogram`` gives the mel bands. A filterbank given by
    its values alone cannot be described, and is reported by :func:`check_front_end`.

    Examples
    --------
    >>> from auralisation.models import choi2017
    >>> config = AudioConfig(frontend=FrontEnd(filterbank="mel", n_mels=96))
    >>> front_end_of(choi2017(config, n_classes=2)) == config.frontend
    True
    """
    layers = _layers(model)
    waveform = any(isinstance(layer, (keras.layers.STFTSpectrogram, keras.layers.MelSpectrogram)) for layer in layers)
    kind = "waveform" if waveform else "magnitude"
    for layer in layers:
        if isinstance(layer, Filterbank) and layer.mel is not None:
            mel = layer.mel
            return FrontEnd(kind, "mel", int(mel["n_mels"]), float(mel["fmin"]), mel["fmax"])
        if isinstance(layer, keras.layers.MelSpectrogram):
            return FrontEnd(kind, "mel", int(layer.num_mel_bins), float(layer.min_freq), float(layer.max_freq))
    return FrontEnd(kind) if waveform else None
