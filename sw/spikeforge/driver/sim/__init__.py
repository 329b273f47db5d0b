"""The simulated device: the overlay's core and AXI DMA at register level, backed by the
golden model, so that the real driver code runs without a board (needs pynq)."""

from .device import SimulatedDevice, SimulatedOverlay

__all__ = ["SimulatedDevice", "SimulatedOverlay"]
