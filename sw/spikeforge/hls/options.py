"""What an HLS build is made with besides the network: target, clock, unroll factors."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PART = "xc7z020clg400-1"
DEFAULT_CLOCK_NS = 10.0
DEFAULT_MAX_LANES = 16
DEFAULT_STREAM_DEPTH = 64
DEFAULT_UTILIZATION = 0.9


@dataclass(frozen=True)
class HlsOptions:
    """Options of a generated HLS project.

    ``unroll`` maps a neuron layer's name to its number of parallel neuron lanes (output
    channels updated side by side); layers not named get the largest divisor of their
    channel count that is at most ``max_lanes``. ``utilization`` is the fraction of the
    part's BRAM, LUTs and DSPs the core may use (the rest is left to the DMA and the
    interconnect of the overlay).
    """

    part: str = DEFAULT_PART
    clock_ns: float = DEFAULT_CLOCK_NS
    unroll: dict[str, int] = field(default_factory=dict)
    max_lanes: int = DEFAULT_MAX_LANES
    stream_depth: int = DEFAULT_STREAM_DEPTH
    utilization: float = DEFAULT_UTILIZATION
    check_resources: bool = True

    def __post_init__(self) -> None:
        if not self.clock_ns > 0:
            raise ValueError(f"clock period {self.clock_ns} ns must be positive")
        if self.max_lanes < 1:
            raise ValueError(f"max_lanes={self.max_lanes} must be at least 1")
        if self.stream_depth < 2:
            raise ValueError(f"stream_depth={self.stream_depth} must be at least 2")
        if not 0 < self.utilization <= 1:
            raise ValueError(f"utilization={self.utilization} must be in (0, 1]")

    @property
    def clock_mhz(self) -> float:
        return 1000.0 / self.clock_ns


def parse_unroll(items: list[str] | None) -> dict[str, int]:
    """``["conv1=4", "logits=5"]`` -> ``{"conv1": 4, "logits": 5}``."""
    unroll: dict[str, int] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value.isdigit() or int(value) < 1:
            raise ValueError(f"--unroll {item!r}: use LAYER=LANES with a positive integer")
        unroll[name] = int(value)
    return unroll
