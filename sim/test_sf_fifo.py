"""cocotb tests of sf_fifo (the small register FIFO with a free count) on its own.

WIDTH, DEPTH and CREDITED come from $SF_WIDTH, $SF_DEPTH and $SF_CREDITED
(``spikeforge.rtl.runner.run_unit_bench``). Every cycle the outputs are compared with a
Python model of the queue: o_valid and the head, i_ready and the free count. A CREDITED
FIFO's producer pushes only when the model says there is room (as the stages' credits
do); an ordinary one offers items whether or not there is room, and a refused push is
simply offered again.
"""

from __future__ import annotations

import os
import random
from collections import deque

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge
from stream_bench import start_stream_bench

DEPTH = int(os.environ["SF_DEPTH"])
WIDTH = int(os.environ["SF_WIDTH"])
CREDITED = int(os.environ.get("SF_CREDITED", "0"))
MASK = (1 << WIDTH) - 1


def check(dut, model: deque, cycle: int) -> None:
    """The FIFO's outputs against the model, in the read-only phase of a cycle."""
    where = f"cycle {cycle}, {len(model)} of {DEPTH} held"
    assert int(dut.free.value) == DEPTH - len(model), f"{where}: free {int(dut.free.value)}"
    assert int(dut.o_valid.value) == (len(model) > 0), f"{where}: o_valid {dut.o_valid.value}"
    assert int(dut.i_ready.value) == (len(model) < DEPTH), f"{where}: i_ready {dut.i_ready.value}"
    if model:
        assert int(dut.o_data.value) == model[0], f"{where}: head {int(dut.o_data.value)}"


async def traffic(
    dut, model: deque, cycles: int, p_push: float, p_pop: float, rng: random.Random
) -> tuple[int, int, set[int]]:
    """Random pushes and pops for ``cycles`` cycles, checked against ``model`` each cycle;
    (items pushed, items popped, the fill levels seen)."""
    pushed = popped = 0
    levels: set[int] = set()
    offer: int | None = None  # an item offered and not yet taken stays offered
    for cycle in range(cycles):
        if offer is None and rng.random() < p_push and (not CREDITED or len(model) < DEPTH):
            offer = rng.randrange(1 << WIDTH)
        dut.i_valid.value = int(offer is not None)
        dut.i_data.value = offer if offer is not None else rng.randrange(1 << WIDTH)
        dut.o_ready.value = int(rng.random() < p_pop)
        await ReadOnly()
        check(dut, model, cycle)
        levels.add(len(model))
        take = bool(dut.o_valid.value) and bool(dut.o_ready.value)
        put = offer is not None and bool(dut.i_ready.value)
        if take:
            model.popleft()
            popped += 1
        if put:
            model.append(offer & MASK)
            pushed += 1
            offer = None
        await RisingEdge(dut.clk)
    dut.i_valid.value = 0
    dut.o_ready.value = 0
    return pushed, popped, levels


@cocotb.test()
async def random_stalls_match_the_model(dut):
    """Order, head, free count, full and empty under random stalls on both sides."""
    await start_stream_bench(dut)
    rng = random.Random(1000 * DEPTH + WIDTH)
    model: deque = deque()
    seen: set[int] = set()
    for p_push, p_pop in ((0.9, 0.3), (0.3, 0.9), (1.0, 1.0), (0.6, 0.6), (0.5, 0.0)):
        cycles = 30 * DEPTH + 200
        _, _, levels = await traffic(dut, model, cycles, p_push, p_pop, rng)
        seen |= levels
    assert {0, DEPTH} <= seen, f"the traffic never made it empty and full (levels {seen})"


@cocotb.test()
async def fills_to_depth_and_drains_in_order(dut):
    await start_stream_bench(dut)
    model: deque = deque()
    dut.o_ready.value = 0
    for cycle in range(DEPTH + (0 if CREDITED else 3)):  # nobody reads: fill it
        dut.i_valid.value = 1
        dut.i_data.value = cycle & MASK
        await ReadOnly()
        check(dut, model, cycle)
        if dut.i_ready.value:
            model.append(cycle & MASK)
        await RisingEdge(dut.clk)
    dut.i_valid.value = 0
    await ReadOnly()
    check(dut, model, DEPTH)
    assert len(model) == DEPTH and int(dut.free.value) == 0, "not full after DEPTH pushes"
    await RisingEdge(dut.clk)
    dut.o_ready.value = 1
    got = []
    for cycle in range(DEPTH + 2):
        await ReadOnly()
        check(dut, model, cycle)
        if dut.o_valid.value:
            got.append(int(dut.o_data.value))
            model.popleft()
        await RisingEdge(dut.clk)
    assert got == [i & MASK for i in range(DEPTH)], "items lost, repeated or reordered"
    assert int(dut.free.value) == DEPTH


@cocotb.test()
async def full_refuses_a_push_even_while_popping(dut):
    """i_ready depends on the count only: a full FIFO popped this cycle still refuses."""
    if CREDITED:
        return  # a credited producer never offers into a full FIFO
    await start_stream_bench(dut)
    model: deque = deque()
    rng = random.Random(DEPTH)
    await traffic(dut, model, 4 * DEPTH, 1.0, 0.0, rng)
    assert len(model) == DEPTH
    dut.i_valid.value = 1
    dut.i_data.value = 0
    dut.o_ready.value = 1
    await ReadOnly()
    check(dut, model, 0)
    assert not dut.i_ready.value and dut.o_valid.value


@cocotb.test()
async def one_item_per_cycle_through(dut):
    """Pushing and popping every cycle: the head is there the cycle after its push."""
    await start_stream_bench(dut)
    model: deque = deque()
    dut.o_ready.value = 1
    outputs = 0
    for cycle in range(4 * DEPTH + 20):
        dut.i_valid.value = 1
        dut.i_data.value = cycle & MASK
        await ReadOnly()
        check(dut, model, cycle)
        if dut.o_valid.value:
            model.popleft()
            outputs += 1
        model.append(cycle & MASK)
        await RisingEdge(dut.clk)
    assert outputs == 4 * DEPTH + 20 - 1, "a full-rate stream stalls (latency is one cycle)"
