"""A ``pynq.Device`` whose registers and DMA traffic drive the golden model.

``MMIO``, ``allocate``, ``DefaultIP`` and pynq's own ``DMA`` driver run unchanged against
it: MMIO reads and writes arrive as :meth:`SimulatedDevice.read_registers` /
:meth:`write_registers` on the core's and the DMA's address windows, buffers come from a
non-coherent simulated DDR, and after every register access the DMA and the core move
data as far as the stream FIFOs allow. :class:`SimulatedOverlay` stands in for
``pynq.Overlay`` (which needs a real bitstream): it binds drivers to the IP by VLNV
through pynq's own registry, as ``Overlay`` does.
"""

from __future__ import annotations

import pynq
import pynq.lib.dma
from pynq import overlay as pynq_overlay

from ...ir import Network
from .. import (
    hwinfo,
    ip,  # noqa: F401  (registers SpikeforgeCore for the core's VLNV)
)
from .axidma import SimulatedAxiDma
from .core import SimulatedCore
from .memory import AxisFifo, SimulatedMemory


class SimulatedDevice(pynq.Device):
    """The PL of a board running the spikeforge overlay, simulated.

    ``core_build_id`` overrides the BUILD_ID register (a bitstream from another network);
    ``stall`` makes the core never read its input (a hung core, for timeout paths);
    ``refusal_reads`` delays the core's refusal of a bad TIMESTEPS by that many register
    reads; ``max_timesteps_register`` overrides what MAX_TIMESTEPS reads (see
    :class:`~.core.SimulatedCore`).
    """

    def __init__(
        self,
        net: Network,
        board: str = hwinfo.DEFAULT_BOARD,
        *,
        core_build_id: int | None = None,
        stall: bool = False,
        refusal_reads: int = 0,
        max_timesteps_register: int | None = None,
        fifo_depth: int = 16,
    ) -> None:
        super().__init__("spikeforge-simulated")
        self.name = "spikeforge-simulated"
        self.capabilities = {"REGISTER_RW": True}
        self.board = hwinfo.board(board)
        self.memory = SimulatedMemory(self)
        self.core = SimulatedCore(
            net,
            core_build_id,
            stall,
            refusal_reads=refusal_reads,
            max_timesteps_register=max_timesteps_register,
        )
        self.dma = SimulatedAxiDma(self.memory)
        self.in_r, self.out_r = AxisFifo(fifo_depth), AxisFifo(fifo_depth)
        core_range = hwinfo.core_addr_range(len(net.neuron_layers))
        self._windows = [
            (self.board.core_address, core_range, self.core),
            (self.board.dma_address, hwinfo.DMA_ADDR_RANGE, self.dma),
        ]
        self._core_range = core_range
        self.register_accesses = 0

    # --- what pynq asks of a Device ---------------------------------------------------

    @property
    def default_memory(self) -> SimulatedMemory:
        return self.memory

    def flush(self, bo, offset, ptr, size) -> None:
        self.memory.flush(bo, offset, size)

    def invalidate(self, bo, offset, ptr, size) -> None:
        self.memory.invalidate(bo, offset, size)

    def _target(self, address: int):
        for base, size, target in self._windows:
            if base <= address < base + size:
                return target, address - base
        raise RuntimeError(
            f"AXI access to 0x{address:08X} decodes to no IP in the simulated overlay "
            f"(core at 0x{self.board.core_address:08X}, DMA at 0x{self.board.dma_address:08X})"
        )

    def read_registers(self, address: int, length: int) -> bytes:
        self.register_accesses += 1
        self.settle()
        data = b""
        for word in range(0, length, 4):
            target, offset = self._target(address + word)
            data += int(target.read(offset)).to_bytes(4, "little")
        self.settle()
        return data[:length]

    def write_registers(self, address: int, data: bytes) -> None:
        self.register_accesses += 1
        padded = data + bytes(-len(data) % 4)
        for word in range(0, len(padded), 4):
            target, offset = self._target(address + word)
            target.write(offset, int.from_bytes(padded[word : word + 4], "little"))
            self.settle()

    def settle(self) -> None:
        """Let the DMA and the core move data until nothing can move."""
        while self.dma.step(self.in_r, self.out_r) | self.core.step(self.in_r, self.out_r):
            pass

    # --- the overlay's IP, as the .hwh of hw/overlay describes it -----------------------

    def ip_descriptions(self) -> dict[str, dict]:
        """ip_dict entries for the core and the DMA (the fields pynq's drivers read)."""
        return {
            hwinfo.CORE_INSTANCE: {
                "type": hwinfo.CORE_VLNV,
                "fullpath": hwinfo.CORE_INSTANCE,
                "phys_addr": self.board.core_address,
                "addr_range": self._core_range,
                "parameters": {},
                "interrupts": {},
                "gpio": {},
                "state": None,
            },
            hwinfo.DMA_INSTANCE: {
                "type": hwinfo.DMA_VLNV,
                "fullpath": hwinfo.DMA_INSTANCE,
                "phys_addr": self.board.dma_address,
                "addr_range": hwinfo.DMA_ADDR_RANGE,
                "parameters": dict(hwinfo.DMA_PARAMETERS),
                "interrupts": {},
                "gpio": {},
                "state": None,
            },
        }


class SimulatedOverlay:
    """The part of ``pynq.Overlay`` the accelerator uses, over a :class:`SimulatedDevice`."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.device = device
        self.bitfile_name = None
        self.ip_dict = device.ip_descriptions()
        self.clock_dict = {0: {"enable": 1, "frequency": float(device.board.clock_mhz)}}
        description = pynq_overlay._complete_description(
            self.ip_dict, {}, False, {}, device, self
        )
        self._ip_map = pynq_overlay._IPMap(description)

    def is_loaded(self) -> bool:
        return True

    def __getattr__(self, key: str):
        if key.startswith("__") or "_ip_map" not in self.__dict__:
            raise AttributeError(key)
        return getattr(self._ip_map, key)
