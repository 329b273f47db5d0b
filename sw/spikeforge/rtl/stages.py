"""The RTL core's view of a network: one *stage* per lowered neuron layer, with its
optional gate.

A stage is what ``hw/rtl/sf_stage.sv`` implements: a synapse array that turns input events
into currents, a neuron unit that integrates and fires, an optional max-pool gate on its
spikes, and a serializer that hands the surviving spikes to the next stage as events.
A dense layer is the 1x1 convolution of a 1x1xN input (its events are flattened in
row-major (h, w, c) order, as Keras' Flatten does). Shapes, widths and the refusals every
backend shares come from ``spikeforge.lowering``.
"""

from __future__ import annotations

from ..errors import UserError
from ..ir import Network
from ..lowering import LoweredLayer, lower

Stage = LoweredLayer


class RtlError(UserError):
    """A network or option the RTL core cannot be built for."""


def build_stages(net: Network) -> list[Stage]:
    """The lowered layers of ``net``, refusing what the core does not implement."""
    stages = lower(net).layers
    for stage in stages:
        if len(stage.gates) > 1:
            first, second = stage.gates[:2]
            raise RtlError(
                f"gate '{second.name}' follows gate '{first.name}': the core gates the spikes "
                "of a neuron layer only; merge the two max-pools in the model"
            )
        if stage.gates and stage.dense:
            raise RtlError(
                f"gate '{stage.gates[0].name}' must follow a conv layer, not '{stage.name}'"
            )
    return stages
