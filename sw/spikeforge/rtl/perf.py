"""Throughput figures of the RTL core: measured cycles against the event-driven ideal."""

from __future__ import annotations

from dataclasses import dataclass

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
