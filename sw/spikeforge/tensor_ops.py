"""Batched NHWC tensor operations shared by the numpy ANN and the spiking simulators.

Convolution is a sum of BLAS matmuls, one per kernel offset. Integer networks call it with
operands that are exact in the floating type chosen by :func:`exact_float_dtype`, so the
result is exact whatever order BLAS sums in.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .ir import Pads


def exact_float_dtype(bound: float) -> type[np.floating]:
    """The narrowest float type in which every integer of magnitude <= bound is exact."""
    if bound < 2**24:
        return np.float32
    if bound < 2**53:
        return np.float64
    raise OverflowError(f"an integer sum bound of {bound:.3g} is not exact in float64")


def pad_nhwc(x: np.ndarray, pads: Pads, value: float = 0) -> np.ndarray:
    top, bottom, left, right = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def windows(x: np.ndarray, pool: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """View (N, Ho, Wo, C, ph, pw) of the windows of an (already padded) NHWC array."""
    view = sliding_window_view(x, pool, axis=(1, 2))
    return view[:, :: strides[0], :: strides[1]]


def conv2d(x: np.ndarray, kernel: np.ndarray, strides: tuple[int, int], pads: Pads) -> np.ndarray:
    """Cross-correlation of NHWC ``x`` with a (kh, kw, cin, cout) kernel, Keras convention.

    Sums one (cin x cout) matmul per kernel offset over strided views of the input, which
    moves far less memory than an im2col matrix.
    """
    kh, kw, _, cout = kernel.shape
    (sh, sw), xp = strides, pad_nhwc(x, pads)
    ho = (xp.shape[1] - kh) // sh + 1
    wo = (xp.shape[2] - kw) // sw + 1
    out = np.zeros((x.shape[0], ho, wo, cout), dtype=x.dtype)
    weights = kernel.astype(x.dtype)
    for i in range(kh):
        for j in range(kw):
            out += xp[:, i : i + ho * sh : sh, j : j + wo * sw : sw, :] @ weights[i, j]
    return out


def dense(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1) @ weights.astype(x.dtype)


def max_pool(x: np.ndarray, pool: tuple[int, int], strides: tuple[int, int], pads: Pads):
    """Max pooling; padded positions never win (they hold -inf)."""
    view = windows(pad_nhwc(x.astype(np.float64), pads, -np.inf), pool, strides)
    return view.max(axis=(4, 5)).astype(x.dtype)


def conv_fan_out(
    in_shape: tuple[int, int, int], kernel: tuple[int, int], strides: tuple[int, int], pads: Pads
) -> np.ndarray:
    """(H, W) map: how many output positions each input position feeds."""
    h, w, _ = in_shape
    (sh, sw), (kh, kw) = strides, kernel
    counts = np.zeros((h + pads[0] + pads[1], w + pads[2] + pads[3]), dtype=np.int64)
    ho, wo = (counts.shape[0] - kh) // sh + 1, (counts.shape[1] - kw) // sw + 1
    for i in range(kh):
        for j in range(kw):
            counts[i : i + ho * sh : sh, j : j + wo * sw : sw] += 1
    return counts[pads[0] : pads[0] + h, pads[2] : pads[2] + w]
