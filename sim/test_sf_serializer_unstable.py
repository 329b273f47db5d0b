"""A deliberately broken producer of sf_serializer: it offers an item while the serializer
is busy with one of two spikes and withdraws it before it is taken, which breaks the
valid/ready rule (an offered item stays offered, unchanged, until taken). The assertion
a_in_stable must stop the simulation (tests/test_rtl_assertions.py expects the run to
fail naming it). Parameters from $SF_<NAME>; CO >= 2."""

from __future__ import annotations

import os

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from stream_bench import start_stream_bench

MS = int(os.environ["SF_MS"])
CO = int(os.environ["SF_CO"])
YB = int(os.environ["SF_YB"])
XB = int(os.environ["SF_XB"])


@cocotb.test()
async def withdraw_an_offered_item(dut):
    await start_stream_bench(dut)
    two_spikes = 0b11 << (1 + YB + XB)  # member 0, channels 0 and 1
    dut.i_valid.value = 1
    dut.i_data.value = two_spikes
    await RisingEdge(dut.clk)  # taken: the serializer is busy for two events
    dut.i_data.value = two_spikes  # the next item, offered while the output is stalled
    await RisingEdge(dut.clk)
    dut.i_valid.value = 0  # ... and withdrawn before it was taken
    await ClockCycles(dut.clk, 4)
