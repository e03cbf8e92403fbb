"""An independent numpy deconvnet for small *graphs*, written from the definitions, for the tests only.

Nothing here uses TensorFlow or the package. A network is a list of :class:`Node` in topological order, each an
operation on the outputs of earlier nodes ("input" is the spectrogram). Every operation has a forward pass and a
backward pass written from its definition with explicit loops or plain numpy:

* ``conv``: cross-correlation with any kernel, stride and dilation, 'same' (TensorFlow's padding: the total
  ``max((out - 1) * stride + extent - size, 0)``, the smaller half first) or 'valid'; backward: each output's signal
  spread back over the input positions its kernel touched (no bias);
* ``relu``/``elu``: the rule (deconvnet ``relu(g)``; guided ``relu(g) * f'(x)``; gradient ``g * f'(x)``);
* ``maxpool``: windows of any size and stride, 'valid' or 'same'; the switch of a window is its first largest
  value in row-major order; backward: each window's signal goes to its switch (summed where windows overlap);
* ``bn``: inference batch normalisation ``(x - mean) / sqrt(var + eps) * gamma + beta``; backward: times
  ``gamma / sqrt(var + eps)``;
* ``add``, ``concat`` (channels), ``gap`` (global average pooling), ``flatten``, ``dense``.

:func:`deconvolve` seeds one feature of one node (its whole map, or its first largest value) and walks back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass
class Node:
    """One operation: ``op`` on the outputs of ``inputs``, with its parameters."""

    name: str
    op: str
    inputs: tuple[str, ...]
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


def _same_padding(size: int, extent: int, stride: int) -> tuple[int, int, int]:
    """Output size and padding before/after, as TensorFlow's 'same'."""
    out = -(-size // stride)
    total = max((out - 1) * stride + extent - size, 0)
    return out, total // 2, total - total // 2


def _geometry(x: np.ndarray, size: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int], padding: str):
    """Output size and paddings along both axes."""
    out, pads = [], []
    for axis in range(2):
        extent = (size[axis] - 1) * dilation[axis] + 1
        if padding == "same":
            n, before, after = _same_padding(x.shape[axis], extent, stride[axis])
        else:
            n, before, after = (x.shape[axis] - extent) // stride[axis] + 1, 0, 0
        out.append(n)
        pads.append((before, after))
    return out, pads


def conv_forward(x: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    k, stride, dilation = p["kernel"], p.get("stride", (1, 1)), p.get("dilation", (1, 1))
    (oh, ow), pads = _geometry(x, k.shape[:2], stride, dilation, p.get("padding", "same"))
    xp = np.pad(x, [pads[0], pads[1], (0, 0)])
    y = np.zeros((oh, ow, k.shape[3]))
    for i in range(oh):
        for j in range(ow):
            for a in range(k.shape[0]):
                for b in range(k.shape[1]):
                    y[i, j] += xp[i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]] @ k[a, b]
    if p.get("bias") is not None:
        y += p["bias"]
    return y


def conv_backward(x: np.ndarray, g: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    k, stride, dilation = p["kernel"], p.get("stride", (1, 1)), p.get("dilation", (1, 1))
    (oh, ow), pads = _geometry(x, k.shape[:2], stride, dilation, p.get("padding", "same"))
    gp = np.zeros((x.shape[0] + sum(pads[0]), x.shape[1] + sum(pads[1]), x.shape[2]))
    for i in range(oh):
        for j in range(ow):
            for a in range(k.shape[0]):
                for b in range(k.shape[1]):
                    gp[i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]] += k[a, b] @ g[i, j]
    return gp[pads[0][0] : pads[0][0] + x.shape[0], pads[1][0] : pads[1][0] + x.shape[1]]


def pool_windows(x: np.ndarray, p: dict[str, Any]) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Each output position with the input positions of its window (inside the input)."""
    size, stride = p["size"], p.get("stride", p["size"])
    (oh, ow), pads = _geometry(x, size, stride, (1, 1), p.get("padding", "valid"))
    windows = []
    for i in range(oh):
        for j in range(ow):
            cells = [
                (i * stride[0] + a - pads[0][0], j * stride[1] + b - pads[1][0])
                for a in range(size[0])
                for b in range(size[1])
            ]
            windows.append((i, j, [(r, c) for r, c in cells if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]]))
    return windows


def pool_forward(x: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    windows = pool_windows(x, p)
    oh, ow = windows[-1][0] + 1, windows[-1][1] + 1
    y = np.zeros((oh, ow, x.shape[2]))
    for i, j, cells in windows:
        for c in range(x.shape[2]):
            y[i, j, c] = max(x[r, q, c] for r, q in cells)
    return y


def pool_backward(x: np.ndarray, g: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    out = np.zeros_like(x)
    for i, j, cells in pool_windows(x, p):
        for c in range(x.shape[2]):
            values = [x[r, q, c] for r, q in cells]
            r, q = cells[int(np.argmax(values))]  # the first largest, row-major
            out[r, q, c] += g[i, j, c]
    return out


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _elu_derivative(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))


def rectifier_backward(x: np.ndarray, g: np.ndarray, derivative: np.ndarray, rule: str) -> np.ndarray:
    if rule == "deconvnet":
        return np.maximum(g, 0)
    if rule == "guided":
        return np.maximum(g, 0) * derivative
    return g * derivative


def forward(nodes: list[Node], x: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's output for the input ``x`` ``(H, W, 1)``."""
    values: dict[str, np.ndarray] = {"input": x.astype(np.float64)}
    for node in nodes:
        a = [values[i] for i in node.inputs]
        p = node.params
        if node.op == "conv":
            y = conv_forward(a[0], p)
        elif node.op == "relu":
            y = np.maximum(a[0], 0)
        elif node.op == "elu":
            y = _elu(a[0])
        elif node.op == "maxpool":
            y = pool_forward(a[0], p)
        elif node.op == "bn":
            y = (a[0] - p["mean"]) / np.sqrt(p["var"] + p["eps"]) * p["gamma"] + p["beta"]
        elif node.op == "add":
            y = a[0] + a[1]
        elif node.op == "concat":
            y = np.concatenate(a, axis=-1)
        elif node.op == "gap":
            y = a[0].mean(axis=(0, 1))
        elif node.op == "flatten":
            y = a[0].reshape(-1)
        elif node.op == "dense":
            y = a[0] @ p["kernel"] + (p["bias"] if p.get("bias") is not None else 0)
        else:
            raise ValueError(node.op)
        values[node.name] = y
    return values


def backward_of(node: Node, inputs: list[np.ndarray], g: np.ndarray, rule: str) -> list[np.ndarray]:
    """The signal for each input of ``node``, given the signal ``g`` at its output."""
    p, x = node.params, inputs[0]
    if node.op == "conv":
        return [conv_backward(x, g, p)]
    if node.op == "relu":
        return [rectifier_backward(x, g, (x > 0).astype(float), rule)]
    if node.op == "elu":
        return [rectifier_backward(x, g, _elu_derivative(x), rule)]
    if node.op == "maxpool":
        return [pool_backward(x, g, p)]
    if node.op == "bn":
        return [g * p["gamma"] / np.sqrt(p["var"] + p["eps"])]
    if node.op == "add":
        return [g, g]
    if node.op == "concat":
        bounds = np.cumsum([i.shape[-1] for i in inputs])[:-1]
        return np.split(g, bounds, axis=-1)
    if node.op == "gap":
        return [np.broadcast_to(g / (x.shape[0] * x.shape[1]), x.shape).copy()]
    if node.op == "flatten":
        return [g.reshape(x.shape)]
    if node.op == "dense":
        return [p["kernel"] @ g]
    raise ValueError(node.op)


def deconvolve(nodes: list[Node], x: np.ndarray, layer: str, feature: int, *, rule: str = "deconvnet",
               seeding: str = "map") -> np.ndarray:
    """The deconvolved spectrogram of ``feature`` of ``layer``: a signed ``(H, W)`` array."""
    values = forward(nodes, x)
    top = values[layer]
    signal = np.zeros_like(top)
    chosen = top[..., feature]
    if seeding == "map":
        signal[..., feature] = chosen
    else:
        flat = int(np.argmax(chosen))  # the first largest, row-major
        np.put(signal[..., feature], flat, chosen.reshape(-1)[flat])
    signals = {layer: signal}
    for node in reversed(nodes[: [n.name for n in nodes].index(layer) + 1]):
        if node.name not in signals:
            continue
        g = signals.pop(node.name)
        for name, gi in zip(node.inputs, backward_of(node, [values[i] for i in node.inputs], g, rule)):
            signals[name] = signals.get(name, 0) + gi
    return signals["input"][..., 0]
