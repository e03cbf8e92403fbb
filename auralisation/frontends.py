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

import warnings
from typing import Any, Literal

import keras
import librosa
import numpy as np

from ._compat import renamed
from .audio import AudioConfig, FrontEnd, magnitude
from .deconv.rules import RECTIFIERS, activation_name
from .errors import ConfigError, ModelError, ParameterError

__all__ = [
    "ROUTES",
    "Filterbank",
    "LinearDeconvolver",
    "activation_names",
    "apply_back",
    "back_projection",
    "check_filterbank",
    "check_front_end",
    "describe",
    "filterbank_of",
    "front_end_of",
    "mel_filterbank",
    "mel_parameters",
    "model_input",
    "require_magnitude_input",
    "spectrogram_target",
    "stft_layers",
    "to_linear",
]

#: How a map on filterbank bands comes back to the linear STFT bins (see the module's docstring).
ROUTES: tuple[str, ...] = ("transpose", "pinv")

#: Relative tolerance under which two filterbanks count as the same (a model's against its config's).
MATRIX_TOLERANCE = 1e-4


@keras.saving.register_keras_serializable(package="auralisation")
class Filterbank(keras.layers.Layer):
    """A fixed linear filterbank over the frequency axis: ``(bins, frames, ch) -> (bands, frames, ch)``.

    The matrix is a constant described by the layer's config: librosa's mel filterbank by its parameters
    (``mel``), or any other matrix by its values (``matrix``). So a saved model loads under Keras's safe mode, and a
    clone (``keras.models.clone_model``, the untrained control of the analyses) holds the same filterbank. Its
    gradient with respect to the input is the matrix's transpose, which is how a deconvolved map reaches the linear
    STFT through it.

    Parameters
    ----------
    matrix : array-like, optional
        The ``(n_bands, n_bins)`` filterbank.
    mel : dict, optional
        Instead of ``matrix``: the keyword arguments of ``librosa.filters.mel`` (``sr``, ``n_fft``, ``n_mels``,
        ``fmin``, ``fmax``; :func:`mel_parameters`).
    **kwargs
        Passed to :class:`keras.layers.Layer` (``name``...).

    Examples
    --------
    >>> import numpy as np
    >>> layer = Filterbank(matrix=[[1, 1, 0], [0, 0, 2]])
    >>> layer(np.arange(3, dtype="float32").reshape(1, 3, 1, 1)).numpy().ravel().tolist()
    [1.0, 4.0]
    """

    def __init__(self, matrix: Any = None, mel: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (matrix is None) == (mel is None):
            raise ModelError("Filterbank: give either matrix (the filterbank's values) or mel (its parameters)")
        self.mel = None if mel is None else dict(mel)
        self.matrix = np.asarray(_librosa_mel(self.mel) if mel is not None else matrix, dtype=np.float32)
        if self.matrix.ndim != 2:
            raise ModelError(f"Filterbank: the matrix must be 2-D (n_bands, n_bins), got shape {self.matrix.shape}")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Refuse an input whose frequency axis is not ``n_bins`` long."""
        if input_shape[1] is not None and input_shape[1] != self.matrix.shape[1]:
            raise ModelError(
                f"Filterbank {self.name!r} maps {self.matrix.shape[1]} STFT bins but its input has "
                f"{input_shape[1]} rows; build it from the config the spectrograms are made with"
            )

    def call(self, inputs: Any) -> Any:
        """``M @ inputs`` over the frequency axis (axis 1)."""
        return keras.ops.einsum("mb,nbtc->nmtc", keras.ops.convert_to_tensor(self.matrix, inputs.dtype), inputs)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """``(batch, n_bands, frames, channels)``."""
        return (input_shape[0], self.matrix.shape[0], *input_shape[2:])

    def get_config(self) -> dict[str, Any]:
        """The layer's configuration, for saving: the mel parameters, or the matrix's values."""
        described = {"mel": self.mel} if self.mel is not None else {"matrix": self.matrix.tolist()}
        return {**super().get_config(), **described}


def mel_parameters(config: AudioConfig) -> dict[str, Any]:
    """The keyword arguments of ``librosa.filters.mel`` for ``config``'s front end."""
    front = config.frontend
    return {"sr": config.sr, "n_fft": config.n_fft, "n_mels": front.n_mels, "fmin": front.fmin, "fmax": front.fmax}


def _librosa_mel(parameters: dict[str, Any]) -> np.ndarray:
    """``librosa.filters.mel(**parameters)``, quietly (empty bands are :func:`check_filterbank`'s to report)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return librosa.filters.mel(**parameters)


def check_filterbank(matrix: np.ndarray, config: AudioConfig, *, source: str = "the filterbank") -> np.ndarray:
    """Check that ``matrix`` is a filterbank over ``config``'s STFT bins that covers them without holes.

    A filterbank covers the STFT when it has one column per bin, no band is empty, and every bin between the lowest
    and the highest bin any band listens to is heard by at least one band (bins outside that range, below
    ``fmin`` or above ``fmax``, are the filterbank's choice: maps there come back as zero).

    Returns
    -------
    numpy.ndarray
        The matrix as float32 ``(n_bands, n_bins)``.

    Raises
    ------
    ConfigError
        Saying which bins or bands are the problem and what to change.
    """
    M = np.asarray(matrix, dtype=np.float32)
    if M.ndim != 2 or M.shape[1] != config.n_bins:
        raise ConfigError(
            f"{source} has shape {M.shape}, but the STFT of n_fft={config.n_fft} has {config.n_bins} bins: a "
            f"filterbank must be (n_bands, {config.n_bins}); build it for this n_fft"
        )
    if not np.all(np.isfinite(M)):
        raise ConfigError(f"{source} holds NaN or infinite weights")
    empty = np.flatnonzero(~np.any(M != 0, axis=1))
    if empty.size:
        raise ConfigError(
            f"{source}: bands {empty.tolist()[:8]} are empty (no STFT bin falls inside them): the bands are narrower "
            f"than the bins ({config.sr / config.n_fft:.1f} Hz); use fewer bands or a larger n_fft"
        )
    heard = np.flatnonzero(np.any(M != 0, axis=0))
    holes = np.setdiff1d(np.arange(heard[0], heard[-1] + 1), heard)
    if holes.size:
        raise ConfigError(
            f"{source} does not cover the STFT's bins: bins {holes.tolist()[:8]} lie inside its range "
            f"({heard[0]}..{heard[-1]}) but no band hears them, so no map can come back there; use overlapping bands "
            "or fewer of them"
        )
    return M


def mel_filterbank(config: AudioConfig) -> np.ndarray:
    """librosa's mel filterbank for ``config`` (Slaney scale, area-normalised), float32 ``(n_mels, n_bins)``.

    Raises
    ------
    ConfigError
        The config has no mel front end, or the filterbank does not cover the STFT (:func:`check_filterbank`).
    """
    front = config.frontend
    if front.filterbank != "mel":
        raise ConfigError(f"the config's front end has no mel filterbank (frontend.filterbank={front.filterbank!r})")
    source = f"the mel filterbank of {front.n_mels} bands"
    return check_filterbank(_librosa_mel(mel_parameters(config)), config, source=source)


def filterbank_of(model: keras.Model, config: AudioConfig) -> np.ndarray | None:
    """The filterbank between the linear STFT and the first convolution of ``model``, or ``None`` if there is none.

    From the model's own :class:`Filterbank` or Keras ``MelSpectrogram`` layer when it has one, else (a filterbank
    computed outside the model) from the config.

    Returns
    -------
    numpy.ndarray or None
        float32 ``(n_bands, n_bins)``.
    """
    for layer in _layers(model):
        if isinstance(layer, Filterbank):
            return layer.matrix
        if isinstance(layer, keras.layers.MelSpectrogram):
            weights = layer.linear_to_mel_weight_matrix(
                num_mel_bins=layer.num_mel_bins,
                num_spectrogram_bins=layer.fft_length // 2 + 1,
                sampling_rate=layer.sampling_rate,
                lower_edge_hertz=layer.min_freq,
                upper_edge_hertz=layer.max_freq,
            )
            return np.asarray(keras.ops.convert_to_numpy(weights), dtype=np.float32).T
    if config.frontend.input == "filterbank":
        return mel_filterbank(config)
    return None


def _layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer of ``model``, nested models' layers included, in order."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(_layers(layer))
    return found


def to_linear(
    maps: np.ndarray, matrix: np.ndarray, route: Literal["transpose", "pinv"] = "transpose"
) -> np.ndarray:
    """Bring maps on filterbank bands back to the linear STFT bins.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(..., n_bands, n_frames)``: deconvolved maps on the bands.
    matrix : numpy.ndarray
        The filterbank ``(n_bands, n_bins)``.
    route : {"transpose", "pinv"}
        ``M.T @ maps`` (the gradient of the filterbank) or ``pinv(M) @ maps`` (see the module's docstring).

    Returns
    -------
    numpy.ndarray
        float32 ``(..., n_bins, n_frames)``.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.array([[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]])
    >>> to_linear(np.array([[2.0], [0.0]]), M).ravel().tolist()
    [2.0, 1.0, 0.0]
    """
    return apply_back(maps, back_projection(matrix, route))


def back_projection(matrix: np.ndarray, route: Literal["transpose", "pinv"] = "transpose") -> np.ndarray:
    """The ``(n_bins, n_bands)`` matrix that takes maps on the bands back to the STFT bins: ``M.T`` or ``pinv(M)``."""
    if route not in ROUTES:
        raise ParameterError(f"route must be one of {ROUTES}, got {route!r}")
    M = np.asarray(matrix, dtype=np.float64)
    return M.T if route == "transpose" else np.linalg.pinv(M)


def apply_back(maps: np.ndarray, back: np.ndarray) -> np.ndarray:
    """``back @ maps`` over the band axis (second-last) of ``maps``, as float32 ``(..., n_bins, n_frames)``."""
    maps = np.asarray(maps)
    if maps.ndim < 2 or maps.shape[-2] != back.shape[1]:
        raise ModelError(
            f"maps of shape {maps.shape} do not have the filterbank's {back.shape[1]} bands on their second-last axis"
        )
    return np.einsum("bm,...mt->...bt", back, maps).astype(np.float32)


def model_input(y: np.ndarray, config: AudioConfig) -> np.ndarray:
    """What a model with ``config``'s front end takes, computed from waveforms ``y`` ``(..., n_samples)``.

    The linear magnitude ``(..., n_bins, n_frames)`` for a magnitude input; the filterbank's output
    ``(..., n_bands, n_frames)`` for a filterbank computed outside the model; the waveform with a channel axis
    ``(..., n_samples, 1)`` for a waveform input. All float32.
    """
    y = np.asarray(y, dtype=np.float32)
    if config.frontend.input == "waveform":
        return y[..., np.newaxis]
    S = magnitude(y, config)
    if config.frontend.input == "filterbank":
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
    ``hop_length``. The input shape and the compression are checked by :func:`auralisation.train.load_model`.

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


#: How each rule passes the backward signal through a rectifier-like activation other than ReLU.
_RECTIFIER_RULES = {
    "deconvnet": "pass relu(dy), ignoring their forward input, exactly as a ReLU does",
    "guided": "pass relu(dy) times the activation's own derivative",
    "gradient": "pass their ordinary gradient",
}


def activation_names(model: keras.Model) -> dict[str, str]:
    """Layer name -> activation, for every layer of ``model`` whose activation is neither linear nor a ReLU (those
    of :data:`auralisation.deconv.rules.RECTIFIERS` the rules treat as rectifiers; the others keep their gradient).

    Examples
    --------
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.ELU(name="elu1")(keras.layers.Dense(3, name="d")(inputs)))
    >>> activation_names(model)
    {'elu1': 'elu'}
    """
    named = {keras.layers.ELU: "elu", keras.layers.LeakyReLU: "leaky_relu", keras.layers.PReLU: "prelu"}
    found = {}
    for layer in _layers(model):
        kind = next((name for cls, name in named.items() if isinstance(layer, cls)), None)
        function = getattr(layer, "activation", None)
        if kind is None and callable(function):
            kind = activation_name(function)
        if kind is not None and kind not in ("linear", "relu"):
            found[layer.name] = kind
    return found


def describe(
    model: keras.Model,
    config: AudioConfig,
    *,
    rule: str = "deconvnet",
    route: Literal["transpose", "pinv"] = "transpose",
    compression: Literal["identity", "gradient"] = "identity",
) -> str:
    """A few sentences on how ``model``'s deconvolved maps reach the linear STFT, for a person to read.

    Says what the model takes, which filterbank and compression its front end applies, by which route and with
    which compression backward the maps come back to the clip's STFT bins, and how ``rule`` treats the model's
    activations other than ReLU (ELU and the like are rectifier-like: under ``deconvnet`` they pass ``relu(dy)``
    as a ReLU does; sigmoid, tanh and softmax keep their ordinary gradient under every rule).

    Examples
    --------
    >>> from auralisation.models import choi2016
    >>> print(describe(choi2016(AudioConfig(), n_classes=2, width=2), AudioConfig()))
    front end: the linear STFT magnitude (257 bins), no filterbank, linear scaling; maps are on the 257 STFT bins.
    """
    front = config.frontend
    taken = {
        "magnitude": f"the linear STFT magnitude ({config.n_bins} bins)",
        "filterbank": f"{front.n_mels} {front.filterbank} bands computed outside the model",
        "waveform": f"the waveform ({config.n_samples} samples) through a Keras STFT layer",
    }[front.input]
    if front.filterbank == "none":
        bank = "no filterbank"
    else:
        where = "outside" if front.input == "filterbank" else "inside"
        bank = f"a {front.n_mels}-band {front.filterbank} filterbank {where} the model"
    text = f"front end: {taken}, {bank}, {config.scaling} scaling; "
    if front.filterbank == "none":
        text += f"maps are on the {config.n_bins} STFT bins."
    else:
        how = "transpose (its gradient)" if route == "transpose" else "pseudo-inverse"
        text += f"maps come back to the {config.n_bins} STFT bins through the filterbank's {how}."
    if config.scaling != "linear" and compression == "identity":
        text += (
            f" The {config.scaling} compression passes the backward signal unchanged (its backward pass taken as the "
            "identity, as the authors treated their scaling)."
        )
    elif config.scaling != "linear":
        text += f" The {config.scaling} compression passes its true gradient."
    others = activation_names(model)
    rectifiers = sorted(name for name, kind in others.items() if kind in RECTIFIERS)
    if rectifiers:
        kinds = sorted({others[name] for name in rectifiers})
        text += (
            f" Activations other than ReLU ({', '.join(kinds)}: {_span(rectifiers)}) under the {rule} rule "
            f"{_RECTIFIER_RULES.get(rule, 'follow the rule')}."
        )
    return text


def _span(names: list[str]) -> str:
    """``"elu1..elu5"`` for more than two names, else the names joined."""
    return f"{names[0]}..{names[-1]}" if len(names) > 2 else ", ".join(names)


def spectrogram_target(
    model: keras.Model, config: AudioConfig, route: Literal["transpose", "pinv"] = "transpose"
) -> tuple[str | None, bool]:
    """Where to take the gradient for ``model`` (``at``), and whether the maps there lie on filterbank bands.

    The gradient is taken at the linear STFT when the model has one (its input, or the output of its Keras
    ``STFTSpectrogram`` layer): any filterbank above it is then crossed by its own gradient, the transpose. It is
    taken at the filterbank's output instead for the pseudo-inverse route, for a filterbank computed outside the
    model (the model's input), and for a Keras ``MelSpectrogram`` layer (which computes the STFT and the mel bands
    in one layer, leaving no linear STFT tensor); those maps lie on the bands and :func:`to_linear` brings them back.

    Returns
    -------
    tuple
        ``(at, on_bands)``: a layer name (``None``: the model's input) and whether the maps there are on bands.
    """
    if route not in ROUTES:
        raise ParameterError(f"route must be one of {ROUTES}, got {route!r}")
    front = config.frontend
    layers = _layers(model)
    mel_layer = next((layer for layer in layers if isinstance(layer, keras.layers.MelSpectrogram)), None)
    bank = next((layer for layer in layers if isinstance(layer, Filterbank)), None)
    if front.input == "filterbank":
        return None, True
    if mel_layer is not None:
        return mel_layer.name, True
    if route == "pinv" and bank is not None:
        return bank.name, True
    if front.input == "waveform":
        stft = next((layer for layer in layers if isinstance(layer, keras.layers.STFTSpectrogram)), None)
        if stft is None:
            raise ModelError(
                f"model {model.name!r} takes the waveform but has no STFTSpectrogram or MelSpectrogram layer whose "
                "output is the spectrogram to explain; build its front end with auralisation.frontends.stft_layers"
            )
        following = [layer for layer in layers if layer.name == "spectrogram"]
        return (following[0].name if following else stft.name), False
    return None, False


class LinearDeconvolver:
    """Deconvolve a model with any front end and return the maps on the clip's linear STFT bins.

    The same interface as :class:`auralisation.deconv.Deconvolver` (``deconvolve``, ``activations``,
    ``layer_names``, ``layer_name``, ``n_features``), with the front end read from the model's config: the
    gradient is taken where :func:`spectrogram_target` says, and maps on filterbank bands come back through
    :func:`to_linear`. Inputs are what the model takes (:func:`model_input` of the clip).

    Parameters
    ----------
    model : keras.Model
    config : AudioConfig
        The model's saved config (its ``frontend`` is the description used).
    rule : {"deconvnet", "guided", "gradient"}
    route : {"transpose", "pinv"}
        How maps on filterbank bands come back to the STFT bins (see the module's docstring).
    compression : {"identity", "gradient"}
        The backward pass of the compression layers: the identity (the authors' choice) or their true gradient.
    **options
        Passed to :class:`~auralisation.deconv.Deconvolver` (``batch_size``...).
    """

    def __init__(
        self,
        model: keras.Model,
        config: AudioConfig,
        rule: str = "deconvnet",
        *,
        route: Literal["transpose", "pinv"] = "transpose",
        compression: Literal["identity", "gradient"] = "identity",
        **options: Any,
    ) -> None:
        from .deconv import Deconvolver

        self.model, self.config, self.rule, self.route = model, config, rule, route
        self.at, on_bands = spectrogram_target(model, config, route)
        self.matrix = filterbank_of(model, config) if on_bands else None
        self._back = None if self.matrix is None else back_projection(self.matrix, route)
        self.deconvolver = Deconvolver(model, rule, at=self.at, compression=compression, **options)
        self.description = describe(model, config, rule=rule, route=route, compression=compression)

    @property
    def layer_names(self) -> list[str]:
        """The block outputs, in order (as :attr:`Deconvolver.layer_names`)."""
        return self.deconvolver.layer_names

    def layer_name(self, layer: int | str) -> str:
        """The name of ``layer``, a block number (1-based) or a layer name."""
        return self.deconvolver.layer_name(layer)

    def n_features(self, layer: int | str) -> int:
        """Number of features (channels) at ``layer``."""
        return self.deconvolver.n_features(layer)

    def activations(self, inputs: np.ndarray, layer: int | str) -> np.ndarray:
        """The feature maps at ``layer`` for the model's inputs (as :meth:`Deconvolver.activations`)."""
        return self.deconvolver.activations(inputs, layer)

    def deconvolve(
        self, inputs: np.ndarray, layer: int | str, features: Any = None, *, seeding: str = "map",
        seed: str | None = None,
    ) -> np.ndarray:
        """Deconvolved maps on the linear STFT: float32 ``(n_features, n_bins, n_frames)`` (a batch axis first for a
        batch of inputs). ``seeding`` is :meth:`Deconvolver.deconvolve`'s; ``seed`` its old, deprecated name.

        Raises
        ------
        ModelError
            As :meth:`Deconvolver.deconvolve`, or maps whose shape is not the spectrogram's.
        """
        seeding = renamed("seed", "seeding", seed, seeding, where="LinearDeconvolver.deconvolve", default="map")
        maps = np.asarray(self.deconvolver.deconvolve(inputs, layer, features, seeding=seeding))
        rows = self.config.n_bins if self.matrix is None else self.matrix.shape[0]
        if maps.shape[-2:] == (self.config.n_frames, rows) and rows != self.config.n_frames:
            maps = np.swapaxes(maps, -1, -2)  # a time-first Keras spectrogram layer: frequency first, as everywhere
        if maps.shape[-2:] != (rows, self.config.n_frames):
            raise ModelError(
                f"model {self.model.name!r}: the maps at {self.at or 'the input'} have shape {maps.shape[-2:]}, not "
                f"the spectrogram's ({rows}, {self.config.n_frames}); check the model's front end against its config"
            )
        return maps if self._back is None else apply_back(maps, self._back)


def require_magnitude_input(config: AudioConfig, what: str) -> None:
    """:class:`ModelError` unless the model of ``config`` takes the linear magnitude (``what`` needs it).

    Every model this package trains does (a filterbank and a compression are layers inside it); a model on the
    waveform or on bands computed outside it is explained by :class:`LinearDeconvolver` and
    ``auralisation auralise``.
    """
    if config.frontend.input != "magnitude":
        raise ModelError(
            f"{what} explains models that take the linear magnitude; this one takes the {config.frontend.input}: "
            "use `auralisation auralise` (the deconvolution rules) or auralisation.frontends.LinearDeconvolver"
        )


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
