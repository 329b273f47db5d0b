"""Clock and reset for the unit benches of stream modules (i_valid/i_data in, o_ready
back): a 10 ns clock, three cycles of reset with the inputs low, then one more edge."""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


async def start_stream_bench(dut) -> None:
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.i_valid.value = 0
    dut.i_data.value = 0
    dut.o_ready.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
