"""Filterbanks: the :class:`Filterbank` layer, mel filterbanks, and the routes from bands back to STFT bins."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import keras
import librosa
import numpy as np

from ..audio import AudioConfig
from ..errors import ConfigError, ModelError, ParameterError

__all__ = ["ROUTES", "Filterbank", "mel_filterbank", "to_linear"]

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
