"""A deliberately broken producer of a CREDITED sf_fifo: it pushes DEPTH + 1 items with
nobody reading, ignoring the credits. The FIFO refuses the last push (nothing is lost
inside it), but a credit-driven producer that pushes without room has lost an item, so
the assertion a_push_has_room must stop the simulation (tests/test_rtl_assertions.py
expects the run to fail naming it). Parameters from $SF_WIDTH and $SF_DEPTH."""

from __future__ import annotations

import os

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from stream_bench import start_stream_bench

DEPTH = int(os.environ["SF_DEPTH"])


@cocotb.test()
async def push_into_a_full_credited_fifo(dut):
    await start_stream_bench(dut)
    for item in range(DEPTH + 1):
        dut.i_valid.value = 1
        dut.i_data.value = item
        await RisingEdge(dut.clk)
    dut.i_valid.value = 0
    await ClockCycles(dut.clk, 4)
