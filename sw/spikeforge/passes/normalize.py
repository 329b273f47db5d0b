"""Data-based normalization scales (Rueckauer et al. 2016, section 3.2).

The scale lambda of a Conv2D/Dense layer is the p-th percentile of its positive
activations over calibration images (p = 100 is max-norm). It is computed exactly, in two
streaming passes over batches, without holding every activation in memory: the first pass
histograms the float32 bit patterns (whose order is the order of positive floats), the
second collects only the values in the buckets holding the wanted ranks.
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..ann_numpy import iter_activations
from ..errors import UserError
from ..progress import progress_bar

_BUCKET_SHIFT = 12  # buckets of 2**12 neighbouring float32 bit patterns
_BUCKETS = (0x7F800000 >> _BUCKET_SHIFT) + 1  # every finite positive float32


class CalibrationError(UserError, ValueError):
    """The calibration images cannot define a layer's normalization scale."""


def _neuron_indices(graph: ir.AnnGraph) -> list[int]:
    return [i for i, layer in enumerate(graph.layers) if isinstance(layer, ir.Conv2D | ir.Dense)]


def _positive_bits(x: np.ndarray) -> np.ndarray:
    values = x[x > 0].astype(np.float32)
    return values.view(np.uint32)


def _ranks(total: int, percentile: float) -> tuple[int, int, float]:
    """Sorted positions (lower, upper) and weight of numpy's linear percentile."""
    position = percentile / 100.0 * (total - 1)
    lower = int(np.floor(position))
    return lower, min(lower + 1, total - 1), position - lower


def activation_scales(
    graph: ir.AnnGraph,
    images: np.ndarray,
    percentile: float,
    batch_size: int = 500,
    quiet: bool = True,
    names: set[str] | None = None,
) -> dict[str, float]:
    """The ``percentile`` of the positive activations on ``images`` of every Conv2D/Dense
    layer (or of those in ``names``), by layer name."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile {percentile} must be in (0, 100]")
    indices = [i for i in _neuron_indices(graph) if names is None or graph.layers[i].name in names]
    histograms = [np.zeros(_BUCKETS, dtype=np.int64) for _ in indices]
    batches = -(-len(images) // batch_size)
    with progress_bar(2 * batches, "normalization statistics", quiet, unit="batch") as bar:
        for acts in iter_activations(graph, images, batch_size):
            for hist, i in zip(histograms, indices, strict=True):
                hist += np.bincount(_positive_bits(acts[i]) >> _BUCKET_SHIFT, minlength=_BUCKETS)
            bar.update()
        wanted = []
        for hist, i in zip(histograms, indices, strict=True):
            total = int(hist.sum())
            if total == 0:
                raise CalibrationError(
                    f"layer '{graph.layers[i].name}' is never active on the "
                    f"{len(images)} calibration images, so its normalization scale is "
                    "undefined; calibrate on more images (--calibration) or use --norm none"
                )
            lower, upper, weight = _ranks(total, percentile)
            cumulative = np.cumsum(hist)
            buckets = np.searchsorted(cumulative, [lower + 1, upper + 1])
            below = int(cumulative[buckets[0] - 1]) if buckets[0] > 0 else 0
            wanted.append((buckets[0], buckets[1], lower - below, upper - below, weight))
        collected: list[list[np.ndarray]] = [[] for _ in indices]
        for acts in iter_activations(graph, images, batch_size):
            for store, i, (b_lo, b_hi, *_rest) in zip(collected, indices, wanted, strict=True):
                bits = _positive_bits(acts[i])
                keys = bits >> _BUCKET_SHIFT
                store.append(bits[(keys >= b_lo) & (keys <= b_hi)])
            bar.update()
    scales = {}
    for i, store, (_lo, _hi, r_lo, r_hi, weight) in zip(indices, collected, wanted, strict=True):
        values = np.sort(np.concatenate(store).view(np.float32).astype(np.float64))
        scales[graph.layers[i].name] = float(values[r_lo] + weight * (values[r_hi] - values[r_lo]))
    return scales
