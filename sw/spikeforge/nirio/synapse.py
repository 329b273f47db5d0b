"""NIR synapse nodes as the IR's weights, with the Flatten and pooling of the spikes
before them folded in (docs/nir.md).

NIR is channel-first ((C, H, W), (C, L)) and flattens channel-major; the IR is (H, W, C)
and flattens row-major, so a dense synapse's columns are permuted. Pooling spikes is
linear: a window ``p`` that tiles its input (stride = window, no padding) followed by a
synapse is one synapse over the unpooled spikes, each weight repeated over its window
(times ``1 / (ph * pw)`` for an average); a convolution's stride and padding grow by the
window. Problems are ValueError with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ir

Shape = tuple[int, ...]
Pool = tuple[int, int, float]  # (ph, pw, factor): SumPool2d factor 1, AvgPool2d 1 / (ph pw)


@dataclass
class Synapse:
    kind: str  # conv | dense
    in_shape: Shape  # IR layout
    out_shape: Shape  # IR layout
    nir_out: Shape  # NIR layout of its output
    weights: np.ndarray  # conv (kh, kw, cin, cout); dense (nin, nout)
    strides: tuple[int, int] = (1, 1)
    pads: ir.Pads = (0, 0, 0, 0)


def ir_shape(shape: Shape) -> Shape:
    """NIR's channel-first shape in the IR's layout: (C, H, W) -> (H, W, C), (C, L) -> (L, C)."""
    return tuple(shape) if len(shape) == 1 else (*shape[1:], shape[0])


def pair(value, name: str) -> tuple[int, int]:
    """One or two integers as a pair."""
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64).ravel()
    if arr.size == 1:
        return int(arr[0]), int(arr[0])
    if arr.size == 2:
        return int(arr[0]), int(arr[1])
    raise ValueError(f"{name} {value!r} is not one or two integers")


def _unpool(w: np.ndarray, pools: list[Pool]) -> np.ndarray:
    """Weights ``(h, w, ...)`` over pooled positions as weights over the unpooled ones."""
    for ph, pw, factor in reversed(pools):
        w = np.repeat(np.repeat(w, ph, axis=0), pw, axis=1) * factor
    return w


def _pooled(base: Shape, pools: list[Pool]) -> Shape:
    c, h, w = base
    for ph, pw, _factor in pools:
        h, w = h // ph, w // pw
    return (c, h, w)


def dense_synapse(weight: np.ndarray, shape: Shape, base: Shape, pools: list[Pool]) -> Synapse:
    """An Affine/Linear weight ``(out, in)`` reading ``shape`` (flattened from ``base``,
    the spikes' NIR shape before ``pools``)."""
    if weight.ndim != 2:
        raise ValueError(f"weight shape {weight.shape}: a dense weight is (out, in)")
    if len(shape) != 1:
        raise ValueError(f"a dense synapse on {shape} activations: put a Flatten before it")
    nout, nin = weight.shape
    if nin != shape[0]:
        raise ValueError(f"weight (out {nout}, in {nin}) on {shape[0]} inputs")
    pooled = _pooled(base, pools) if pools else base
    cols = weight.reshape(nout, *pooled)  # channel-first, as NIR flattens
    if len(pooled) > 1:
        cols = np.moveaxis(cols, 1, -1)  # (out, *spatial, C): the IR's flatten order
    w = _unpool(np.moveaxis(cols, 0, -1), pools)  # (*spatial, C, out)
    if pools:  # rows and columns the windows left out get weight 0
        _c, h, wid = base
        w = np.pad(w, [(0, h - w.shape[0]), (0, wid - w.shape[1]), (0, 0), (0, 0)])
    return Synapse("dense", (int(np.prod(base)),), (nout,), (nout,), w.reshape(-1, nout))


def _padding(padding, *kernel: int) -> tuple[int, int]:
    """NIR's padding (integers, 'valid', or 'same' for odd kernels) as (rows, columns)."""
    if isinstance(padding, str | bytes):
        text = padding.decode() if isinstance(padding, bytes) else padding
        if text == "valid":
            return (0, 0)
        if text == "same" and all(k % 2 == 1 for k in kernel):
            return (kernel[0] // 2, kernel[-1] // 2)
        raise ValueError(f"padding {text!r}: give integer padding (or 'same' with odd kernels)")
    rows, cols = pair(padding, "padding")
    return (rows, cols) if len(kernel) == 2 else (rows, rows)


def conv_synapse(weight: np.ndarray, node, kind: str, shape: Shape, base: Shape,
                 pools: list[Pool], flat: bool) -> Synapse:
    """A Conv2d weight ``(cout, cin, kh, kw)`` or Conv1d ``(cout, cin, k)`` reading
    ``shape`` (``base`` before ``pools``)."""
    rank = 2 if kind == "Conv1d" else 3
    if weight.ndim != rank + 1 or len(shape) != rank or flat:
        raise ValueError(f"{kind} weight {weight.shape} on activations {shape}")
    groups = int(np.asarray(node.groups).ravel()[0])
    dilation = np.atleast_1d(np.asarray(node.dilation)).astype(int)
    if groups != 1 or (dilation != 1).any():
        raise ValueError(f"groups={groups}, dilation={dilation.tolist()}: the core's "
                         "convolutions are dense (groups 1) and not dilated")
    if weight.shape[1] != shape[0]:
        raise ValueError(f"weight {weight.shape} reads {weight.shape[1]} channels of {shape[0]}")
    if kind == "Conv1d":  # the spec's 1 x k convolution of a (1, L, C) sequence
        weight = weight[:, :, None, :]
        stride = (1, pair(node.stride, "stride")[0])
        pad = (0, _padding(node.padding, weight.shape[3])[1])
        base = (base[0], 1, base[1])
    else:
        stride = pair(node.stride, "stride")
        pad = _padding(node.padding, weight.shape[2], weight.shape[3])
    w = _unpool(np.transpose(weight, (2, 3, 1, 0)), pools)  # (kh, kw, cin, cout)
    for ph, pw, _factor in pools:
        stride, pad = (stride[0] * ph, stride[1] * pw), (pad[0] * ph, pad[1] * pw)
    pads = (pad[0], pad[0], pad[1], pad[1])
    _c, h, wid = base
    kh, kw, _cin, cout = w.shape
    oh = ir.conv_output_size(h, kh, stride[0], pads[0], pads[1])
    ow = ir.conv_output_size(wid, kw, stride[1], pads[2], pads[3])
    if oh < 1 or ow < 1:
        raise ValueError(f"the kernel {kh}x{kw} does not fit the {h}x{wid} input")
    nir_out = (cout, ow) if kind == "Conv1d" else (cout, oh, ow)
    return Synapse("conv", ir_shape(base), (oh, ow, cout), nir_out, w, stride, pads)
