"""cocotb tests of sf_link (the event FIFO between two stages) on its own.

DEPTH and WIDTH come from $SF_DEPTH and $SF_WIDTH (``spikeforge.rtl.runner.run_unit_bench``).
A producer and a consumer with random stalls pass numbered items through the link; every
item must come out once, in order, and the link must hold exactly DEPTH + 1 items (its
memory and the output register) before it refuses more.
"""

from __future__ import annotations

import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge
from stream_bench import start_stream_bench

DEPTH = int(os.environ["SF_DEPTH"])
WIDTH = int(os.environ["SF_WIDTH"])


async def transfer(dut, items: int, p_push: float, p_pop: float, rng: random.Random) -> list[int]:
    """Offer items 0 .. items-1 with probability p_push per cycle while taking them with
    probability p_pop; the items that came out, in order."""
    sent, received = 0, []
    for _ in range(100 * items):  # far more cycles than the stalls need
        if len(received) == items:
            break
        dut.i_valid.value = int(sent < items and rng.random() < p_push)
        dut.i_data.value = sent % (1 << WIDTH)
        dut.o_ready.value = int(rng.random() < p_pop)
        await ReadOnly()
        if dut.i_valid.value and dut.i_ready.value:
            sent += 1
        if dut.o_valid.value and dut.o_ready.value:
            received.append(int(dut.o_data.value))
        await RisingEdge(dut.clk)
    else:
        raise AssertionError(f"{len(received)} of {items} items came out")
    dut.i_valid.value = 0
    dut.o_ready.value = 0
    return received


@cocotb.test()
async def every_item_comes_out_once_in_order(dut):
    await start_stream_bench(dut)
    rng = random.Random(DEPTH)
    for p_push, p_pop in ((0.9, 0.3), (0.3, 0.9), (1.0, 1.0), (0.6, 0.6)):
        items = 40 * DEPTH + 50
        got = await transfer(dut, items, p_push, p_pop, rng)
        want = [i % (1 << WIDTH) for i in range(items)]
        assert got == want, f"p_push {p_push}, p_pop {p_pop}: items lost, repeated or reordered"


@cocotb.test()
async def holds_depth_plus_one_then_refuses(dut):
    await start_stream_bench(dut)
    accepted = 0
    dut.i_valid.value = 1
    for cycle in range(DEPTH + 10):  # nobody reads: fill it
        dut.i_data.value = cycle % (1 << WIDTH)
        await ReadOnly()
        accepted += int(dut.i_ready.value)
        await RisingEdge(dut.clk)
    dut.i_valid.value = 0
    assert accepted == DEPTH + 1, f"took {accepted} items without a read, holds {DEPTH + 1}"
    got = await transfer(dut, DEPTH + 1, 0.0, 1.0, random.Random(0))
    assert got == [i % (1 << WIDTH) for i in range(DEPTH + 1)]


@cocotb.test()
async def one_item_per_cycle(dut):
    await start_stream_bench(dut)
    dut.o_ready.value = 1
    dut.i_valid.value = 1
    outputs = 0
    for cycle in range(4 * DEPTH + 20):
        dut.i_data.value = cycle % (1 << WIDTH)
        await ReadOnly()
        outputs += int(dut.o_valid.value)
        await RisingEdge(dut.clk)
    assert outputs == 4 * DEPTH + 20 - 2, "a full-rate stream stalls (latency is two cycles)"
