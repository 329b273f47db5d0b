"""The simulated DDR and AXI4-Stream FIFOs between the DMA and the core.

Memory is modelled as a Zynq HP port sees it: not coherent with the CPU. Every buffer has
a host copy (the ``PynqBuffer`` the driver writes and reads) and a device copy (what the
DMA reads and writes); ``flush`` copies host to device, ``invalidate`` device to host.
A driver that forgets either sees stale data here as it would on the board.
``freebuffer()`` returns a buffer: the DMA then gets DMADecErr on it, and a flush or
invalidate of it raises, where a board would fault on the unmapped memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from pynq.buffer import PynqBuffer

DDR_BASE = 0x1000_0000
PAGE = 4096


class DecodeError(Exception):
    """An address range that is not inside one allocated buffer."""


@dataclass
class _Region:
    bo: int
    address: int
    host: np.ndarray  # uint8, backs the PynqBuffer
    device: np.ndarray  # uint8, what the DMA sees
    freed: bool = False


class SimulatedMemory:
    """``pynq.allocate`` target: contiguous, page-aligned, non-coherent buffers."""

    def __init__(self, device) -> None:
        self.device = device
        self._regions: list[_Region] = []
        self._next = DDR_BASE
        self.allocations = 0  # buffers ever allocated (tests check reuse)
        self.frees = 0  # buffers returned by freebuffer()

    def allocate(self, shape, dtype, **kwargs) -> PynqBuffer:
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        host = np.zeros(max(nbytes, 1), dtype=np.uint8)
        region = _Region(len(self._regions) + 1, self._next, host, np.zeros_like(host))
        self._regions.append(region)
        self._next += -(-max(nbytes, 1) // PAGE) * PAGE
        self.allocations += 1
        buffer = PynqBuffer(
            shape,
            dtype,
            buffer=host[:nbytes] if nbytes else host,
            device=self.device,
            device_address=region.address,
            bo=region.bo,
            coherent=False,
        )
        # PynqBuffer.freebuffer() hands `pointer` back to `return_to` when `memory` is set,
        # then zeroes it; `freed` keeps a second call (or __del__) from its munmap branch,
        # which has nothing to unmap here
        buffer.memory, buffer.pointer, buffer.return_to = self, region.bo, self
        buffer.freed = True
        return buffer

    def return_pointer(self, bo: int) -> None:
        """``freebuffer()`` of buffer ``bo``: its memory is no longer mapped."""
        region = self._regions[bo - 1]
        if not region.freed:
            region.freed = True
            self.frees += 1

    def _region(self, bo: int, what: str) -> _Region:
        region = self._regions[bo - 1]
        if region.freed:
            raise RuntimeError(
                f"{what} of buffer {bo} at 0x{region.address:08X} after freebuffer(): the "
                "memory is unmapped (a board would fault)"
            )
        return region

    def flush(self, bo: int, offset: int, nbytes: int) -> None:
        region = self._region(bo, "flush")
        region.device[offset : offset + nbytes] = region.host[offset : offset + nbytes]

    def invalidate(self, bo: int, offset: int, nbytes: int) -> None:
        region = self._region(bo, "invalidate")
        region.host[offset : offset + nbytes] = region.device[offset : offset + nbytes]

    def _locate(self, address: int, nbytes: int) -> tuple[_Region, int]:
        for region in self._regions:
            if region.freed:
                continue
            start = address - region.address
            if start >= 0 and start + nbytes <= len(region.device):
                return region, start
        raise DecodeError(f"0x{address:08X}+{nbytes} is not inside an allocated buffer")

    def read(self, address: int, nbytes: int) -> bytes:
        region, start = self._locate(address, nbytes)
        return region.device[start : start + nbytes].tobytes()

    def write(self, address: int, data: bytes) -> None:
        region, start = self._locate(address, len(data))
        region.device[start : start + len(data)] = np.frombuffer(data, dtype=np.uint8)

    def check(self, address: int, nbytes: int) -> None:
        """Raise :class:`DecodeError` unless the range is inside one buffer."""
        self._locate(address, nbytes)


class AxisFifo:
    """An AXI4-Stream FIFO of (TDATA, TLAST) beats with backpressure."""

    def __init__(self, depth: int = 16) -> None:
        self.depth = depth
        self._beats: deque[tuple[int, bool]] = deque()

    def __len__(self) -> int:
        return len(self._beats)

    @property
    def full(self) -> bool:
        return len(self._beats) >= self.depth

    def push(self, data: int, last: bool) -> None:
        if self.full:
            raise OverflowError("push into a full AXI4-Stream FIFO (TREADY was low)")
        self._beats.append((data, last))

    def pop(self) -> tuple[int, bool]:
        return self._beats.popleft()

    def clear(self) -> None:
        self._beats.clear()
