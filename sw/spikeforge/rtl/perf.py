"""Throughput figures of the RTL core: measured cycles against the event-driven ideal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Network, NeuronLayer
from ..poisson import poisson_spikes
from ..simulator import step_spikes
from .hwdesc import StageHw


@dataclass
class Throughput:
    images: int
    cycles: int  # simulated clock cycles of all runs (ap_start to ap_done)
    synops: float  # synaptic operations per image (golden model)
    lanes: int  # parallel accumulate units of the core

    @property
    def cycles_per_image(self) -> float:
        return self.cycles / self.images

    @property
    def ideal_cycles(self) -> float:
        """Synaptic operations per image divided by the parallel accumulate units."""
        return self.synops / self.lanes

    @property
    def ratio(self) -> float:
        return self.cycles_per_image / self.ideal_cycles if self.ideal_cycles else float("inf")

    def images_per_second(self, fmax_mhz: float) -> float:
        return fmax_mhz * 1e6 / self.cycles_per_image

    def describe(self) -> str:
        return (
            f"{self.cycles_per_image:.0f} cycles/image; ideal {self.ideal_cycles:.0f} "
            f"({self.synops:.0f} synops / {self.lanes} accumulate units), "
            f"ratio {self.ratio:.2f}"
        )


def accumulate_lanes(stages: list[StageHw]) -> int:
    return sum(hw.lanes for hw in stages)


def input_events(net: Network, images: np.ndarray, timesteps: int) -> list[float]:
    """Per neuron layer: the events its synapse array takes per image, on average (the
    golden model's spikes into it, or the image's nonzero pixels for analog input). The
    RTL takes one event per cycle, so the largest is a lower bound on cycles per image."""
    _, spikes = step_spikes(net, images, timesteps)
    n = len(images)
    if net.config.input_mode == "analog":
        incoming = float(np.count_nonzero(images)) / n
    else:
        incoming = float(sum(poisson_spikes(images, net.config.seed, t, timesteps).sum()
                             for t in range(timesteps))) / n
    per_layer = []
    for layer, emitted in zip(net.layers, spikes, strict=True):
        if isinstance(layer, NeuronLayer):
            per_layer.append(incoming)
        incoming = float(sum(int(step.sum()) for step in emitted)) / n
    return per_layer
