"""Fixed-point quantization of a float SNN into the integer network (the spec).

Every output channel c gets an integer threshold theta_c, the largest for which the
channel's weights still fit the weight format: theta_c = min(floor(qmax / max|W_c|),
2**threshold_bits - 1). Weights and biases become round(W * theta_c) and round(b * theta_c)
(round half to even), so W_int / theta_c approximates W within 0.5 / theta_c: spikes are
binary, so each neuron may keep its membrane in its own unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .ir import Formats, Network, NeuronLayer, PoolGate, SnnConfig


class FormatOverflowError(UserError, ValueError):
    """A value does not fit the chosen fixed-point format."""


def signed_bits(low: int, high: int) -> int:
    """Bits of the narrowest two's complement word that holds [low, high]."""
    bits = 1
    while low < -(1 << (bits - 1)) or high > (1 << (bits - 1)) - 1:
        bits += 1
    return bits


def largest_weight(formats: Formats) -> int:
    """The largest integer weight: a normalized weight above it cannot be quantized even at
    threshold 1."""
    return (1 << (formats.weight_bits - 1)) - 1


def _thresholds(layer: NeuronLayer, formats: Formats) -> np.ndarray:
    qmax = largest_weight(formats)
    cap = (1 << formats.threshold_bits) - 1
    peak = np.abs(layer.weights).reshape(-1, layer.channels).max(axis=0)
    with np.errstate(divide="ignore"):
        theta = np.where(peak > 0, np.floor(qmax / peak), cap)
    theta = np.minimum(theta, cap).astype(np.int64)
    if (theta < 1).any():
        c = int(np.argmin(theta))
        raise FormatOverflowError(
            f"layer '{layer.name}' channel {c}: normalized weight {peak[c]:.3g} exceeds the "
            f"largest {formats.weight_bits}-bit weight ({qmax}) even at threshold 1; raise "
            "--weight-bits or normalize with a higher percentile"
        )
    return theta


def quantize_layer(layer: NeuronLayer, formats: Formats) -> NeuronLayer:
    """The integer version of one float neuron layer."""
    theta = _thresholds(layer, formats)
    weights = np.rint(layer.weights * theta).astype(np.int64)
    bias = np.rint(layer.bias * theta).astype(np.int64)
    limit = (1 << (formats.bias_bits - 1)) - 1
    worst = int(np.abs(bias).max()) if bias.size else 0
    if worst > limit:
        c = int(np.argmax(np.abs(bias)))
        need = signed_bits(-worst, worst)
        raise FormatOverflowError(
            f"layer '{layer.name}' channel {c}: bias {layer.bias[c]:.4g} x threshold "
            f"{theta[c]} = {bias[c]} needs {need} bits, more than --bias-bits "
            f"{formats.bias_bits}; convert with --bias-bits {need}"
        )
    v_init = None
    if layer.v_init is not None:  # the same fraction of the integer threshold, rounded down
        v_init = np.floor(layer.v_init / layer.threshold * theta).astype(np.int64)
    return NeuronLayer(
        name=layer.name,
        kind=layer.kind,
        in_shape=layer.in_shape,
        out_shape=layer.out_shape,
        weights=weights,
        bias=bias,
        threshold=theta,
        strides=layer.strides,
        pads=layer.pads,
        scale=layer.scale,
        v_init=v_init,
    )


def initial_membrane(layer: NeuronLayer, config: SnnConfig) -> np.ndarray:
    """(cout,) the membrane every neuron of each channel of ``layer`` starts an image with
    (docs/spec.md): the layer's own ``v_init`` if it has one, else the config's rule, 0 or
    floor(theta / 2) (theta / 2 in a float SNN). Every backend takes it from here."""
    theta = layer.threshold
    if layer.v_init is not None:
        return np.asarray(layer.v_init).astype(theta.dtype)
    if config.v_init == "half":
        return theta // 2 if theta.dtype.kind in "iu" else theta / 2
    return np.zeros_like(theta)


def quantize(net: Network, formats: Formats) -> Network:
    """The integer network of a float SNN."""
    if net.is_integer:
        raise ValueError(f"network '{net.name}' is already quantized")
    layers: list[NeuronLayer | PoolGate] = [
        quantize_layer(layer, formats) if isinstance(layer, NeuronLayer) else layer
        for layer in net.layers
    ]
    return Network(net.name, net.input_shape, layers, net.config, formats, net.input_format)


@dataclass
class LayerBounds:
    """Worst-case integer ranges of one neuron layer (for the report and the backends)."""

    current_min: int  # smallest synaptic current W.s + b in one timestep
    current_max: int
    membrane_min: int  # membrane range over max_timesteps without saturation
    membrane_max: int

    @property
    def current_bits(self) -> int:
        return signed_bits(self.current_min, self.current_max)

    @property
    def membrane_bits(self) -> int:
        return signed_bits(self.membrane_min, self.membrane_max)


def input_range(net: Network, index: int) -> tuple[int, int]:
    """The smallest and largest value one input of neuron layer ``index`` carries: an
    input element for the analog first layer, a spike (0 or 1) otherwise."""
    if net.takes_analog_input(index):
        return net.input_format.low, net.input_format.high
    return 0, 1


def synaptic_range(net: Network, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel of neuron layer ``index``, the smallest and largest synaptic sum
    ``W . s`` of one timestep (no bias): each product is extreme at an end of the input
    range."""
    layer = net.neuron_layers[index]
    low_in, high_in = input_range(net, index)
    w = layer.weights.reshape(-1, layer.channels).astype(np.int64)
    low = np.minimum(w * low_in, w * high_in).sum(axis=0)
    high = np.maximum(w * low_in, w * high_in).sum(axis=0)
    return low, high


def layer_bounds(net: Network, index: int) -> LayerBounds:
    """Worst-case ranges of neuron layer ``index`` (of ``net.neuron_layers``)."""
    layer = net.neuron_layers[index]
    low, high = synaptic_range(net, index)
    i_max = high + layer.bias
    i_min = low + layer.bias
    theta, steps = layer.threshold, net.config.max_timesteps
    start = initial_membrane(layer, net.config)
    if net.config.reset == "subtract":
        high = (
            np.maximum(start, theta - 1)
            + np.maximum(i_max, 0)
            + (steps - 1) * np.maximum(i_max - theta, 0)
        )
    else:
        high = np.maximum(start, theta - 1) + np.maximum(i_max, 0)
    low = np.minimum(start + steps * np.minimum(i_min, 0), 0)
    return LayerBounds(int(i_min.min()), int(i_max.max()), int(low.min()), int(high.max()))
