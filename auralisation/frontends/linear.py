"""Where a model's deconvolved maps are taken and how they reach the linear STFT, whatever the front end (read by
:class:`auralisation.methods.Attributor`, the one way to a map)."""

from __future__ import annotations

from typing import Literal

import keras

from ..audio import AudioConfig
from ..deconv.rules import RECTIFIERS, activation_name
from ..errors import ModelError, ParameterError
from .filterbank import ROUTES, Filterbank, _layers

__all__ = ["activation_names", "describe", "require_magnitude_input", "spectrogram_target"]

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


def require_magnitude_input(config: AudioConfig, what: str) -> None:
    """:class:`ModelError` unless the model of ``config`` takes the linear magnitude (``what`` needs it).

    Every model this package trains does (a filterbank and a compression are layers inside it); a model on the
    waveform or on bands computed outside it is explained by the rules of
    :meth:`auralisation.methods.Attributor.maps` and ``auralisation auralise``.
    """
    if config.frontend.input != "magnitude":
        raise ModelError(
            f"{what} explains models that take the linear magnitude; this one takes the {config.frontend.input}: "
            "use `auralisation auralise` or auralisation.methods.Attributor(model, config).maps with a "
            "deconvolution rule (deconvnet, guided, gradient)"
        )
