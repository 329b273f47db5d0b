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


def _position_counts(spikes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Spikes or nonzero input elements (N, *shape) summed over the images and channels:
    (rows, columns); a flat (dense) shape counts as one position."""
    if len(shape) == 3:
        return spikes.reshape(len(spikes), *shape).sum(axis=(0, 3))
    return np.array([[spikes.sum()]])


def incoming_events(net: Network, images: np.ndarray, timesteps: int) -> list[np.ndarray]:
    """Per neuron layer: the events its synapse array takes (the golden model's spikes into
    it, or the input's nonzero elements, negative ones too, for analog input), summed over
    the images and channels, per input position (rows, columns)."""
    _, spikes = step_spikes(net, images, timesteps)
    shape = net.layers[0].in_shape
    if net.config.input_mode == "analog":
        incoming = _position_counts(images != 0, shape)
    else:
        incoming = sum(_position_counts(poisson_spikes(images, net.config.seed, t, timesteps),
                                        shape) for t in range(timesteps))
    per_layer = []
    for layer, emitted in zip(net.layers, spikes, strict=True):
        if isinstance(layer, NeuronLayer):
            per_layer.append(incoming)
        incoming = sum(_position_counts(step, layer.out_shape) for step in emitted)
    return per_layer


def input_events(net: Network, images: np.ndarray, timesteps: int) -> list[float]:
    """Per neuron layer: the events its synapse array takes per image, on average."""
    return [float(m.sum()) / len(images) for m in incoming_events(net, images, timesteps)]


def synapse_cycles(stages: list[StageHw], incoming: list[np.ndarray], images: int) -> list[float]:
    """Per stage: the cycles per image its synapse array needs for its events. The array
    takes at most one event per cycle, and each bank works through its own queue, one target
    per cycle (the rows x columns of the plan's tables that fall in that bank), so the
    larger of the events and the busiest bank's targets is a lower bound on the core's
    cycles per image."""
    cycles = []
    for hw, counts in zip(stages, incoming, strict=True):
        if hw.stage.dense:  # every event is the flattened position (0, 0)
            counts = np.array([[counts.sum()]])
        busiest = np.einsum("yx,ya,xb->ab", counts, hw.rows.targets, hw.cols.targets).max()
        cycles.append(float(max(busiest, counts.sum())) / images)
    return cycles
