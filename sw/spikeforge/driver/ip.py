"""The PYNQ driver of the spikeforge core: a ``DefaultIP`` bound to the core's VLNV.

``pynq.Overlay`` instantiates it for every IP of type :data:`hwinfo.CORE_VLNV` once this
module is imported. Registers are accessed by name from ``contract.register_map`` (the
one definition of the map), never by hand-typed offsets.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pynq import DefaultIP

from .. import contract
from ..ir import Network
from . import status
from .hwinfo import CORE_VLNV

_FIXED = [*contract.CONTROL_REGISTERS, *contract.CORE_REGISTERS]


class SpikeforgeCore(DefaultIP):
    """Register-level access to one spikeforge core (``s_axi_control``)."""

    bindto: ClassVar[list[str]] = [CORE_VLNV]

    def __init__(self, description: dict) -> None:
        super().__init__(description=description)
        self._by_name = {reg.name: reg for reg in _FIXED}
        self.neuron_layers: int | None = None

    def attach(self, net: Network) -> None:
        """Add the network's per-layer registers (``SAT_i``) to the map."""
        self._by_name = {reg.name: reg for reg in contract.register_map(net)}
        self.neuron_layers = len(net.neuron_layers)

    @property
    def registers(self) -> list[contract.Register]:
        return list(self._by_name.values())

    def _register(self, name: str) -> contract.Register:
        try:
            return self._by_name[name]
        except KeyError:
            hint = " (call attach(net) first for SAT_i)" if name.startswith("SAT_") else ""
            raise KeyError(
                f"the core has no register {name!r}{hint}; registers: {', '.join(self._by_name)}"
            ) from None

    def read_register(self, name: str) -> int:
        return int(self.mmio.read(self._register(name).offset))

    def write_register(self, name: str, value: int) -> None:
        reg = self._register(name)
        if reg.access != "rw":
            raise PermissionError(f"register {name} is read-only")
        if not 0 <= int(value) < 2**32:
            raise ValueError(f"{name}={value} does not fit a 32-bit register")
        self.mmio.write(reg.offset, int(value))

    # --- the registers as properties -------------------------------------------------

    @property
    def build_id(self) -> int:
        return self.read_register("BUILD_ID")

    @property
    def max_timesteps(self) -> int:
        return self.read_register("MAX_TIMESTEPS")

    @property
    def cycles(self) -> int:
        return self.read_register("CYCLES")

    @property
    def status(self) -> int:
        return self.read_register("STATUS")

    def saturation(self) -> np.ndarray:
        """SAT_0 .. SAT_{L-1}: membrane clamp events of the last run, per neuron layer."""
        if self.neuron_layers is None:
            raise RuntimeError("call attach(net) before reading the saturation counters")
        return np.array(
            [self.read_register(f"SAT_{i}") for i in range(self.neuron_layers)], dtype=np.int64
        )

    # --- block-level handshake (ap_ctrl_hs) ---------------------------------------------

    def configure(self, timesteps: int, n_images: int) -> None:
        self.write_register("TIMESTEPS", timesteps)
        self.write_register("N_IMAGES", n_images)

    def start(self) -> None:
        """Set ap_start (write-1-to-set)."""
        self.write_register("CTRL", status.AP_START)

    def control(self) -> int:
        """Read CTRL. Reading clears ap_done and ap_ready (clear on read)."""
        return self.read_register("CTRL")

    def describe(self) -> str:
        """Every fixed register, decoded where it has flags (reading CTRL clears ap_done)."""
        parts = [f"CTRL={status.describe_ctrl(self.control())}"]
        parts.append(f"STATUS={status.describe_core_status(self.status)}")
        for name in ("TIMESTEPS", "N_IMAGES", "CYCLES", "MAX_TIMESTEPS"):
            parts.append(f"{name}={self.read_register(name)}")
        parts.append(f"BUILD_ID=0x{self.build_id:08X}")
        return ", ".join(parts)
