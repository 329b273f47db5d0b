"""The backend-neutral lowering of an integer network: what every hardware backend builds.

Both hardware backends (``hls/plan.py`` and ``rtl/``) read this and add only their own
parallelism. It fixes, once:

* shapes in three dimensions: a feature vector (N,) is (1, 1, N), a sequence (L, C) is
  (1, L, C), an image (H, W, C) stays; the input is its elements in row-major order, read
  as the first layer's input shape; a dense layer consumes its source flattened in
  row-major (h, w, c) order;
* the input encoding of the stream (element width, signedness, analog or Poisson);
* one *lowered layer* per neuron layer with the max-pool gates that follow it, its
  source and output shapes, kernel, strides, paddings and whether it takes the analog
  input;
* the range of one timestep's synaptic sum ``W . s`` (no bias), from which each backend
  sizes its accumulators;
* the refusals every backend shares (the float SNN, a first layer that is not a neuron
  layer, an output layer that is not dense, values outside the network's formats, shapes
  that do not chain).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contract import STREAM_BITS
from .errors import UserError
from .ir import Network, NeuronLayer, PoolGate
from .netfile import value_range
from .quant import synaptic_range

Shape3 = tuple[int, int, int]


class LoweringError(UserError, ValueError):
    """A network no hardware backend can build."""


def shape3(shape: tuple[int, ...]) -> Shape3:
    """(N,) -> (1, 1, N); (L, C) -> (1, L, C); (H, W, C) unchanged."""
    dims = tuple(int(v) for v in shape)
    if not 1 <= len(dims) <= 3:
        raise LoweringError(f"shape {shape} has {len(dims)} dimensions; the cores take 1 to 3")
    padded = (1,) * (3 - len(dims)) + dims
    return (padded[0], padded[1], padded[2])


@dataclass(frozen=True)
class InputEncoding:
    """How the input reaches the core: the in_r stream's elements and their use."""

    shape: Shape3
    analog: bool  # a current into the first layer once per image; else Poisson spikes
    seed: int  # the Poisson generator's seed
    element_bits: int = 8
    signed: bool = False

    @property
    def elements(self) -> int:
        return self.shape[0] * self.shape[1] * self.shape[2]

    @property
    def elements_per_beat(self) -> int:
        return STREAM_BITS // self.element_bits

    @property
    def beats(self) -> int:
        return -(-self.elements // self.elements_per_beat)


@dataclass(frozen=True)
class LoweredLayer:
    """One neuron layer and the max-pool gates after it, in three dimensions."""

    index: int  # among the neuron layers (SAT_<index>)
    position: int  # in ``net.layers``
    layer: NeuronLayer
    gates: tuple[PoolGate, ...]
    analog: bool  # takes the analog input: its current is computed once per image
    source_shape: Shape3  # the events (or input elements) it receives
    in_shape: Shape3  # its synapses' input: (1, 1, nin) for a dense layer
    out_shape: Shape3  # its neurons: (1, 1, nout) for a dense layer
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, bottom, left, right
    current_low: int  # the smallest W . s of one timestep over all channels (no bias)
    current_high: int  # the largest
    final: bool  # the output layer (the classes)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def dense(self) -> bool:
        return self.layer.kind == "dense"

    @property
    def gate(self) -> PoolGate | None:
        """The gate after this layer, for backends that take at most one."""
        return self.gates[-1] if self.gates else None

    @property
    def event_shape(self) -> Shape3:
        """The coordinates of the spikes this layer emits (after its gates)."""
        return shape3(self.gates[-1].out_shape) if self.gates else self.out_shape

    @property
    def weights(self) -> np.ndarray:
        """Weights as (kh, kw, cin, cout), a dense layer's as (1, 1, nin, nout)."""
        w = self.layer.weights
        return w.reshape(1, 1, *w.shape) if self.dense else w


@dataclass(frozen=True)
class LoweredNetwork:
    net: Network
    input: InputEncoding
    layers: list[LoweredLayer]


def _check_formats(net: Network, layer: NeuronLayer) -> None:
    """Every stored integer fits its format (docs/spec.md section 1), or the hardware's
    narrower registers would silently wrap it."""
    assert net.formats is not None
    for role, what in (("weights", "weights"), ("bias", "biases"), ("threshold", "thresholds")):
        values = getattr(layer, role)
        low, high = value_range(role, net.formats)
        if values.size and (values.min() < low or values.max() > high):
            bits = (high - low).bit_length()
            raise LoweringError(
                f"layer '{layer.name}': {what} span {values.min()}..{values.max()}, outside the "
                f"{bits}-bit format's {low}..{high}; the network violates its own formats "
                "(convert it again)"
            )


def _group(net: Network) -> list[tuple[int, NeuronLayer, list[PoolGate]]]:
    """(position, neuron layer, the gates after it), refusing a stack no core builds."""
    if not net.is_integer:
        raise LoweringError(
            f"network '{net.name}' is the float SNN; the hardware builds the integer network "
            "(snn.json)"
        )
    layers = net.layers
    if not layers or not isinstance(layers[0], NeuronLayer):
        raise LoweringError("the first layer must be a neuron layer (docs/spec.md)")
    last = layers[-1]
    if not isinstance(last, NeuronLayer) or last.kind != "dense":
        raise LoweringError(
            f"the last layer '{last.name}' must be a dense neuron layer (the classes)"
        )
    groups: list[tuple[int, NeuronLayer, list[PoolGate]]] = []
    for position, layer in enumerate(layers):
        if isinstance(layer, NeuronLayer):
            groups.append((position, layer, []))
        else:
            groups[-1][2].append(layer)
    return groups


def lower(net: Network) -> LoweredNetwork:
    """The lowered network; LoweringError names what no backend can build."""
    groups = _group(net)
    first = groups[0][1]
    encoding = InputEncoding(
        # the elements in row-major order, as a first conv reads them (a dense layer
        # flattens whatever it gets)
        shape=shape3(first.in_shape if first.kind == "conv" else net.input_shape),
        analog=net.config.input_mode == "analog",
        seed=net.config.seed,
        element_bits=net.input_format.bits,
        signed=net.input_format.signed,
    )
    source = encoding.shape
    lowered: list[LoweredLayer] = []
    for index, (position, layer, gates) in enumerate(groups):
        _check_formats(net, layer)
        if layer.kind == "conv":
            in_shape, out_shape = shape3(layer.in_shape), shape3(layer.out_shape)
            if in_shape != source:
                raise LoweringError(
                    f"layer '{layer.name}' expects input {in_shape}, its source gives {source}"
                )
            kernel = (int(layer.weights.shape[0]), int(layer.weights.shape[1]))
            strides = (int(layer.strides[0]), int(layer.strides[1]))
            pads = tuple(int(p) for p in layer.pads)
        else:
            nin = int(np.prod(source))
            if layer.weights.shape[0] != nin:
                raise LoweringError(
                    f"dense layer '{layer.name}' has {layer.weights.shape[0]} inputs, its "
                    f"source {source} has {nin}"
                )
            in_shape, out_shape = (1, 1, nin), (1, 1, layer.channels)
            kernel, strides, pads = (1, 1), (1, 1), (0, 0, 0, 0)
        low, high = synaptic_range(net, index)
        entry = LoweredLayer(
            index=index,
            position=position,
            layer=layer,
            gates=tuple(gates),
            analog=net.takes_analog_input(index),
            source_shape=source,
            in_shape=in_shape,
            out_shape=out_shape,
            kernel=kernel,
            strides=strides,
            pads=(pads[0], pads[1], pads[2], pads[3]),
            current_low=int(low.min()),
            current_high=int(high.max()),
            final=index == len(groups) - 1,
        )
        lowered.append(entry)
        source = entry.event_shape
    return LoweredNetwork(net, encoding, lowered)
