"""Numpy inference of an :class:`~spikeforge.ir.AnnGraph`: shapes and activations.

Used by the normalization pass (activation statistics) and by the tests that check every
pass keeps the ANN's outputs. Data enters as the user keeps it and the ANN sees
``ir.ann_view`` of it (uint8 pixels scaled to [0, 1], other dtypes as they are).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import ir
from .ir import ann_view
from .tensor_ops import conv2d, dense, max_pool, pad_nhwc, windows


def output_shape(layer: ir.AnnLayer, in_shape: ir.Shape) -> ir.Shape:
    """Shape (without batch) of ``layer``'s output for an input of ``in_shape``."""
    if isinstance(layer, ir.Conv2D):
        kh, kw, _, cout = layer.kernel.shape
        return (*_window_hw(in_shape, (kh, kw), layer.strides, layer.pads), cout)
    if isinstance(layer, ir.MaxPool | ir.AvgPool):
        return (*_window_hw(in_shape, layer.pool, layer.strides, layer.pads), in_shape[-1])
    if isinstance(layer, ir.Dense):
        return (layer.weights.shape[1],)
    if isinstance(layer, ir.Flatten):
        return (int(np.prod(in_shape)),)
    if isinstance(layer, ir.Reshape):
        return tuple(layer.target)
    return in_shape


def _window_hw(in_shape: ir.Shape, kernel, strides, pads) -> tuple[int, int]:
    h = ir.conv_output_size(in_shape[0], kernel[0], strides[0], pads[0], pads[1])
    w = ir.conv_output_size(in_shape[1], kernel[1], strides[1], pads[2], pads[3])
    return h, w


def infer_shapes(graph: ir.AnnGraph) -> list[ir.Shape]:
    """Output shape of every layer of ``graph``, in order."""
    shapes, shape = [], tuple(graph.input_shape)
    for layer in graph.layers:
        shape = output_shape(layer, shape)
        shapes.append(shape)
    return shapes


def _relu(x: np.ndarray, spec: ir.Relu | None) -> np.ndarray:
    if spec is None:
        return x
    if spec.levels is not None:
        steps = np.clip(np.floor(x * (spec.levels / spec.cap) + 0.5), 0, spec.levels)
        return (steps * (spec.cap / spec.levels)).astype(x.dtype)
    x = np.maximum(x, 0)
    return x if spec.cap is None else np.minimum(x, spec.cap)


def apply_layer(layer: ir.AnnLayer, x: np.ndarray) -> np.ndarray:
    """One layer's float output for a batch ``x``."""
    if isinstance(layer, ir.Conv2D):
        y = conv2d(x, layer.kernel.astype(x.dtype), layer.strides, layer.pads) + layer.bias
        return _relu(y, layer.relu).astype(x.dtype)
    if isinstance(layer, ir.Dense):
        y = dense(x, layer.weights) + layer.bias
        return _relu(y, layer.relu).astype(x.dtype)
    if isinstance(layer, ir.BatchNorm):
        scale = layer.gamma / np.sqrt(layer.var + layer.epsilon)
        return ((x - layer.mean) * scale + layer.beta).astype(x.dtype)
    if isinstance(layer, ir.ReLU):
        return _relu(x, layer.spec)
    if isinstance(layer, ir.MaxPool):
        return max_pool(x, layer.pool, layer.strides, layer.pads)
    if isinstance(layer, ir.AvgPool):
        # Keras divides a border window by the number of real (unpadded) cells in it
        sums = windows(pad_nhwc(x, layer.pads), layer.pool, layer.strides).sum(axis=(4, 5))
        cells = np.ones((1, *x.shape[1:3], 1), x.dtype)
        counts = windows(pad_nhwc(cells, layer.pads), layer.pool, layer.strides).sum(axis=(4, 5))
        return (sums / counts).astype(x.dtype)
    if isinstance(layer, ir.Flatten):
        return x.reshape(len(x), -1)
    if isinstance(layer, ir.Reshape):
        return x.reshape(len(x), *layer.target)
    if isinstance(layer, ir.Dropout):
        return x
    if isinstance(layer, ir.Sigmoid):
        return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(x.dtype)  # no overflow for large |x|
    if isinstance(layer, ir.Softmax):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise TypeError(f"unknown layer {layer!r}")


def iter_activations(
    graph: ir.AnnGraph, images: np.ndarray, batch_size: int = 500
) -> Iterator[list[np.ndarray]]:
    """Per batch of images, the output of every layer (float32)."""
    for start in range(0, len(images), batch_size):
        x = ann_view(images[start : start + batch_size])
        outputs = []
        for layer in graph.layers:
            x = apply_layer(layer, x)
            outputs.append(x)
        yield outputs


def predict(graph: ir.AnnGraph, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The graph's final outputs for ``images`` (N, *input_shape), see ``ir.ann_view``."""
    return np.concatenate([acts[-1] for acts in iter_activations(graph, images, batch_size)])
