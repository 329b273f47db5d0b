"""The RTL core's view of a network: one *stage* per neuron layer, with its optional gate.

A stage is what ``hw/rtl/sf_stage.sv`` implements: a synapse array that turns input events
into currents, a neuron unit that integrates and fires, an optional max-pool gate on its
spikes, and a serializer that hands the surviving spikes to the next stage as events.
A dense layer is the 1x1 convolution of a 1x1xN input (its events are flattened in
row-major (h, w, c) order, as Keras' Flatten does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..ir import Network, NeuronLayer, PoolGate


class RtlError(UserError):
    """A network or option the RTL core cannot be built for."""


Shape3 = tuple[int, int, int]


@dataclass(frozen=True)
class Stage:
    """One neuron layer (plus the gate after it) as the core computes it."""

    index: int
    layer: NeuronLayer
    gate: PoolGate | None
    analog: bool  # the first layer with analog input: current computed once per image
    source_shape: Shape3  # coordinates of the events this stage receives
    in_shape: Shape3  # the synapse array's input (1, 1, nin for dense)
    out_shape: Shape3  # the neurons (1, 1, nout for dense)
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int]  # top, left (bottom/right padding only bounds the output size)
    final: bool

    @property
    def dense(self) -> bool:
        return self.layer.kind == "dense"

    @property
    def event_shape(self) -> Shape3:
        """The coordinates of the spikes this stage emits (after its gate, if any)."""
        if self.gate is not None:
            return _shape3(self.gate.out_shape)
        return self.out_shape

    @property
    def weights(self) -> np.ndarray:
        """Weights as (kh, kw, cin, cout), dense included."""
        w = self.layer.weights
        return w.reshape(1, 1, *w.shape) if self.dense else w


def _shape3(shape: tuple[int, ...]) -> Shape3:
    if len(shape) == 1:
        return (1, 1, int(shape[0]))
    h, w, c = (int(v) for v in shape)
    return (h, w, c)


def build_stages(net: Network) -> list[Stage]:
    """Split ``net`` into stages, refusing what the core does not implement."""
    if not net.is_integer:
        raise RtlError(f"network '{net.name}' is the float SNN; build the RTL from snn.json")
    layers = net.layers
    if not layers or not isinstance(layers[0], NeuronLayer):
        raise RtlError("the first layer must be a neuron layer (docs/spec.md)")
    last = layers[-1]
    if not isinstance(last, NeuronLayer) or last.kind != "dense":
        raise RtlError("the last layer must be a dense neuron layer (the classes)")
    groups: list[tuple[NeuronLayer, PoolGate | None]] = []
    for layer in layers:
        if isinstance(layer, NeuronLayer):
            groups.append((layer, None))
            continue
        owner, gate = groups[-1]
        if gate is not None:
            raise RtlError(
                f"gate '{layer.name}' follows gate '{gate.name}': the core gates the spikes of "
                "a neuron layer only; merge the two max-pools in the model"
            )
        if owner.kind != "conv":
            raise RtlError(f"gate '{layer.name}' must follow a conv layer, not '{owner.name}'")
        groups[-1] = (owner, layer)
    analog = net.config.input_mode == "analog"
    stages: list[Stage] = []
    source = _shape3(net.input_shape)
    for index, (layer, gate) in enumerate(groups):
        if layer.kind == "conv":
            kh, kw = (int(v) for v in layer.weights.shape[:2])
            in_shape, out_shape = _shape3(layer.in_shape), _shape3(layer.out_shape)
            if in_shape != source:
                raise RtlError(
                    f"layer '{layer.name}' expects input {in_shape}, its source gives {source}"
                )
            strides = (int(layer.strides[0]), int(layer.strides[1]))
            pads = (int(layer.pads[0]), int(layer.pads[2]))
        else:
            nin = int(np.prod(source))
            if layer.weights.shape[0] != nin:
                raise RtlError(
                    f"dense layer '{layer.name}' has {layer.weights.shape[0]} inputs, its source "
                    f"{source} has {nin}"
                )
            kh = kw = 1
            in_shape, out_shape = (1, 1, nin), (1, 1, layer.channels)
            strides, pads = (1, 1), (0, 0)
        stage = Stage(
            index=index,
            layer=layer,
            gate=gate,
            analog=analog and index == 0,
            source_shape=source,
            in_shape=in_shape,
            out_shape=out_shape,
            kernel=(kh, kw),
            strides=strides,
            pads=pads,
            final=index == len(groups) - 1,
        )
        stages.append(stage)
        source = stage.event_shape
    return stages
