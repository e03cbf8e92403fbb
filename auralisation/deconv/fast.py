"""Deconvolution of many features of one clip with a single forward pass of the real model.

The forward pass is the same for every feature of a clip, so it runs once (:meth:`Network.run`, Keras's own
forward pass), recording every layer's call. The backward pass then walks those calls in reverse, for a batch of
backward signals (one row per feature), each layer by the rule for its type:

* a rectifier (an activation layer, or the activation of a ``Conv2D(activation=...)``): the rule
  (:mod:`.rules`) with the activation's own local gradient ``f'(x)``, taken once from TensorFlow at the clip;
* a non-overlapping max-pooling: upsampling times its switches, the layer's own gradient of ones at the clip;
* an overlapping (or gapped) ``valid`` max-pooling, such as musicnn's VGG's first (1 x 4 windows, strides 2 x 2):
  the same, its switches read from its own gradient one class of non-overlapping windows at a time, unpooled at the
  pooled resolution phase by phase (:class:`Overlapping`), with the transposed convolution below it taken on the
  phases where it maps to fewer taps than channels (:func:`_tapped_convolution`);
* a batch normalisation in inference: a per-element scale, the layer's own gradient of ones at the clip;
* a compression with ``identity_backward``: the identity (unless ``compression="gradient"``);
* a stride-1 convolution reached by a signal that still lives in one channel per feature (the top of the walk):
  a depthwise convolution with that channel's flipped kernels, a channel count cheaper than a dense one;
* **every other layer** (convolutions of any kind, ``Dense``, ``Add``, ``Concatenate``, ``Multiply``, pooling,
  reshapes, custom layers): its own gradient, ``tape.gradient`` of its own ``call`` on the clip's input broadcast
  over the batch, with the backward signal as ``output_gradients``. For a linear layer the forward part of that
  is dead code that the compiled graph drops.

Each rule is held equal to the layer's own gradient in the tests, and the whole walk to the definition
(:mod:`.tape`). A model whose calls do not connect (a custom layer computing with raw TensorFlow ops around its
sublayers) raises :class:`Unsupported`, and :class:`~auralisation.deconv.Deconvolver` falls back to the tape.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import tensorflow as tf

from .network import Network
from .recording import Call, Recording
from .rules import Rule, activation_kind, activation_name, starting_signal

__all__ = ["Unsupported", "fast_deconvolve"]

#: Activations that are not element-wise (their backward pass is their own gradient on the broadcast input).
NOT_ELEMENTWISE = frozenset({"softmax", "log_softmax"})

#: Layers that are the identity in inference.
INFERENCE_IDENTITY: tuple[type, ...] = (
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
)


#: Largest per-clip weights (bytes) for which an unpooling and a transposed convolution run fused.
FUSED_WEIGHTS_BUDGET = 64 * 2**20


class Unsupported(Exception):
    """The recorded calls do not form a graph the shared-forward walk can follow."""


def per_feature(t: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
    """``(1, ..., C)`` -> ``(n, ...)``: channel ``features[i]`` of the clip's ``t`` as row ``i``."""
    picked = tf.gather(t[0], features, axis=-1)
    rank = len(picked.shape)
    return tf.transpose(picked, (rank - 1, *range(rank - 1)))


@dataclasses.dataclass(frozen=True)
class Windows:
    """Geometry of a non-overlapping 2-D max-pooling on a ``height x width`` input."""

    size: tuple[int, int]
    height: int
    width: int
    out_height: int
    out_width: int
    top: int
    left: int

    @classmethod
    def of(cls, layer: keras.layers.MaxPooling2D, height: int, width: int) -> Windows:
        """The windows of ``layer`` on an input of ``height x width``."""
        ph, pw = (int(v) for v in layer.pool_size)
        if layer.padding == "valid":
            return cls((ph, pw), height, width, height // ph, width // pw, 0, 0)
        out_height, out_width = -(-height // ph), -(-width // pw)
        top, left = (out_height * ph - height) // 2, (out_width * pw - width) // 2
        return cls((ph, pw), height, width, out_height, out_width, top, left)

    @property
    def region(self) -> tuple[int, int]:
        """Rows and columns covered by the windows."""
        return self.out_height * self.size[0], self.out_width * self.size[1]

    @property
    def inside(self) -> bool:
        """The windows start at the input's first row and column and do not reach past its end."""
        rows, cols = self.region
        return self.top == 0 and self.left == 0 and rows <= self.height and cols <= self.width

    def to_windows(self, t: tf.Tensor) -> tf.Tensor:
        """``(height, width, C)`` -> ``(out_height, ph, out_width, pw, C)``, cropped or padded with zeros."""
        rows, cols = self.region
        if self.inside:
            t = t[:rows, :cols]
        else:
            t = tf.pad(t, [[self.top, rows - self.height - self.top], [self.left, cols - self.width - self.left], [0, 0]])
        ph, pw = self.size
        return tf.reshape(t, (self.out_height, ph, self.out_width, pw, -1))

    def from_region(self, u: tf.Tensor) -> tf.Tensor:
        """``(n, rows, cols, ...)`` over the windows' region -> ``(n, height, width, ...)``."""
        if not self.inside:
            return u[:, self.top : self.top + self.height, self.left : self.left + self.width]
        rows, cols = self.region
        if rows < self.height or cols < self.width:
            paddings = [[0, 0], [0, self.height - rows], [0, self.width - cols]] + [[0, 0]] * (len(u.shape) - 3)
            u = tf.pad(u, paddings)
        return u


@dataclasses.dataclass(frozen=True)
class Unpooling:
    """An unpooling not applied yet: the windows and the mask (switches, times any per-element factors folded in).

    Attributes
    ----------
    windows : Windows
        The pooling's geometry.
    mask : tf.Tensor
        ``(out_height, ph, out_width, pw, C)``: at most one non-zero per window and channel, at its switch.
    folded : bool
        Whether factors other than the 0/1 switches were folded into :attr:`mask`.
    """

    windows: Windows
    mask: tf.Tensor
    folded: bool = False


def at_offsets(t: tf.Tensor, size: tuple[int, int], strides: tuple[int, int], rows: int, cols: int) -> tf.Tensor:
    """``(height, width, C)`` -> ``(ph * pw, rows, cols, C)``: ``t`` at offset ``(a, b)`` of each window ``(i, j)``."""
    (ph, pw), (sh, sw) = size, strides
    return tf.stack(
        [t[a : a + sh * (rows - 1) + 1 : sh, b : b + sw * (cols - 1) + 1 : sw] for a in range(ph) for b in range(pw)]
    )


@dataclasses.dataclass(frozen=True)
class Overlapping:
    """An unpooling not applied yet, of a ``valid`` 2-D max-pooling whose strides differ from its size.

    Window ``(i, j)`` covers rows ``sh * i + a`` and columns ``sw * j + b`` (``a < ph``, ``b < pw``); the windows may
    overlap (stride below the size) or leave gaps (stride above it). :attr:`masks` holds, for each offset ``(a, b)``,
    whether window ``(i, j)`` sends its signal to that offset (times any factors folded in). The unpooled signal is
    built at the pooled resolution, one *phase* ``(a mod sh, b mod sw)`` at a time: each input element lies in
    exactly one phase, so a rectifier (and any per-position linear map over the channels, such as a transposed
    convolution's taps) applied to the phases before they are interleaved equals that applied to the unpooled
    signal; and no copy of the clip's input is broadcast over the batch, as the pooling's own gradient needs.

    Attributes
    ----------
    size, strides : tuple of int
        The pooling's window and strides.
    height, width : int
        The pooling's input size.
    masks : tf.Tensor
        ``(ph * pw, out_height, out_width, C)``, offset ``(a, b)`` at index ``a * pw + b``.
    rectified : bool
        Whether the unpooled signal is to be rectified.
    """

    size: tuple[int, int]
    strides: tuple[int, int]
    height: int
    width: int
    masks: tf.Tensor
    rectified: bool = False

    def times(self, clip: tf.Tensor) -> Overlapping:
        """The unpooling times the clip's per-element ``(height, width, C)`` tensor (before any rectification)."""
        factors = at_offsets(clip, self.size, self.strides, int(self.masks.shape[1]), int(self.masks.shape[2]))
        return dataclasses.replace(self, masks=self.masks * factors)

    def unpool(self, values: tf.Tensor, features: tf.Tensor | None, taps: tf.Tensor | None = None) -> tf.Tensor:
        """``values`` ``(n, out_height, out_width[, C])`` sent to the switches: ``(n, height, width[, C])``.

        With ``taps`` ``(C, K)``, each position's channels are multiplied by it: ``(n, height, width, K)``.
        """
        if features is None:
            masks = self.masks[:, None]
        else:
            masks = tf.transpose(tf.gather(self.masks, features, axis=-1), (0, 3, 1, 2))
        return _unpool_phases(values, masks, taps, self.size, self.strides, (self.height, self.width), self.rectified)


@tf.function(jit_compile=True, autograph=False)
def _unpool_phases(
    values: tf.Tensor,
    masks: tf.Tensor,
    taps: tf.Tensor | None,
    size: tuple[int, int],
    strides: tuple[int, int],
    shape: tuple[int, int],
    rectified: bool,
) -> tf.Tensor:
    """:meth:`Overlapping.unpool` on ``masks`` laid out to multiply ``values`` at each offset.

    Compiled by XLA, which runs the products, shifts, sums, rectifier and interleaving of the phases as a few
    loops over memory instead of one pass per operation (about half the time of the plain graph on a 2-core CPU).
    """
    (ph, pw), (sh, sw), (height, width) = size, strides, shape
    ka, kb = -(-ph // sh), -(-pw // sw)
    rest = [[0, 0]] * (len(values.shape) - 3)
    phases: list[list[tf.Tensor | None]] = [[None] * sw for _ in range(sh)]
    for a in range(ph):
        for b in range(pw):
            (qa, ra), (qb, rb) = divmod(a, sh), divmod(b, sw)
            term = tf.pad(values * masks[a * pw + b], [[0, 0], [qa, ka - 1 - qa], [qb, kb - 1 - qb], *rest])
            phases[ra][rb] = term if phases[ra][rb] is None else phases[ra][rb] + term
    for row in phases:
        for i, phase in enumerate(row):
            if phase is not None:
                phase = tf.nn.relu(phase) if rectified else phase
                row[i] = phase if taps is None else tf.einsum("nhwc,ck->nhwk", phase, taps)
    zeros = tf.zeros_like(next(phase for row in phases for phase in row if phase is not None))
    grid = tf.stack([tf.stack([zeros if p is None else p for p in row], axis=3) for row in phases], axis=2)
    dims = tf.shape(grid)  # (n, rows, sh, cols, sw[, C])
    rows, cols = int(grid.shape[1]) * sh, int(grid.shape[3]) * sw
    out = tf.reshape(grid, tf.concat([[dims[0], rows, cols], dims[5:]], 0))[:, :height, :width]
    pad = [[0, 0], [0, max(0, height - rows)], [0, max(0, width - cols)], *rest]
    return tf.pad(out, pad) if rows < height or cols < width else out


@dataclasses.dataclass
class Signal:
    """A batch of backward signals; while :attr:`features` is set, row ``i`` lives in channel ``features[i]`` only.

    Attributes
    ----------
    values : tf.Tensor
        ``(n, ..., C)`` dense, or ``(n, ...)`` without the channel axis while sparse; at the pooled resolution
        while :attr:`unpooling` is pending.
    features : tf.Tensor or None
        The channel of each row while sparse.
    channels : int
        The number of channels of the dense form.
    unpooling : Unpooling, Overlapping or None
        An unpooling still to apply, deferred so that per-element steps run at the pooled resolution and the
        next transposed convolution can run fused with it.
    """

    values: tf.Tensor
    features: tf.Tensor | None
    channels: int
    unpooling: Unpooling | Overlapping | None = None

    def _mask(self) -> tf.Tensor:
        """The pending unpooling's mask, laid out to multiply the values."""
        mask = self.unpooling.mask
        if self.features is None:
            return mask[None]
        return tf.transpose(tf.gather(mask, self.features, axis=-1), (4, 0, 1, 2, 3))

    def unpooled(self) -> Signal:
        """The signal with its pending unpooling applied."""
        if isinstance(self.unpooling, Overlapping):
            return Signal(self.unpooling.unpool(self.values, self.features), self.features, self.channels)
        if self.unpooling is None:
            return self
        windows = self.unpooling.windows
        (ph, pw), (rows, cols) = windows.size, windows.region
        v, mask = self.values, self._mask()
        if self.features is not None:
            region = tf.reshape(v[:, :, None, :, None] * mask, (-1, rows, cols))
        else:  # TensorFlow broadcasts up to rank 5 on the CPU: repeat along the columns, broadcast along the rows
            v = tf.repeat(v, pw, axis=2)[:, :, None]
            region = tf.reshape(v * tf.reshape(mask, (1, rows // ph, ph, cols, self.channels)), (-1, rows, cols, self.channels))
        return Signal(windows.from_region(region), self.features, self.channels)

    def dense(self) -> tf.Tensor:
        """The signal, unpooled, with its channel axis."""
        signal = self.unpooled()
        if signal.features is None:
            return signal.values
        one_hot = tf.one_hot(signal.features, self.channels, dtype=signal.values.dtype)
        shape = (-1, *([1] * (len(signal.values.shape) - 1)), self.channels)
        return signal.values[..., None] * tf.reshape(one_hot, shape)

    def times(self, clip: tf.Tensor) -> Signal:
        """Multiply by the clip's per-element tensor ``(1, ..., C)`` (broadcast over the rows)."""
        if isinstance(self.unpooling, Overlapping):
            if self.unpooling.rectified:
                return self.unpooled().times(clip)
            return dataclasses.replace(self, unpooling=self.unpooling.times(clip[0]))
        if self.unpooling is not None:
            windows = self.unpooling.windows
            mask = self.unpooling.mask * windows.to_windows(clip[0])
            return dataclasses.replace(self, unpooling=Unpooling(windows, mask, folded=True))
        if self.features is None:
            return Signal(self.values * clip, None, self.channels)
        return Signal(self.values * per_feature(clip, self.features), self.features, self.channels)

    def rectified(self) -> Signal:
        """``relu`` of the signal; before a pending unpooling when that commutes (nothing folded yet)."""
        if isinstance(self.unpooling, Overlapping):
            return dataclasses.replace(self, unpooling=dataclasses.replace(self.unpooling, rectified=True))
        signal = self.unpooled() if self.unpooling is not None and self.unpooling.folded else self
        return dataclasses.replace(signal, values=tf.nn.relu(signal.values))

    def __add__(self, other: Signal) -> Signal:
        a, b = self.unpooled(), other.unpooled()
        if a.features is not None and a.features is b.features:
            return Signal(a.values + b.values, a.features, self.channels)
        return Signal(a.dense() + b.dense(), None, self.channels)


def _own_gradient_of_ones(function: Any, x: tf.Tensor) -> tf.Tensor:
    """``d sum(function(x)) / dx`` at the clip: a per-element layer's local gradient, from TensorFlow."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
    return tape.gradient(y, x, output_gradients=tf.ones_like(y))


def _broadcast(call: Call, n: tf.Tensor) -> tuple[tuple[Any, ...], dict[str, Any], list[tf.Tensor]]:
    """The call's arguments with every tensor broadcast from the clip to ``n`` rows; and those tensors."""
    broadcast: list[tf.Tensor] = []

    def widen(t: Any) -> Any:
        if not tf.is_tensor(t):
            return t
        b = tf.broadcast_to(t, tf.concat([[n], tf.shape(t)[1:]], 0))
        broadcast.append(b)
        return b

    args, kwargs = tf.nest.map_structure(widen, (call.args, call.kwargs))
    return args, kwargs, broadcast


def _own_vjp(network: Network, call: Call, signal: Signal, n: tf.Tensor) -> list[tf.Tensor | None]:
    """The layer's own gradient (its linear part, for a layer with an activation) for the batch ``signal``."""
    args, kwargs, inputs = _broadcast(call, n)
    with tf.GradientTape() as tape:
        for t in inputs:
            tape.watch(t)
        with network.linear(call.layer) as linear_call:
            out = linear_call(*args, **kwargs)
    outs = [o for o in tf.nest.flatten(out) if tf.is_tensor(o)]
    return tape.gradient(outs[0] if len(outs) == 1 else outs, inputs, output_gradients=signal.dense())


def _activation(call: Call, signal: Signal, rule: Rule, n: tf.Tensor) -> Signal:
    """The backward pass of the call's activation (a rectifier by the rule, any other by its gradient)."""
    z, function = call.pre_activation, call.function
    name = activation_name(function)
    rectifier = call.kind == "activation" and not isinstance(call.layer, keras.layers.Activation)
    rectifier = rectifier or activation_kind(function) == "rectifier"
    if name in NOT_ELEMENTWISE:
        zb = tf.broadcast_to(z, tf.concat([[n], tf.shape(z)[1:]], 0))
        with tf.GradientTape() as tape:
            tape.watch(zb)
            y = function(zb)
        return Signal(tape.gradient(y, zb, output_gradients=signal.dense()), None, signal.channels)
    if rectifier and rule == "deconvnet":
        return signal.rectified()
    local = _own_gradient_of_ones(function, z)
    if rectifier and rule == "guided":
        signal = signal.rectified()
    return signal.times(local)


def _max_pooling(call: Call, signal: Signal) -> Signal | None:
    """Unpooling of a 2-D max-pooling, deferred. None if the layer is not one the unpoolings handle.

    The switches are the layer's own gradient at the clip: TensorFlow sends each window's signal to its first
    largest input, so the gradient of ones is 1 there and 0 elsewhere. Where windows overlap, the gradient is taken
    once per class of windows that do not overlap (every ``ceil(ph / sh)``-th row and ``ceil(pw / sw)``-th column
    of windows), so that each class's switches are read apart.
    """
    layer = call.layer
    if not (isinstance(layer, keras.layers.MaxPooling2D) and layer.data_format == "channels_last"):
        return None
    x = call.args[0]
    size, strides = tuple(int(v) for v in layer.pool_size), tuple(int(v) for v in layer.strides)
    signal = signal.unpooled()
    if size == strides:
        switches = _own_gradient_of_ones(lambda t: layer.call(t), x)
        windows = Windows.of(layer, int(x.shape[1]), int(x.shape[2]))
        pending: Unpooling | Overlapping = Unpooling(windows, windows.to_windows(switches[0]))
        return Signal(signal.values, signal.features, signal.channels, pending)
    if layer.padding != "valid":
        return None
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer.call(x)
    rows, cols = int(y.shape[1]), int(y.shape[2])
    ka, kb = -(-size[0] // strides[0]), -(-size[1] // strides[1])
    masks = 0.0
    for ca in range(ka):
        for cb in range(kb):
            seed = tf.cast(
                tf.logical_and((tf.range(rows) % ka == ca)[:, None], (tf.range(cols) % kb == cb)[None, :]), y.dtype
            )[:, :, None]
            switches = tape.gradient(y, x, output_gradients=tf.broadcast_to(seed[None], tf.shape(y)))[0]
            masks += at_offsets(switches, size, strides, rows, cols) * seed
    del tape
    pending = Overlapping(size, strides, int(x.shape[1]), int(x.shape[2]), masks)
    return Signal(signal.values, signal.features, signal.channels, pending)


def _transposed_padding(layer: keras.layers.Conv2D) -> list[list[int]]:
    """Explicit padding that makes a stride-1 correlation with flipped kernels the transposed convolution."""
    paddings = [[0, 0]]
    for size, dilation in zip(layer.kernel_size, layer.dilation_rate):
        extent = (size - 1) * dilation + 1
        before = (extent - 1) // 2 if layer.padding == "same" else 0
        after = extent - 1 - before if layer.padding == "same" else 0
        paddings.append([extent - 1 - before, extent - 1 - after])
    return paddings + [[0, 0]]


def _plain_convolution(layer: Any) -> bool:
    """A stride-1, ungrouped, channels-last ``Conv2D`` (not a subclass): the case the convolution rules handle."""
    return (
        type(layer) is keras.layers.Conv2D
        and tuple(layer.strides) == (1, 1)
        and layer.groups == 1
        and layer.data_format == "channels_last"
    )


def _sparse_convolution(call: Call, signal: Signal) -> Signal | None:
    """The transposed convolution of a one-channel-per-row signal: a depthwise convolution. None if not that case."""
    layer = call.layer
    if not (
        signal.features is not None
        and _plain_convolution(layer)
    ):
        return None
    kernel = tf.convert_to_tensor(layer.kernel)
    in_channels = kernel.shape[2]
    flipped = tf.reverse(tf.gather(kernel, signal.features, axis=3), [0, 1])  # (kh, kw, in, n)
    filters = tf.transpose(flipped, (0, 1, 3, 2))  # (kh, kw, n, in): depthwise, multiplier = in
    values = tf.pad(tf.transpose(signal.unpooled().values, (1, 2, 0))[None], _transposed_padding(layer))
    out = tf.nn.depthwise_conv2d(values, filters, (1, 1, 1, 1), "VALID", dilations=layer.dilation_rate)
    height, width = out.shape[1], out.shape[2]
    out = tf.transpose(tf.reshape(out[0], (height, width, -1, in_channels)), (2, 0, 1, 3))
    return Signal(out, None, in_channels)


def _fused_convolution(call: Call, signal: Signal) -> Signal | None:
    """A pending unpooling and the transposed convolution below it, fused. None if not that case.

    Each pooling window ``(i, j)`` of channel ``c`` holds at most one non-zero value, at its switch; the transposed
    convolution spreads it over a ``P x Q`` patch (``P = ph + (kh - 1) * dilation``). So the patch of window
    ``(i, j)`` is ``g[i, j, :] @ N[i, j]``, where row ``c`` of ``N[i, j]`` is the kernel of channel ``c`` placed at
    the switch (times any factor folded into the mask): one small matrix product per window over the batch, then
    an overlap-add of the patches with stride ``(ph, pw)``. Used where ``N`` is small (few input channels, as
    below the first layer of a spectrogram model), where a transposed convolution into one channel is slow and
    the unpooled signal with all its channels would be large.
    """
    layer, pending = call.layer, signal.unpooling
    if not (
        isinstance(pending, Unpooling)
        and pending.windows.inside
        and signal.features is None
        and _plain_convolution(layer)
    ):
        return None
    kernel = tf.convert_to_tensor(layer.kernel)
    kh, kw, in_channels, channels = kernel.shape
    windows = pending.windows
    (ph, pw), (dy, dx) = windows.size, tuple(layer.dilation_rate)
    ho, wo = windows.out_height, windows.out_width
    patch_h, patch_w = ph + (kh - 1) * dy, pw + (kw - 1) * dx
    if 4 * ho * wo * channels * in_channels * patch_h * patch_w > FUSED_WEIGHTS_BUDGET:
        return None
    height, width = int(call.args[0].shape[1]), int(call.args[0].shape[2])
    # the kernel of each channel placed at each offset (a, b) of a window, and a last, empty placement
    dilated = tf.reshape(
        tf.pad(kernel[:, None, :, None], [[0, 0], [0, dy - 1], [0, 0], [0, dx - 1], [0, 0], [0, 0]]),
        (kh * dy, kw * dx, in_channels, channels),
    )[: (kh - 1) * dy + 1, : (kw - 1) * dx + 1]
    placed = [tf.pad(dilated, [[a, ph - 1 - a], [b, pw - 1 - b], [0, 0], [0, 0]]) for a in range(ph) for b in range(pw)]
    placed.append(tf.zeros_like(placed[0]))
    placed = tf.reshape(tf.transpose(tf.stack(placed), (0, 4, 1, 2, 3)), (-1, patch_h * patch_w * in_channels))
    mask = pending.mask
    hit_mask = tf.cast(tf.not_equal(mask, 0), mask.dtype)
    offsets = tf.constant([[a * pw + b for b in range(pw)] for a in range(ph)], mask.dtype)
    where = tf.einsum("iajbc,ab->ijc", hit_mask, offsets)
    hit = tf.reduce_sum(hit_mask, axis=(1, 3))
    factor = tf.reduce_sum(mask, axis=(1, 3))
    where = tf.cast(tf.where(hit > 0, where, float(ph * pw)), tf.int32)
    weights = tf.gather(placed, where * channels + tf.range(channels)) * factor[..., None]
    n = tf.shape(signal.values)[0]
    patches = tf.einsum(
        "npc,pcq->npq",
        tf.reshape(signal.values, (n, ho * wo, channels)),
        tf.reshape(weights, (ho * wo, channels, -1)),
    )
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
    before = [(size - 1) * d - pad[0] for size, d, pad in zip((kh, kw), (dy, dx), _transposed_padding(layer)[1:3])]
    total = tf.pad(
        total, [[0, 0], [0, max(0, before[0] + height - out_h)], [0, max(0, before[1] + width - out_w)], [0, 0]]
    )
    return Signal(total[:, before[0] : before[0] + height, before[1] : before[1] + width], None, in_channels)


def _tapped_convolution(call: Call, signal: Signal) -> Signal | None:
    """A pending overlapping unpooling and the transposed convolution below it into few channels, fused.

    None if not that case. The transposed convolution of ``g`` is ``x[r, c] = sum_(u, v) T[r - u * dy + top,
    c - v * dx + left, u, v]`` with the taps ``T = g @ K`` (``K``: the kernel as a ``channels x (kh * kw * in)``
    matrix). The taps are taken on each phase of the unpooling before it is interleaved, so the unpooled signal
    with all its channels at full resolution is never built: used where the taps are fewer than the channels (the
    first convolution of a spectrogram model, below an overlapping first pooling).
    """
    layer, pending = call.layer, signal.unpooling
    if not (isinstance(pending, Overlapping) and signal.features is None and _plain_convolution(layer)):
        return None
    kernel = tf.convert_to_tensor(layer.kernel)
    kh, kw, in_channels, channels = kernel.shape
    if kh * kw * in_channels >= channels:
        return None
    taps = tf.reshape(tf.transpose(kernel, (3, 0, 1, 2)), (channels, kh * kw * in_channels))
    t = pending.unpool(signal.values, None, taps)
    n, rows, cols = tf.shape(t)[0], int(t.shape[1]), int(t.shape[2])
    height, width = int(call.args[0].shape[1]), int(call.args[0].shape[2])
    (dy, dx), (_, (top, _), (left, _), _) = layer.dilation_rate, _transposed_padding(layer)
    top, left = (kh - 1) * dy - top, (kw - 1) * dx - left  # the forward convolution's padding before
    t = tf.reshape(t, (n, rows, cols, kh, kw, in_channels))
    before_h, before_w = (kh - 1) * dy, (kw - 1) * dx
    t = tf.pad(
        t,
        [[0, 0], [before_h, max(0, height + top - rows)], [before_w, max(0, width + left - cols)]] + [[0, 0]] * 3,
    )
    total = 0.0
    for u in range(kh):
        for v in range(kw):
            r, c = before_h + top - u * dy, before_w + left - v * dx
            total += t[:, r : r + height, c : c + width, u, v]
    return Signal(total, None, in_channels)


def _batch_normalisation(call: Call, signal: Signal) -> Signal | None:
    """An inference batch normalisation over the last axis: a per-element scale. None if not that case."""
    layer = call.layer
    if not isinstance(layer, keras.layers.BatchNormalization) or layer.axis not in (-1, len(call.args[0].shape) - 1):
        return None
    scale = _own_gradient_of_ones(lambda t: layer.call(t, training=False), call.args[0])
    return signal.times(scale)


def _outputs(call: Call) -> list[tf.Tensor]:
    return [t for t in tf.nest.flatten(call.output) if tf.is_tensor(t)]


def fast_deconvolve(
    network: Network, path: str, rule: Rule, x: tf.Tensor, features: tf.Tensor, seeding: str, compression: str
) -> tf.Tensor:
    """Deconvolve the features ``features`` of the layer at ``path`` for the one clip ``x``.

    Parameters are those of :func:`~auralisation.deconv.tape.tape_deconvolve`, with ``x`` a single clip
    ``(1, ...)``.

    Returns
    -------
    tf.Tensor
        ``(n, ...)`` shaped like the spectrogram tensor, equal to the tape's result on ``n`` copies of ``x``.

    Raises
    ------
    Unsupported
        The recorded calls do not connect the layer to the spectrogram.
    """
    recording: Recording = network.run(x, rule, compression=compression)
    source = network.source(recording, x)
    target = recording.by_path(path)
    top = recording.calls.index(target)
    bottom = recording.calls.index(recording.by_path(network.at)) if network.at is not None else -1
    activations = recording.output(path)
    n = tf.shape(features)[0]
    channels = int(activations.shape[-1])
    chosen = per_feature(activations, features)
    start = starting_signal(chosen, seeding)
    signal = Signal(start, features, channels)
    if len(activations.shape) <= 2:  # units of a dense layer: no spatial axes to keep sparse
        signal = Signal(signal.dense(), None, channels)

    signals: dict[int, Signal] = {id(activations): signal}
    known = {id(source)}
    for call in recording.calls[bottom + 1 : top + 1]:
        if call.children == 0:
            known.update(id(t) for t in _outputs(call))
    for call in reversed(recording.calls[bottom + 1 : top + 1]):
        if call.children:
            continue
        outs = [signals.pop(id(t)) for t in _outputs(call) if id(t) in signals]
        if not outs:
            continue
        if len(outs) != len(_outputs(call)):
            raise Unsupported(f"layer {call.path!r} has several outputs")
        signal = outs[0]
        inputs = call.inputs
        if call.kind == "identity":
            grads: list[Any] = [signal]
        else:
            if call.pre_activation is not None:
                signal = _activation(call, signal, rule, n)
            if call.kind == "activation":
                grads = [signal]
            elif isinstance(call.layer, INFERENCE_IDENTITY):
                grads = [signal]
            else:
                own = _max_pooling(call, signal) or _batch_normalisation(call, signal)
                own = own or _fused_convolution(call, signal) or _tapped_convolution(call, signal)
                own = own or _sparse_convolution(call, signal)
                if own is not None:
                    grads = [own]
                else:
                    channels_in = [int(t.shape[-1]) for t in inputs]
                    vjps = _own_vjp(network, call, signal, n)
                    grads = [None if g is None else Signal(g, None, c) for g, c in zip(vjps, channels_in)]
        for t, g in zip(inputs, grads):
            if g is None:
                continue
            if id(t) not in known:
                raise Unsupported(
                    f"the input of layer {call.path!r} comes from operations outside the recorded layers"
                )
            signals[id(t)] = signals[id(t)] + g if id(t) in signals else g
    if id(source) not in signals:
        raise Unsupported(f"the walk from {path!r} did not reach the spectrogram")
    return signals[id(source)].dense()
