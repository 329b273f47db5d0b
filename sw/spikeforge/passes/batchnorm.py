"""Fold BatchNormalization into a neighbouring linear layer, exactly, wherever it sits.

BN(x) = a * x + c per channel, with a = gamma / sqrt(var + eps) and c = beta - a * mean.
Each BatchNorm is folded into a linear layer next to it; "next to" looks through the layers
a per-channel affine map commutes with:

* Dropout, Flatten and Reshape (the map follows the elements; a Reshape that mixes the
  channels does not commute),
* average pooling, 'valid' or 'same' (Keras averages a border window over its real cells,
  and the average of a x + c is a * average + c),
* max pooling when every a >= 0 (an increasing map keeps the maximum; a padded cell never
  wins, so padding does not matter),
* a plain ReLU when c = 0 and every a > 0 (relu(a x) = a relu(x)).

In this order of preference:

1. **backward** (Rueckauer et al. 2016, section 3.3) into the Conv2D/Dense that produces
   its input, before that layer's activation: W a, b a + c per output channel;
2. **forward** into the Conv2D/Dense that consumes its output (BN on the raw input, after
   a ReLU, after pooling or a Flatten): W' = W a per input channel, b' = b + sum W c. With
   analog input a BN on the input makes the first layer's weights per-input-channel scaled,
   which the first layer takes as any other weights. Into a zero-padded convolution this is
   exact only when c contributes nothing through the taps that read padding (c = 0, or those
   taps are zero): the border outputs see padding zeros the BN never normalized, the folded
   bias would add W c for them too, and the spec has one bias per output channel and zero
   padding (docs/spec.md), so any other case is refused with that reason and the fix;
3. into an unpadded **average pooling** it passes on either side, which becomes the
   fixed-weight convolution it is anyway (weights a / (ph pw) per channel, bias c), when the
   way on is a ReLU: the ReLU then becomes that convolution's activation.

Nothing is folded approximately. :func:`fold_batchnorm` raises the first refusal;
:func:`fold_batchnorm_report` (what ``spikeforge inspect`` runs) collects every refusal and
says where each BatchNorm went.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import ir
from ..ann_numpy import infer_shapes
from ..errors import UnsupportedLayerError, refuse

_LINEAR = (ir.Conv2D, ir.Dense)
_RESHAPES = (ir.Flatten, ir.Reshape)


def _affine(bn: ir.BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(bn.gamma, np.float64) / np.sqrt(np.asarray(bn.var, np.float64) + bn.epsilon)
    return a, np.asarray(bn.beta, np.float64) - a * np.asarray(bn.mean, np.float64)


def _relayout(vec: np.ndarray, size: int, last: int) -> np.ndarray | None:
    """A per-last-axis vector of a tensor of ``size`` elements, seen with a last axis of
    ``last`` elements instead (row-major order unchanged); None when the pattern is not
    per-last-axis there (a Reshape that mixes the channels)."""
    n = len(vec)
    if size % n or size % last:
        return None
    full = np.tile(vec, size // n).reshape(-1, last)
    return full[0].copy() if np.all(full == full[0]) else None


@dataclass
class Fold:
    """Where a BatchNorm went: ``into`` (a layer name) and ``how`` ('backward', 'forward' or
    'avgpool'), or ``refusal``/``undecided`` when it could not be folded."""

    bn: str
    into: str | None = None
    how: str = ""
    refusal: UnsupportedLayerError | None = None
    undecided: str | None = None

    def text(self) -> str:
        if self.how == "avgpool":
            return (f"folded exactly into the neighbouring average pool '{self.into}' (now a "
                    "convolution with the BatchNorm's scales and offsets)")
        if self.into is not None:
            side, what = (("before", "weights and biases") if self.how == "backward" else
                          ("after", "weights per input channel, and biases"))
            return (f"folded exactly into a neighbouring Conv2D/Dense: '{self.into}' {side} "
                    f"it (its {what})")
        if self.refusal is not None:
            return f"refused: {self.refusal}"
        return f"not decided: {self.undecided}"


@dataclass
class FoldReport:
    graph: ir.AnnGraph
    folds: list[Fold] = field(default_factory=list)

    @property
    def refusals(self) -> list[UnsupportedLayerError]:
        return [f.refusal for f in self.folds if f.refusal is not None]


# --- moving the affine map past a layer ------------------------------------------------


def _passes(layer: ir.AnnLayer, a: np.ndarray, c: np.ndarray) -> bool:
    """Whether x -> a x + c (per channel) commutes with ``layer`` (shape changes aside)."""
    if isinstance(layer, ir.Dropout | ir.AvgPool | ir.Flatten | ir.Reshape):
        return True
    if isinstance(layer, ir.MaxPool):
        return bool(np.all(a >= 0))
    if isinstance(layer, ir.ReLU):
        return layer.spec == ir.Relu() and bool(np.all(c == 0) and np.all(a > 0))
    return False


def _padded_taps(conv: ir.Conv2D, in_shape: ir.Shape) -> np.ndarray:
    """(kh, kw) mask of the kernel taps that read a padding zero at some output position."""
    kh, kw = conv.kernel.shape[:2]
    top, bottom, left, right = conv.pads

    def axis(size: int, k: int, stride: int, before: int, after: int) -> np.ndarray:
        out = ir.conv_output_size(size, k, stride, before, after)
        rows = np.arange(out)[:, None] * stride - before + np.arange(k)[None, :]
        return np.any((rows < 0) | (rows >= size), axis=0)

    rows = axis(in_shape[0], kh, conv.strides[0], top, bottom)
    cols = axis(in_shape[1], kw, conv.strides[1], left, right)
    return rows[:, None] | cols[None, :]


def _exact_into_padded(conv: ir.Conv2D, in_shape: ir.Shape, c: np.ndarray) -> bool:
    """Whether folding the offset ``c`` into ``conv`` is exact despite its zero padding:
    every tap that reads padding has zero weight from every channel whose offset is not 0."""
    if not any(conv.pads) or not np.any(c != 0):
        return True
    taps = _padded_taps(conv, in_shape)
    return not np.any(conv.kernel[taps][:, c != 0, :])


def _fold_backward(layer: ir.Conv2D | ir.Dense, a: np.ndarray, c: np.ndarray):
    if isinstance(layer, ir.Conv2D):
        return ir.Conv2D(layer.name, layer.kernel * a, layer.bias * a + c, layer.strides,
                         layer.pads, layer.relu)
    return ir.Dense(layer.name, layer.weights * a, layer.bias * a + c, layer.relu)


def _fold_forward(layer: ir.Conv2D | ir.Dense, a: np.ndarray, c: np.ndarray):
    if isinstance(layer, ir.Conv2D):
        kernel = layer.kernel * a[:, None]
        bias = layer.bias + np.einsum("hwio,i->o", layer.kernel, c)
        return ir.Conv2D(layer.name, kernel, bias, layer.strides, layer.pads, layer.relu)
    return ir.Dense(layer.name, layer.weights * a[:, None], layer.bias + c @ layer.weights,
                    layer.relu)


def _avgpool_conv(pool: ir.AvgPool, a: np.ndarray, c: np.ndarray) -> ir.Conv2D:
    """``a * avgpool(x) + c`` as the fixed-weight convolution (no activation)."""
    channels = len(a)
    kernel = np.zeros((*pool.pool, channels, channels))
    kernel[:, :, np.arange(channels), np.arange(channels)] = a / np.prod(pool.pool)
    return ir.Conv2D(pool.name, kernel, c.copy(), pool.strides, pool.pads)


# --- one BatchNorm ---------------------------------------------------------------------


def _name(layer: ir.AnnLayer | None) -> str:
    return "the output" if layer is None else f"'{layer.name}'"


def _where(layers: list[ir.AnnLayer], i: int) -> str:
    return f"after '{layers[i - 1].name}'" if i > 0 else "on the model input"


@dataclass
class _Walk:
    """How far the affine map of a BatchNorm travels on one side of it."""

    stop: int  # the first layer it cannot pass (-1 or len(layers): the ends of the graph)
    a: np.ndarray  # the map there, per last axis
    c: np.ndarray
    avgpool: tuple[int, np.ndarray, np.ndarray] | None = None  # an unpadded average pool
    mixes: bool = False  # stopped at a Reshape that mixes the channels


def _walk(layers, shapes, in_shapes, i: int, a: np.ndarray, c: np.ndarray, step: int) -> _Walk:
    avgpool = None
    j = i + step
    while 0 <= j < len(layers) and _passes(layers[j], a, c):
        layer = layers[j]
        if isinstance(layer, ir.AvgPool) and not any(layer.pads):
            avgpool = (j, a, c)
        if isinstance(layer, _RESHAPES):
            size = int(np.prod(shapes[j]))
            last = (shapes[j] if step > 0 else in_shapes[j])[-1]
            a2, c2 = _relayout(a, size, last), _relayout(c, size, last)
            if a2 is None or c2 is None:
                return _Walk(j, a, c, avgpool, mixes=True)
            a, c = a2, c2
        j += step
    return _Walk(j, a, c, avgpool)


def _refusal(bn: ir.BatchNorm, layers, in_shapes, i: int, fwd: _Walk, a: np.ndarray
             ) -> UnsupportedLayerError:
    where = _where(layers, i)
    blocker = layers[fwd.stop] if fwd.stop < len(layers) else None
    if isinstance(blocker, ir.Conv2D):
        return refuse(
            bn.name, "BatchNormalization",
            f"folding into the zero-padded convolution '{blocker.name}' after it ({where})",
            f"the border outputs of '{blocker.name}' read padding zeros the BatchNormalization "
            "never normalized, so its offset beta - gamma * mean / sqrt(var + eps) cannot be "
            "folded into one bias per output channel exactly: "
            f"use padding='valid' in '{blocker.name}', or put the BatchNormalization after a "
            "convolution (Conv2D without activation, BatchNormalization, ReLU), where it folds "
            "exactly",
        )
    if isinstance(blocker, ir.MaxPool):
        negative = [int(k) for k in np.flatnonzero(fwd.a < 0)]
        return refuse(
            bn.name, "BatchNormalization",
            f"its position ({where}, before the max-pool '{blocker.name}', with a negative "
            f"scale gamma / sqrt(var + eps) in channel(s) {negative[:8]}: a decreasing map does "
            "not commute with the maximum)",
            f"put the BatchNormalization after '{blocker.name}', or directly after a "
            "Conv2D/Dense (before its ReLU)",
        )
    if fwd.mixes:
        return refuse(
            bn.name, "BatchNormalization",
            f"its position ({where}, before the Reshape '{blocker.name}', which mixes its "
            "channels so that no Conv2D/Dense after it sees one scale per input channel)",
            "put the BatchNormalization directly after a Conv2D/Dense (before its ReLU)",
        )
    return refuse(
        bn.name, "BatchNormalization",
        f"its position ({where}, before {_name(blocker)}, with no Conv2D/Dense next to it to "
        "fold into)",
        "place the BatchNormalization directly after a Conv2D/Dense (before its ReLU) or "
        "directly before one",
    )


def _fold_one(layers: list[ir.AnnLayer], shapes: list[ir.Shape], in_shapes: list[ir.Shape],
              i: int, open_ends: tuple[bool, bool]) -> Fold:
    """Fold the BatchNorm at ``i`` into ``layers`` in place (it is removed), or say why not."""
    bn = layers[i]
    assert isinstance(bn, ir.BatchNorm)
    a, c = _affine(bn)
    back = _walk(layers, shapes, in_shapes, i, a, c, -1)
    fwd = _walk(layers, shapes, in_shapes, i, a, c, +1)
    host = layers[back.stop] if back.stop >= 0 else None
    if isinstance(host, _LINEAR) and host.relu is None and not back.mixes:
        layers[back.stop] = _fold_backward(host, back.a, back.c)
        del layers[i]
        return Fold(bn.name, host.name, "backward")
    host = layers[fwd.stop] if fwd.stop < len(layers) else None
    if isinstance(host, _LINEAR) and not fwd.mixes and (
        not isinstance(host, ir.Conv2D) or _exact_into_padded(host, in_shapes[fwd.stop], fwd.c)
    ):
        layers[fwd.stop] = _fold_forward(host, fwd.a, fwd.c)
        del layers[i]
        return Fold(bn.name, host.name, "forward")
    ahead = layers[fwd.stop] if fwd.stop < len(layers) else None
    for side in (fwd, back):
        if side.avgpool is not None and isinstance(ahead, ir.ReLU):
            index, pool_a, pool_c = side.avgpool
            pool = layers[index]
            layers[index] = _avgpool_conv(pool, pool_a, pool_c)
            del layers[i]
            return Fold(bn.name, pool.name, "avgpool")
    if (fwd.stop >= len(layers) and open_ends[1]) or (back.stop < 0 and open_ends[0]):
        return Fold(bn.name, undecided="a layer next to it is refused, so where it folds "
                    "depends on what replaces that layer")
    return Fold(bn.name, refusal=_refusal(bn, layers, in_shapes, i, fwd, a))


def fold_batchnorm_report(graph: ir.AnnGraph, open_ends: tuple[bool, bool] = (False, False)
                          ) -> FoldReport:
    """Fold every BatchNorm that folds exactly; the graph keeps the others, and the report
    says where each went or why it cannot go anywhere. ``open_ends`` (start, end): the graph
    is a piece of a model cut at refused layers, whose BatchNorms next to a cut are undecided.
    """
    layers = list(graph.layers)
    report = FoldReport(graph)
    i = 0
    while i < len(layers):
        if not isinstance(layers[i], ir.BatchNorm):
            i += 1
            continue
        partial = ir.AnnGraph(graph.input_shape, layers, graph.name)
        shapes = infer_shapes(partial)
        in_shapes = [tuple(graph.input_shape), *shapes[:-1]]
        fold = _fold_one(layers, shapes, in_shapes, i, open_ends)
        report.folds.append(fold)
        if fold.into is None:
            i += 1  # left in place
        # a fold removes layers[i]; what was at i + 1 is now at i
    report.graph = ir.AnnGraph(graph.input_shape, layers, graph.name)
    return report


def fold_batchnorm(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Remove every BatchNorm by folding it exactly into a neighbouring linear layer; raise
    the first refusal (naming the BatchNorm, the setting and the fix)."""
    report = fold_batchnorm_report(graph)
    if report.refusals:
        raise report.refusals[0]
    return report.graph
