"""Fold BatchNormalization into an adjacent Conv2D or Dense layer, exactly.

BN(x) = a * x + c per channel, with a = gamma / sqrt(var + eps) and c = beta - a * mean.
Folded backward into the layer before it (Rueckauer et al. 2016, section 3.3) when that
layer feeds it directly, otherwise forward into the next Conv2D/Dense, moved past the
layers it commutes with: Flatten and Dropout, 'valid' average pooling (an average of
a * x + c is a * average + c), and max pooling when every a >= 0 (a per-channel increasing
map keeps the maximum). Folding forward into a zero-padded convolution is exact only when
c = 0: otherwise the padding zeros would need the offset c, which one bias per channel
cannot give, so it is refused with the reason. Every fold is exact.
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
        if any(layer.pads) and np.any(c != 0):
            raise refuse(
                bn.name,
                "BatchNormalization",
                f"folding into the zero-padded convolution '{layer.name}' that follows it "
                "(its padding zeros would need the BN offset beta - gamma * mean / "
                "sqrt(var + eps), which one bias per channel cannot express exactly)",
                "put the BatchNormalization between a Conv2D/Dense and its ReLU "
                "(Conv2D without activation, BatchNormalization, ReLU), or use padding='valid' "
                "in the convolution after it",
            )
        kernel = layer.kernel * a[:, None]
        bias = layer.bias + np.einsum("hwio,i->o", layer.kernel, c)
        return ir.Conv2D(layer.name, kernel, bias, layer.strides, layer.pads, layer.relu)
    channels = len(a)
    reps = int(np.prod(in_shape)) // channels
    a_flat, c_flat = np.tile(a, reps), np.tile(c, reps)  # (h, w, c) row-major flatten
    return ir.Dense(
        layer.name,
        layer.weights * a_flat[:, None],
        layer.bias + c_flat @ layer.weights,
        layer.relu,
    )


def _commutes(layer: ir.AnnLayer, scale: np.ndarray) -> bool:
    """Whether a per-channel map x -> scale * x + offset can move past ``layer``."""
    if isinstance(layer, ir.Flatten | ir.Dropout):
        return True
    if isinstance(layer, ir.AvgPool):
        return not any(layer.pads)
    if isinstance(layer, ir.MaxPool):
        return bool(np.all(scale >= 0))
    return False


def _blocked(layer: ir.AnnLayer | None, prev: ir.AnnLayer | None) -> str:
    """Why ``bn`` cannot move forward to ``layer`` (the first layer it does not pass)."""
    where = f"after '{prev.name}'" if prev is not None else "at the input"
    if isinstance(layer, ir.MaxPool):
        return (f"its position ({where}, before the max-pool '{layer.name}', with a negative "
                "scale gamma / sqrt(var + eps) in some channel, which does not commute with "
                "the maximum)")
    if isinstance(layer, ir.AvgPool):
        return (f"its position ({where}, before the zero-padded average pool '{layer.name}')")
    after = f"'{layer.name}'" if layer is not None else "the output"
    return f"its position ({where}, before {after}, with no Conv2D/Dense to fold into)"


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
        if isinstance(prev, ir.Conv2D | ir.Dense) and prev.relu is None:
            layers[i - 1] = _fold_backward(prev, bn)
            del layers[i], shapes[i]
            continue
        scale, _ = _affine(bn)
        j = i + 1
        while j < len(layers) and _commutes(layers[j], scale):
            j += 1
        if j < len(layers) and isinstance(layers[j], ir.Conv2D | ir.Dense):
            layers[j] = _fold_forward(bn, layers[j], shapes[j - 1])
            del layers[i], shapes[i]
            continue
        raise refuse(
            bn.name,
            "BatchNormalization",
            _blocked(layers[j] if j < len(layers) else None, prev),
            "place BatchNormalization directly after a Conv2D/Dense (before its ReLU)",
        )
    return ir.AnnGraph(graph.input_shape, layers, graph.name)
