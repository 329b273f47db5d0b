"""Register-level model of the Xilinx AXI DMA (PG021) in simple mode, as far as pynq's
``DMA`` driver and the accelerator use it.

Per channel: DMACR (RS, Reset), DMASR (Halted, Idle, DMAIntErr/SlvErr/DecErr, IOC_Irq,
write 1 to clear the IRQ bits), the address and LENGTH registers; writing LENGTH starts a
transfer. MM2S reads the device side of the memory and drives TLAST on the transfer's
last beat; S2MM ends a transfer at TLAST (LENGTH then reads the bytes received) and flags
DMAIntErr when a packet is longer than the transfer. Errors halt the channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import hwinfo as hw
from .memory import AxisFifo, DecodeError, SimulatedMemory

WORD = 4


@dataclass
class _Channel:
    base: int  # 0x00 for MM2S, 0x30 for S2MM
    dmacr: int = 0
    halted: bool = True
    idle: bool = False
    errors: int = 0
    irq: int = 0
    address: int = 0
    length: int = 0
    active: bool = False
    position: int = 0
    transfers: list[tuple[int, int]] = field(default_factory=list)  # (address, length) log

    def status(self) -> int:
        value = self.errors | self.irq
        if self.halted:
            value |= hw.DMASR_HALTED
        if self.idle:
            value |= hw.DMASR_IDLE
        return value

    def fail(self, error: int) -> None:
        self.errors |= error
        self.irq |= hw.DMASR_ERR_IRQ
        self.active = False
        self.halted = True
        self.dmacr &= ~hw.DMACR_RS

    def complete(self) -> None:
        self.active = False
        self.idle = True
        self.irq |= hw.DMASR_IOC_IRQ


class SimulatedAxiDma:
    """The DMA between the simulated memory and the core's streams."""

    def __init__(self, memory: SimulatedMemory) -> None:
        self.memory = memory
        self.mm2s = _Channel(0x00)
        self.s2mm = _Channel(0x30)

    def _channel(self, offset: int) -> tuple[_Channel, int]:
        channel = self.s2mm if offset >= 0x30 else self.mm2s
        return channel, offset - channel.base

    def read(self, offset: int) -> int:
        channel, reg = self._channel(offset)
        if reg == hw.MM2S_DMACR:
            return channel.dmacr
        if reg == hw.MM2S_DMASR:
            return channel.status()
        if reg == hw.MM2S_SA:
            return channel.address & 0xFFFFFFFF
        if reg == hw.MM2S_SA_MSB:
            return channel.address >> 32
        if reg == hw.MM2S_LENGTH:
            return channel.length
        return 0

    def write(self, offset: int, value: int) -> None:
        channel, reg = self._channel(offset)
        if reg == hw.MM2S_DMACR:
            if value & hw.DMACR_RESET:
                self.mm2s, self.s2mm = _Channel(0x00), _Channel(0x30)
                return
            channel.dmacr = value & ~hw.DMACR_RESET
            if value & hw.DMACR_RS:
                channel.halted = bool(channel.errors)
            else:
                channel.halted, channel.active = True, False
        elif reg == hw.MM2S_DMASR:
            channel.irq &= ~(value & (hw.DMASR_IOC_IRQ | hw.DMASR_ERR_IRQ))
        elif reg == hw.MM2S_SA:
            channel.address = (channel.address & ~0xFFFFFFFF) | value
        elif reg == hw.MM2S_SA_MSB:
            channel.address = (channel.address & 0xFFFFFFFF) | (value << 32)
        elif reg == hw.MM2S_LENGTH:
            self._start(channel, value)

    def _start(self, channel: _Channel, length: int) -> None:
        if channel.halted or channel.active:
            return  # PG021: LENGTH is only taken by a running, idle channel
        channel.length, channel.position = length, 0
        channel.idle = False
        channel.transfers.append((channel.address, length))
        if length == 0:
            channel.fail(hw.DMASR_INT_ERR)
            return
        try:
            self.memory.check(channel.address, length)
        except DecodeError:
            channel.fail(hw.DMASR_DEC_ERR)
            return
        channel.active = True

    def step(self, in_r: AxisFifo, out_r: AxisFifo) -> bool:
        """Move data memory -> in_r and out_r -> memory; True if anything moved."""
        return self._mm2s(in_r) | self._s2mm(out_r)

    def _mm2s(self, in_r: AxisFifo) -> bool:
        channel, moved = self.mm2s, False
        while channel.active and not in_r.full:
            chunk = min(WORD, channel.length - channel.position)
            data = self.memory.read(channel.address + channel.position, chunk)
            channel.position += chunk
            in_r.push(int.from_bytes(data, "little"), channel.position == channel.length)
            moved = True
            if channel.position == channel.length:
                channel.complete()
        return moved

    def _s2mm(self, out_r: AxisFifo) -> bool:
        channel, moved = self.s2mm, False
        while channel.active and len(out_r):
            data, last = out_r.pop()
            moved = True
            if channel.position + WORD > channel.length:
                channel.fail(hw.DMASR_INT_ERR)  # packet longer than the transfer
                break
            self.memory.write(channel.address + channel.position, data.to_bytes(WORD, "little"))
            channel.position += WORD
            if last:
                channel.length = channel.position
                channel.complete()
        return moved
