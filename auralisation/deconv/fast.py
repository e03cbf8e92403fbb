"""Deconvolution of many features of one clip with a single forward pass.

The forward pass is the same for every feature of a clip, so it runs once, recording what the backward pass needs:
each max-pooling's switches as a 0/1 mask (the first largest value of each window, in row-major order, which is
where TensorFlow's max-pooling gradient sends the signal), and, for the guided and gradient rules, where each ReLU's
input was positive. The backward pass then runs on a batch of seeds, one per feature, with those masks broadcast
over the batch. It computes exactly what :func:`auralisation.deconv.tape.tape_deconvolve` computes (the tests hold
the two equal), with these savings:

* the seed of feature ``k`` lives in channel ``k`` alone, so until the first transposed convolution the signal is
  kept as one channel per feature, and that convolution uses only the kernel slice of ``k``: the top block costs a
  channel count less than a dense one;
* per-channel steps between a ReLU and its max-pooling (the ReLU's rule, a batch normalisation's scale) commute
  with unpooling, so they run at the pooled resolution, and the ReLU's mask is folded into the switch mask;
* the rows and columns a 'valid' pooling dropped are folded into the next transposed convolution's padding;
* below a pooling whose input has few channels (the first block, on a one-channel spectrogram), unpooling and the
  transposed convolution run fused, as one small matrix product per pooling window
  (:meth:`_Signal._unpool_and_convolve`), so the full-resolution signal with all its channels is never formed.

The top block's one-channel transposed convolution is a matrix product per feature over shifted copies of its
map (im2col), or a depthwise convolution when it produces a single channel.

Only non-overlapping poolings (strides equal to the pool size) and ReLU activations take this path;
:class:`~auralisation.deconv.Deconvolver` sends any other chain to the tape.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import tensorflow as tf

from .chain import Conv, Dense, Flatten, Normalise, Pool, Rectify, Step
from .rules import backward_relu, first_max_mask, seed_maps

__all__ = ["fast_deconvolve", "supports"]

#: Largest per-clip weights (bytes) for which unpooling and a transposed convolution run fused.
FUSED_WEIGHTS_BUDGET = 64 * 2**20


def supports(steps: Sequence[Step]) -> bool:
    """True when every step of the chain has a shared-forward backward pass here."""
    for step in steps:
        if isinstance(step, Pool):
            if step.size != step.strides:
                return False
        elif not isinstance(step, (Conv, Dense, Normalise, Flatten, Rectify)):
            return False
    return True


@dataclasses.dataclass(frozen=True)
class _Windows:
    """Geometry of a non-overlapping max-pooling on an ``height x width`` input."""

    size: tuple[int, int]
    height: int
    width: int
    out_height: int
    out_width: int
    top: int
    left: int

    @classmethod
    def of(cls, step: Pool, height: int, width: int) -> "_Windows":
        ph, pw = step.size
        if step.padding == "VALID":
            return cls(step.size, height, width, height // ph, width // pw, 0, 0)
        out_height, out_width = -(-height // ph), -(-width // pw)
        return cls(
            step.size, height, width, out_height, out_width, (out_height * ph - height) // 2, (out_width * pw - width) // 2
        )

    @property
    def region(self) -> tuple[int, int]:
        """Rows and columns covered by the windows."""
        return self.out_height * self.size[0], self.out_width * self.size[1]

    def to_windows(self, t: tf.Tensor, fill: float) -> tf.Tensor:
        """``(height, width, C)`` -> ``(out_height, ph, out_width, pw, C)``, cropping or padding with ``fill``."""
        rows, cols = self.region
        if self.inside:
            t = t[:rows, :cols]
        else:
            paddings = [
                [self.top, rows - self.height - self.top],
                [self.left, cols - self.width - self.left],
                [0, 0],
            ]
            t = tf.pad(t, paddings, constant_values=fill)
        ph, pw = self.size
        return tf.reshape(t, (self.out_height, ph, self.out_width, pw, -1))

    @property
    def inside(self) -> bool:
        """The windows start at the input's first row and column and do not reach past its end."""
        rows, cols = self.region
        return self.top == 0 and self.left == 0 and rows <= self.height and cols <= self.width

    def missing(self) -> tuple[int, int]:
        """Rows and columns at the end of the input that no window covers ('valid' pooling drops them)."""
        rows, cols = self.region
        return max(self.height - rows, 0), max(self.width - cols, 0)

    def from_region(self, u: tf.Tensor) -> tf.Tensor:
        """``(n, rows, cols, ...)`` over the windows' region -> ``(n, height, width, ...)``."""
        if not self.inside:
            return u[:, self.top : self.top + self.height, self.left : self.left + self.width]
        rows, cols = self.missing()
        if rows or cols:
            paddings = [[0, 0], [0, rows], [0, cols]] + [[0, 0]] * (len(u.shape) - 3)
            u = tf.pad(u, paddings)
        return u


def _switches(x: tf.Tensor, windows: _Windows) -> tf.Tensor:
    """0/1 mask of each window's first maximum in ``x`` ``(height, width, C)``, in window layout."""
    w = windows.to_windows(x, float("-inf"))
    ho, ph, wo, pw, channels = w.shape
    flat = tf.reshape(tf.transpose(w, (0, 2, 4, 1, 3)), (-1, ph * pw))
    mask = tf.reshape(first_max_mask(flat), (ho, wo, channels, ph, pw))
    return tf.transpose(mask, (0, 3, 1, 4, 2))


@dataclasses.dataclass
class _Record:
    """What the forward pass leaves for the backward pass of one step."""

    input_shape: tuple[int, ...]
    mask: tf.Tensor | None = None
    windows: _Windows | None = None


def _record(steps: Sequence[Step], x: tf.Tensor, rule: str) -> tuple[tf.Tensor, list[_Record]]:
    """Run the chain on one clip ``x`` ``(1, ...)``; return its output and the records."""
    records = []
    for step in steps:
        record = _Record(tuple(x.shape[1:]))
        if isinstance(step, Pool):
            record.windows = _Windows.of(step, x.shape[1], x.shape[2])
            record.mask = _switches(x[0], record.windows)
        elif isinstance(step, Rectify) and rule != "deconvnet":
            record.mask = tf.cast(x[0] > 0, x.dtype)
        records.append(record)
        x = step.forward(x, tf.nn.relu)
    return x, records


def _per_feature(t: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
    """``(..., C)`` -> ``(n, ...)``: channel ``features[i]`` of ``t`` as row ``i``."""
    picked = tf.gather(t, features, axis=-1)
    rank = len(picked.shape)
    return tf.transpose(picked, (rank - 1, *range(rank - 1)))


def _transposed_padding(step: Conv) -> list[list[int]]:
    """Explicit padding that makes a stride-1 convolution with flipped kernels the transposed convolution."""
    kernel = step.kernel.shape
    paddings = [[0, 0]]
    for size, dilation in zip(kernel[:2], step.dilations):
        extent = (size - 1) * dilation + 1
        before = (extent - 1) // 2 if step.padding == "SAME" else 0
        after = extent - 1 - before if step.padding == "SAME" else 0
        paddings.append([extent - 1 - before, extent - 1 - after])
    paddings.append([0, 0])
    return paddings


class _Signal:
    """The backward signal for a batch of features, with a deferred unpooling.

    While :attr:`sparse`, row ``i`` of :attr:`values` holds channel ``features[i]`` only and has no channel axis.
    While :attr:`windows` is set, :attr:`values` is at the pooled resolution and still has to be unpooled with
    :attr:`mask` (switches, times the masks of ReLUs folded into it), in window layout.
    """

    def __init__(self, values: tf.Tensor, features: tf.Tensor, rule: str) -> None:
        self.values = values
        self.features = features
        self.rule = rule
        self.sparse = True
        self.windows: _Windows | None = None
        self.mask: tf.Tensor | None = None

    def channelwise(self, t: tf.Tensor) -> tf.Tensor:
        """A per-clip tensor ``(..., C)`` laid out to multiply the signal (or its deferred mask)."""
        return _per_feature(t, self.features) if self.sparse else t[None]

    def scale(self, factor: tf.Tensor) -> None:
        """Multiply channel ``c`` by ``factor[c]`` (a batch normalisation's backward pass)."""
        if self.sparse:
            factor = tf.reshape(tf.gather(factor, self.features), (-1, *([1] * (len(self.values.shape) - 1))))
        self.values = self.values * factor

    def defer_unpool(self, record: _Record) -> None:
        """Unpool with ``record``'s switches when the signal next needs full resolution."""
        self.unpool()
        self.windows = record.windows
        self.mask = self.channelwise(record.mask)

    def rectify(self, record: _Record) -> None:
        """The rule's backward pass of a ReLU (at the pooled resolution when an unpooling is deferred)."""
        if record.mask is None:
            self.values = backward_relu(self.rule, self.values, None)
        elif self.windows is not None:
            self.values = backward_relu(self.rule, self.values, tf.ones((), self.values.dtype))
            self.mask = self.mask * self.channelwise(self.windows.to_windows(record.mask, 0.0))
        else:
            self.values = backward_relu(self.rule, self.values, self.channelwise(record.mask))

    def _region(self) -> tf.Tensor:
        """Apply the deferred unpooling over the windows' region: ``(n, rows, cols[, C])``."""
        v, mask = self.values, self.mask
        rows, cols = self.windows.region
        if self.sparse:
            region = tf.reshape(v[:, :, None, :, None] * mask, (-1, rows, cols))
        else:
            # TensorFlow broadcasts up to rank 5 on the CPU: repeat along the columns, broadcast along the rows.
            ph, pw = self.windows.size
            v = tf.repeat(v, pw, axis=2)[:, :, None]
            mask = tf.reshape(mask, (1, rows // ph, ph, cols, v.shape[-1]))
            region = tf.reshape(v * mask, (-1, rows, cols, v.shape[-1]))
        self.windows, self.mask = None, None
        return region

    def unpool(self) -> None:
        """Apply a deferred unpooling now."""
        if self.windows is not None:
            windows = self.windows
            self.values = windows.from_region(self._region())

    def densify(self, channels: int) -> None:
        """Give the signal its channel axis (``channels`` long)."""
        self.unpool()
        if self.sparse:
            one_hot = tf.one_hot(self.features, channels, dtype=self.values.dtype)
            self.values = self.values[..., None] * tf.reshape(
                one_hot, (-1, *([1] * (len(self.values.shape) - 1)), channels)
            )
            self.sparse = False

    def conv(self, step: Conv, record: _Record) -> None:
        """The transposed convolution: a convolution with flipped kernels, channels swapped."""
        kernel = step.kernel
        height, width, in_channels = record.input_shape
        if step.strides != (1, 1):
            self.densify(kernel.shape[-1])
            shape = tf.stack([tf.shape(self.values)[0], height, width, in_channels])
            self.values = tf.nn.conv2d_transpose(self.values, kernel, shape, step.strides, step.padding)
            return
        if self._can_fuse(step, in_channels):
            self.values = self._unpool_and_convolve(step, height, width)
            return
        paddings = _transposed_padding(step)
        if self.windows is not None and self.windows.inside:
            rows, cols = self.windows.missing()
            paddings[1][1] += rows
            paddings[2][1] += cols
            values = self._region()
        else:
            self.unpool()
            values = self.values
        flipped = tf.reverse(kernel, [0, 1])
        if self.sparse:
            self.values = self._single_channel_convolve(values, flipped, paddings, step.dilations, height, width)
            self.sparse = False
        else:
            filters = tf.transpose(flipped, (0, 1, 3, 2))
            self.values = tf.nn.conv2d(values, filters, 1, paddings, dilations=step.dilations)

    def _single_channel_convolve(
        self, values: tf.Tensor, flipped: tf.Tensor, paddings: list[list[int]], dilations: tuple[int, int],
        height: int, width: int,
    ) -> tf.Tensor:
        """Row ``i`` (channel ``features[i]`` alone) convolved with that channel's flipped kernels.

        One matrix product per feature over the ``kh * kw`` shifted copies of its map (im2col), which costs a
        channel count less than a dense transposed convolution; with one output channel, a depthwise convolution.
        """
        kh, kw, in_channels, _ = flipped.shape
        if in_channels == 1:  # a 2-D convolution per feature: a depthwise convolution with the features as channels
            filters = tf.transpose(tf.gather(flipped, self.features, axis=3), (0, 1, 3, 2))
            out = tf.nn.depthwise_conv2d(
                tf.transpose(values, (1, 2, 0))[None], filters, (1, 1, 1, 1), paddings, dilations=dilations
            )
            return tf.transpose(out[0], (2, 0, 1))[..., None]
        padded = tf.pad(values, paddings[:3])
        shifted = [
            padded[:, v * dilations[0] : v * dilations[0] + height, w * dilations[1] : w * dilations[1] + width]
            for v in range(kh)
            for w in range(kw)
        ]
        columns = tf.reshape(tf.stack(shifted, axis=-1), (-1, height * width, kh * kw))
        filters = tf.transpose(tf.reshape(tf.gather(flipped, self.features, axis=3), (kh * kw, in_channels, -1)), (2, 0, 1))
        return tf.reshape(tf.matmul(columns, filters), (-1, height, width, in_channels))

    def _can_fuse(self, step: Conv, in_channels: int) -> bool:
        """Whether unpooling and the transposed convolution run fused (dense signal, small per-window weights)."""
        if self.sparse or self.windows is None or not self.windows.inside:
            return False
        kh, kw, _, channels = step.kernel.shape
        (ph, pw), (dy, dx) = self.windows.size, step.dilations
        weights = self.windows.out_height * self.windows.out_width * channels * in_channels
        return 4 * weights * (ph + (kh - 1) * dy) * (pw + (kw - 1) * dx) <= FUSED_WEIGHTS_BUDGET

    def _unpool_and_convolve(self, step: Conv, height: int, width: int) -> tf.Tensor:
        """Unpooling followed by the transposed convolution, without the full-resolution signal in between.

        Each pooling window ``(i, j)`` of channel ``c`` holds at most one non-zero value, at its switch; the
        transposed convolution spreads it over a ``P x Q`` patch (``P = ph + (kh - 1) * dilation``). So the patch
        of window ``(i, j)`` is ``g[i, j, :] @ N[i, j]``, where row ``c`` of ``N[i, j]`` is the kernel of channel
        ``c`` placed at the switch: one small matrix product per window (over the batch of features), then an
        overlap-add of the patches with stride ``(ph, pw)``. Used when the ``N`` of a clip is small (few input
        channels, as below the first layer), where a convolution that produces one channel would be slow.
        """
        windows, mask, g = self.windows, self.mask[0], self.values
        self.windows, self.mask = None, None
        kernel = step.kernel
        kh, kw, in_channels, channels = kernel.shape
        (ph, pw), (dy, dx) = windows.size, step.dilations
        ho, wo = windows.out_height, windows.out_width
        patch_h, patch_w = ph + (kh - 1) * dy, pw + (kw - 1) * dx
        # the kernel of each channel placed at each offset (a, b) of a window, and a last, empty placement
        dilated = tf.reshape(
            tf.pad(kernel[:, None, :, None], [[0, 0], [0, dy - 1], [0, 0], [0, dx - 1], [0, 0], [0, 0]]),
            (kh * dy, kw * dx, in_channels, channels),
        )[: (kh - 1) * dy + 1, : (kw - 1) * dx + 1]
        placed = [
            tf.pad(dilated, [[a, ph - 1 - a], [b, pw - 1 - b], [0, 0], [0, 0]]) for a in range(ph) for b in range(pw)
        ]
        placed.append(tf.zeros_like(placed[0]))
        placed = tf.reshape(tf.transpose(tf.stack(placed), (0, 4, 1, 2, 3)), (-1, patch_h * patch_w * in_channels))
        offsets = tf.constant([[a * pw + b for b in range(pw)] for a in range(ph)], mask.dtype)
        where = tf.einsum("iajbc,ab->ijc", mask, offsets)
        hit = tf.reduce_sum(mask, axis=(1, 3))
        where = tf.cast(tf.where(hit > 0, where, float(ph * pw)), tf.int32)
        weights = tf.gather(placed, where * channels + tf.range(channels))
        n = tf.shape(g)[0]
        patches = tf.einsum("npc,pcq->npq", tf.reshape(g, (n, ho * wo, channels)), tf.reshape(weights, (ho * wo, channels, -1)))
        rows, cols = -(-patch_h // ph), -(-patch_w // pw)
        patches = tf.reshape(patches, (n, ho, wo, patch_h, patch_w, in_channels))
        patches = tf.pad(patches, [[0, 0], [0, 0], [0, 0], [0, rows * ph - patch_h], [0, cols * pw - patch_w], [0, 0]])
        patches = tf.reshape(patches, (n, ho, wo, rows, ph, cols, pw, in_channels))
        total = 0.0
        for r in range(rows):
            for c in range(cols):
                part = patches[:, :, :, r, :, c, :, :]
                total += tf.pad(part, [[0, 0], [r, rows - 1 - r], [c, cols - 1 - c], [0, 0], [0, 0], [0, 0]])
        out_h, out_w = (ho + rows - 1) * ph, (wo + cols - 1) * pw
        total = tf.reshape(tf.transpose(total, (0, 1, 3, 2, 4, 5)), (n, out_h, out_w, in_channels))
        # patch row 0 of window i is input row ph * i - (padding before) of the forward convolution
        before = [(size - 1) * d - pad[0] for size, d, pad in zip((kh, kw), (dy, dx), _transposed_padding(step)[1:3])]
        total = tf.pad(
            total, [[0, 0], [0, max(0, before[0] + height - out_h)], [0, max(0, before[1] + width - out_w)], [0, 0]]
        )
        return total[:, before[0] : before[0] + height, before[1] : before[1] + width]

    def dense(self, step: Dense) -> None:
        """The transposed fully connected layer."""
        self.unpool()
        kernel = step.kernel
        if self.sparse:
            self.values = self.values[:, None] * tf.transpose(tf.gather(kernel, self.features, axis=1))
            self.sparse = False
        else:
            self.values = tf.matmul(self.values, kernel, transpose_b=True)


def fast_deconvolve(
    steps: Sequence[Step], rule: str, x: tf.Tensor, features: tf.Tensor, seed: str
) -> tf.Tensor:
    """Deconvolve the features ``features`` of the last step's output for the one clip ``x``.

    Parameters
    ----------
    steps : sequence of Step
        The chain from the gradient input up to the layer being deconvolved (see :func:`supports`).
    rule : {"deconvnet", "guided", "gradient"}
        How each ReLU passes the backward signal.
    x : tf.Tensor
        ``(1, bins, frames, 1)``: the scaled input of one clip.
    features : tf.Tensor
        ``(n,)`` int32 channel indices at the last step's output.
    seed : {"map", "max"}
        The seeding.

    Returns
    -------
    tf.Tensor
        ``(n, bins, frames, 1)``, equal to :func:`~auralisation.deconv.tape.tape_deconvolve` on ``n`` copies of
        ``x``.
    """
    activations, records = _record(steps, x, rule)
    signal = _Signal(seed_maps(_per_feature(activations[0], features), seed), features, rule)
    for step, record in zip(reversed(steps), reversed(records)):
        if isinstance(step, Pool):
            signal.defer_unpool(record)
        elif isinstance(step, Rectify):
            signal.rectify(record)
        elif isinstance(step, Normalise):
            signal.scale(step.scale())
        elif isinstance(step, Conv):
            signal.conv(step, record)
        elif isinstance(step, Dense):
            signal.dense(step)
        elif isinstance(step, Flatten):
            signal.densify(math.prod(record.input_shape))
            signal.values = tf.reshape(signal.values, (-1, *record.input_shape))
        else:
            raise TypeError(f"no shared-forward backward pass for {type(step).__name__}")
    signal.unpool()
    return signal.values
