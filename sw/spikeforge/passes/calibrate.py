"""Post-training calibration of the float SNN at its target T (no retraining).

Layer by layer, in order, on calibration data: the ANN's activation ``a`` of a neuron layer
is compared with what the SNN built so far represents, ``lambda * rate`` (its scale times
spikes per step at T steps), the earlier layers already calibrated, so that each layer also
absorbs the error it inherits.

* ``bias``: the mean error of each channel is added to the channel's bias, in threshold
  units per step (bias correction, Li et al. 2021, "A Free Lunch From ANN").
* ``full``: first the layer's threshold (its scale lambda) is searched over a grid of
  factors of the normalization scale, picking the one whose squared conversion error,
  after the bias correction it implies, is smallest; then that bias correction. Only
  factors that keep this layer's and the next layer's weights quantizable (at most the
  largest weight at threshold 1) are candidates, so the quantizer never refuses a network
  calibration made from one it accepted. Then, at that threshold, the layer's initial
  membrane (the same for every neuron of the layer) is chosen among the fractions
  ``V_INIT_FRACTIONS`` of the threshold, the same way (the config's rule, 0 or 1/2, is
  among them, so the predicted error never grows); the layer carries it as its own
  ``v_init`` (docs/spec.md), a fraction of each channel's threshold.

Both change only scales, biases and initial membranes, so the result is an ordinary
network of the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import ir
from ..ann_numpy import iter_activations
from ..progress import progress_bar
from ..quant import initial_membrane, largest_weight
from ..simulator import BatchRun
from .to_snn import build_float_snn

CALIBRATION_LEVELS = ("none", "bias", "full")
THRESHOLD_FACTORS = tuple(np.round(np.arange(0.4, 1.21, 0.1), 1))  # searched by ``full``
V_INIT_FRACTIONS = (0.0, 0.25, 0.5, 0.75)  # initial membranes (x theta) searched by ``full``
_ELEMENTS_PER_BATCH = 2e7  # candidates x images x neurons held at once


@dataclass
class LayerCalibration:
    """What calibration chose for one neuron layer."""

    name: str
    threshold_factor: float  # the layer's scale is the normalization scale times this
    bias_shift: np.ndarray  # per channel, added to the bias (threshold units per step)
    rms_error_before: float  # RMS of a - lambda * rate, before (factor 1, no shift) ...
    rms_error_after: float  # ... and as predicted after this layer's calibration
    v_init_fraction: float | None = None  # ``full``: the initial membrane, x theta


@dataclass
class Calibration:
    level: str
    timesteps: int
    images: int
    layers: list[LayerCalibration] = field(default_factory=list)

    def summary(self) -> dict:
        """For conversion.json and the report."""
        return {
            "level": self.level,
            "timesteps": self.timesteps,
            "images": self.images,
            "layers": [
                {
                    "name": la.name,
                    "threshold_factor": la.threshold_factor,
                    "v_init_fraction": la.v_init_fraction,
                    "mean_bias_shift": float(la.bias_shift.mean()),
                    "rms_error_before": la.rms_error_before,
                    "rms_error_after": la.rms_error_after,
                }
                for la in self.layers
            ],
        }


@dataclass
class _ErrorSums:
    """Per candidate factor and channel: sums of the error, its square and its clipped
    version (the part a bias can correct), and the number of terms."""

    n: np.ndarray
    unclipped: np.ndarray
    squared: np.ndarray
    clipped: np.ndarray

    @classmethod
    def zeros(cls, candidates: int, channels: int) -> _ErrorSums:
        shape = (candidates, channels)
        return cls(np.zeros(channels), np.zeros(shape), np.zeros(shape), np.zeros(shape))

    def add(self, target: np.ndarray, represented: np.ndarray, cap: np.ndarray) -> None:
        """``target`` (N, ..., C) ANN activations; ``represented`` (K, N, ..., C) lambda x
        rate per candidate; ``cap`` (K,) the largest value each candidate represents."""
        axes = tuple(range(1, represented.ndim - 1))
        error = np.maximum(target, 0.0)[None] - represented  # no rate is negative
        cap = cap.reshape(-1, *([1] * (represented.ndim - 1)))
        clipped = np.clip(target[None], 0.0, cap) - represented
        self.n += np.prod(target.shape[:-1])
        self.unclipped += error.sum(axis=axes, dtype=np.float64)
        self.squared += np.square(error, dtype=np.float64).sum(axis=axes)
        self.clipped += clipped.sum(axis=axes, dtype=np.float64)

    def shifts(self) -> np.ndarray:
        """(K, C) the mean correctable error per channel."""
        return self.clipped / self.n

    def errors_after_shift(self) -> np.ndarray:
        """(K,) the summed squared error once each channel's mean correctable error is added:
        sum (e - m)^2 = sum e^2 - 2 m sum e + n m^2."""
        m = self.shifts()
        return (self.squared - 2 * m * self.unclipped + self.n * m * m).sum(axis=1)

    def rms(self, total: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(total, 0.0) / self.n.sum())


def calibrate(
    graph: ir.AnnGraph,
    scales: list[float],
    config: ir.SnnConfig,
    input_format: ir.InputFormat,
    data: np.ndarray,
    level: str,
    formats: ir.Formats | None = None,
    batch_size: int = 500,
    quiet: bool = True,
) -> tuple[ir.Network, Calibration]:
    """The calibrated float SNN of a canonical ``graph`` normalized by ``scales``, and what
    calibration chose, from ``data`` (as the user keeps it, see ``ir.ann_view``) at the
    network's default T; ``formats`` (default: the default formats) bounds the weights."""
    if level not in CALIBRATION_LEVELS:
        raise ValueError(f"calibration level {level!r}: choose one of {CALIBRATION_LEVELS}")
    scales = list(scales)
    net = build_float_snn(graph, scales, config, input_format)
    result = Calibration(level, config.timesteps, len(data))
    if level == "none":
        return net, result
    factors = np.array(THRESHOLD_FACTORS if level == "full" else (1.0,))
    graph_index = [i for i, la in enumerate(graph.layers) if isinstance(la, ir.Conv2D | ir.Dense)]
    shifts = [np.zeros(layer.channels) for layer in net.neuron_layers]
    rule = 0.5 if config.v_init == "half" else 0.0
    fractions: list[float | None] = [None] * len(net.neuron_layers)
    passes = len(net.neuron_layers) * (2 if level == "full" else 1)
    with progress_bar(passes * len(data), "calibration", quiet, unit="img") as bar:
        for k, layer in enumerate(net.neuron_layers):
            starts = np.full(len(factors), rule)
            sums = _layer_errors(
                net, k, graph, graph_index[k], data, factors, starts, batch_size, bar
            )
            after = sums.errors_after_shift()
            quantizable = _quantizable(net, k, factors, formats or ir.Formats())
            best = int(np.argmin(np.where(quantizable, after, np.inf)))
            one = int(np.argmin(np.abs(factors - 1.0)))
            before = float(sums.rms(sums.squared[one].sum()))
            factor = float(factors[best])
            if level == "full":  # the initial membrane at the chosen threshold
                starts = np.array(V_INIT_FRACTIONS)
                chosen = np.full(len(starts), factor)
                sums = _layer_errors(
                    net, k, graph, graph_index[k], data, chosen, starts, batch_size, bar
                )
                after = sums.errors_after_shift()
                best = int(np.argmin(after))
                fractions[k] = float(starts[best])
            scales[k] *= factor
            shifts[k] = sums.shifts()[best] / scales[k]
            result.layers.append(
                LayerCalibration(
                    layer.name,
                    factor,
                    shifts[k],
                    before,
                    float(sums.rms(after[best])),
                    fractions[k],
                )
            )
            net = _shifted_net(graph, scales, shifts, fractions, config, input_format)
    return net, result


def _quantizable(
    net: ir.Network, k: int, factors: np.ndarray, formats: ir.Formats
) -> np.ndarray:
    """Per factor: whether neuron layer ``k``'s weights (divided by it) and the next layer's
    (multiplied by it) stay within the largest weight at threshold 1."""
    layers = net.neuron_layers
    limit = largest_weight(formats)
    fits = np.abs(layers[k].weights).max() / factors <= limit
    if k + 1 < len(layers):
        fits &= np.abs(layers[k + 1].weights).max() * factors <= limit
    one = np.isclose(factors, 1.0)
    return fits | one  # the uncalibrated scale stays a candidate: quantize judges it as before


def conversion_errors(
    graph: ir.AnnGraph, net: ir.Network, data: np.ndarray, batch_size: int = 500
) -> list[float]:
    """Per neuron layer of the float SNN ``net`` (built from ``graph``), the RMS of
    ``a - lambda * rate`` at the network's T on ``data``."""
    graph_index = [i for i, la in enumerate(graph.layers) if isinstance(la, ir.Conv2D | ir.Dense)]
    one = np.array([1.0])
    errors = []
    for k, layer in enumerate(net.neuron_layers):
        start = (initial_membrane(layer, net.config) / layer.threshold).reshape(1, -1)
        sums = _layer_errors(net, k, graph, graph_index[k], data, one, start, batch_size, None)
        errors.append(float(sums.rms(sums.squared[0].sum())))
    return errors


def _shifted_net(
    graph: ir.AnnGraph,
    scales: list[float],
    shifts: list[np.ndarray],
    fractions: list[float | None],
    config: ir.SnnConfig,
    input_format: ir.InputFormat,
) -> ir.Network:
    net = build_float_snn(graph, scales, config, input_format)
    for layer, shift, fraction in zip(net.neuron_layers, shifts, fractions, strict=True):
        layer.bias = layer.bias + shift
        if fraction is not None:
            layer.v_init = layer.threshold * fraction
    return net


def _layer_errors(
    net: ir.Network,
    k: int,
    graph: ir.AnnGraph,
    graph_layer: int,
    data: np.ndarray,
    factors: np.ndarray,
    starts: np.ndarray,
    batch_size: int,
    bar,
) -> _ErrorSums:
    """The conversion error sums of neuron layer ``k`` for each candidate: a threshold
    factor and an initial membrane in thresholds (``starts``: (K,), or (K, C) per channel),
    the layers before it as they are in ``net``."""
    layer = net.neuron_layers[k]
    stop = net.layers.index(layer)
    steps = net.config.timesteps
    batch = int(max(1, min(batch_size, _ELEMENTS_PER_BATCH // (len(factors) * layer.neurons))))
    sums = _ErrorSums.zeros(len(factors), layer.channels)
    thresholds = factors.reshape(-1, *([1] * (len(layer.out_shape) + 1)))
    starts = np.asarray(starts, dtype=np.float64).reshape(len(factors), -1)
    start = thresholds * starts.reshape(len(factors), *([1] * len(layer.out_shape)), -1)
    for begin in range(0, len(data), batch):
        chunk = data[begin : begin + batch]
        target = next(iter_activations(graph, chunk, len(chunk)))[graph_layer]
        run = BatchRun(net, net.input_format.encode(chunk), steps)
        v = np.broadcast_to(start, (len(factors), len(chunk), *layer.out_shape)).astype(np.float32)
        counts = np.zeros(v.shape, dtype=np.int16 if steps < 2**15 else np.int32)
        for t in range(steps):
            x = run.step(t, stop)
            if k == 0 and run.analog_current is not None:
                v += run.analog_current
            else:
                v += run.states[k].current(x)
            fired = v >= thresholds
            if net.config.reset == "subtract":
                np.subtract(v, thresholds, out=v, where=fired)
            else:
                v[fired] = 0.0
            counts += fired
        scale = layer.scale * factors
        represented = counts * (scale / steps).reshape(thresholds.shape).astype(np.float32)
        sums.add(target.astype(np.float32), represented, scale)
        if bar is not None:
            bar.update(len(chunk))
    return sums
