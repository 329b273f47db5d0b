"""Fold BatchNormalization into an adjacent Conv2D or Dense layer, exactly.

BN(x) = a * x + c per channel, with a = gamma / sqrt(var + eps) and c = beta - a * mean.
Folded backward into the layer before it (Rueckauer et al. 2016, section 3.3) when that
layer feeds it directly, otherwise forward into the layer after it (through a Flatten)
when no nonlinearity and no zero padding lie between: padding zeros would become c.
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..ann_numpy import infer_shapes
from ..frontend.errors import refuse


def _affine(bn: ir.BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    a = bn.gamma / np.sqrt(bn.var + bn.epsilon)
    return a, bn.beta - a * bn.mean


def _fold_backward(layer: ir.Conv2D | ir.Dense, bn: ir.BatchNorm) -> ir.Conv2D | ir.Dense:
    a, c = _affine(bn)
    if isinstance(layer, ir.Conv2D):
        return ir.Conv2D(
            layer.name, layer.kernel * a, layer.bias * a + c, layer.strides, layer.pads
        )
    return ir.Dense(layer.name, layer.weights * a, layer.bias * a + c)


def _fold_forward(
    bn: ir.BatchNorm, layer: ir.Conv2D | ir.Dense, in_shape: ir.Shape
) -> ir.Conv2D | ir.Dense:
    """Fold BN into the following linear layer, whose input has ``in_shape``."""
    a, c = _affine(bn)
    if isinstance(layer, ir.Conv2D):
        if any(layer.pads):
            raise refuse(
                bn.name,
                "BatchNormalization",
                f"folding into the zero-padded convolution '{layer.name}' that follows it "
                "(the padding zeros would need the BN offset)",
                "move the BatchNormalization after the convolution, or use padding='valid'",
            )
        kernel = layer.kernel * a[:, None]
        bias = layer.bias + np.einsum("hwio,i->o", layer.kernel, c)
        return ir.Conv2D(
            layer.name, kernel, bias, layer.strides, layer.pads, layer.relu, layer.relu_cap
        )
    channels = len(a)
    reps = int(np.prod(in_shape)) // channels
    a_flat, c_flat = np.tile(a, reps), np.tile(c, reps)  # (h, w, c) row-major flatten
    return ir.Dense(
        layer.name,
        layer.weights * a_flat[:, None],
        layer.bias + c_flat @ layer.weights,
        layer.relu,
        layer.relu_cap,
    )


def fold_batchnorm(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Remove every BatchNorm by folding it into a neighbouring Conv2D/Dense."""
    layers = list(graph.layers)
    shapes = infer_shapes(graph)
    i = 0
    while i < len(layers):
        bn = layers[i]
        if not isinstance(bn, ir.BatchNorm):
            i += 1
            continue
        prev = layers[i - 1] if i > 0 else None
        if isinstance(prev, ir.Conv2D | ir.Dense) and not prev.relu:
            layers[i - 1] = _fold_backward(prev, bn)
            del layers[i], shapes[i]
            continue
        j = i + 1
        while j < len(layers) and isinstance(layers[j], ir.Flatten | ir.Dropout):
            j += 1
        if j < len(layers) and isinstance(layers[j], ir.Conv2D | ir.Dense):
            in_shape = shapes[i]
            layers[j] = _fold_forward(bn, layers[j], in_shape)
            del layers[i], shapes[i]
            continue
        where = f"after '{prev.name}'" if prev is not None else "at the input"
        raise refuse(
            bn.name,
            "BatchNormalization",
            f"its position ({where}, with a nonlinearity or pooling on both sides)",
            "place BatchNormalization directly after a Conv2D/Dense (before its ReLU)",
        )
    return ir.AnnGraph(graph.input_shape, layers, graph.name)
