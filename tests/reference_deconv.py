"""An independent numpy/scipy deconvnet, written from the procedure in PAPER.md, for the tests only.

Nothing here uses TensorFlow or the package's deconvolution code. A network is a list of :class:`Block` (a 'same'
convolution with an odd square kernel, an optional bias, a ReLU, and an optional 2x2 max-pooling); the
convolutions loop over single channel pairs with :func:`scipy.signal.correlate2d` / :func:`scipy.signal.convolve2d`,
and every feature is deconvolved on its own, from its own forward pass, as the authors' per-feature code did.

The procedure (Zeiler & Fergus 2014, as the authors ran it):

1. forward pass of the clip, recording at each max-pooling the switches (the first largest value of each window,
   in row-major order);
2. keep the map of feature ``k`` at the top (the whole map, or only its largest value), zero every other feature;
3. per block, going down: unpool with the switches, rectify according to the rule, convolve with the block's
   filters flipped and transposed (no bias);
4. no rectification at the end: the result is signed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.signal import convolve2d, correlate2d


@dataclasses.dataclass
class Block:
    """One block: ``kernel`` ``(k, k, in_channels, out_channels)``, ``bias`` or None, ReLU, 2x2 pooling."""

    kernel: np.ndarray
    bias: np.ndarray | None = None
    pool: bool = True


def convolve_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """'same' cross-correlation, channel by channel: ``x`` ``(H, W, in)`` -> ``(H, W, out)``."""
    height, width, in_channels = x.shape
    out = np.zeros((height, width, kernel.shape[3]))
    for o in range(kernel.shape[3]):
        for i in range(in_channels):
            out[:, :, o] += correlate2d(x[:, :, i], kernel[:, :, i, o], mode="same")
        if bias is not None:
            out[:, :, o] += bias[o]
    return out


def transposed_convolve_same(g: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolution with the flipped, transposed kernels: ``g`` ``(H, W, out)`` -> ``(H, W, in)``."""
    height, width, out_channels = g.shape
    x = np.zeros((height, width, kernel.shape[2]))
    for i in range(kernel.shape[2]):
        for o in range(out_channels):
            if np.any(g[:, :, o]):
                x[:, :, i] += convolve2d(g[:, :, o], kernel[:, :, i, o], mode="same")
    return x


def max_pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 'valid' max-pooling; returns the pooled maps and the switches (window offset 0..3, row-major)."""
    height, width, channels = x.shape
    ho, wo = height // 2, width // 2
    windows = x[: 2 * ho, : 2 * wo].reshape(ho, 2, wo, 2, channels).transpose(0, 2, 4, 1, 3).reshape(ho, wo, channels, 4)
    switches = np.argmax(windows, axis=-1)  # numpy returns the first maximum
    return np.take_along_axis(windows, switches[..., None], axis=-1)[..., 0], switches


def unpool(g: np.ndarray, switches: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Put each value of ``g`` back where its window's maximum was; zeros elsewhere (and in dropped rows)."""
    ho, wo, channels = g.shape
    windows = (np.arange(4) == switches[..., None]) * g[..., None]
    out = np.zeros(shape)
    out[: 2 * ho, : 2 * wo] = windows.reshape(ho, wo, channels, 2, 2).transpose(0, 3, 1, 4, 2).reshape(2 * ho, 2 * wo, channels)
    return out


def rectify(g: np.ndarray, positive: np.ndarray, rule: str) -> np.ndarray:
    """The backward signal through a ReLU under ``rule``."""
    if rule == "deconvnet":
        return np.maximum(g, 0)
    if rule == "guided":
        return np.maximum(g, 0) * positive
    if rule == "gradient":
        return g * positive
    raise ValueError(rule)


def deconvolve(x: np.ndarray, blocks: list[Block], feature: int, *, seeding: str = "map", rule: str = "deconvnet") -> np.ndarray:
    """The deconvolved spectrogram ``(H, W)`` of ``feature`` at the top of ``blocks`` for the input ``x`` ``(H, W)``."""
    a = np.asarray(x, dtype=np.float64)[:, :, None]
    records = []
    for block in blocks:
        pre = convolve_same(a, block.kernel, block.bias)
        a = np.maximum(pre, 0)
        record = {"positive": (pre > 0).astype(float), "conv_shape": a.shape}
        if block.pool:
            a, record["switches"] = max_pool(a)
        records.append(record)
    g = np.zeros_like(a)
    g[:, :, feature] = a[:, :, feature]
    if seeding == "max":
        top = a[:, :, feature]
        keep = np.zeros_like(top)
        index = np.unravel_index(int(np.argmax(top)), top.shape)
        keep[index] = top[index]
        g[:, :, feature] = keep
    for block, record in zip(reversed(blocks), reversed(records)):
        if block.pool:
            g = unpool(g, record["switches"], record["conv_shape"])
        g = rectify(g, record["positive"], rule)
        g = transposed_convolve_same(g, block.kernel)
    return g[:, :, 0]
