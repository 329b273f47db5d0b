"""cocotb tests of sf_serializer (spike vectors -> one event per cycle) on its own.

MS, CO, YB, XB and CB come from $SF_<NAME> (``spikeforge.rtl.runner.run_unit_bench``).
An item is packed as sf_stage packs it: bit 0 the end-of-step flag, then per member m
from bit 1 + m * (YB + XB + CO) its y, x and channel mask. The items' events, as the
Python model (:func:`events`) lists them, must come out in order: per item the set mask
bits member-major then channel, then the token of an end-of-step item (which carries no
spikes: the stages' tokens never do). The producer keeps an item offered until it is
taken and drives garbage while i_valid is low; the consumer stalls at random.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge
from stream_bench import start_stream_bench

MS = int(os.environ["SF_MS"])
CO = int(os.environ["SF_CO"])
YB = int(os.environ["SF_YB"])
XB = int(os.environ["SF_XB"])
CB = int(os.environ["SF_CB"])
MW = YB + XB + CO  # a member's bits
IW = 1 + MS * MW

Event = tuple[int, int, int, int]  # (eos, y, x, c); a token's y, x, c are 0 (not compared)


@dataclass(frozen=True)
class Item:
    eos: bool
    members: tuple[tuple[int, int, int], ...]  # (y, x, mask) per member

    def word(self) -> int:
        value = int(self.eos)
        for m, (y, x, mask) in enumerate(self.members):
            value |= (y | x << YB | mask << (YB + XB)) << (1 + m * MW)
        return value


def events(item: Item) -> list[Event]:
    """The model: the item's events in the order the serializer emits them."""
    out = [
        (0, y, x, c)
        for y, x, mask in item.members
        for c in range(CO)
        if mask >> c & 1
    ]
    return [*out, (1, 0, 0, 0)] if item.eos else out


def random_item(rng: random.Random, p_eos: float, p_empty: float, density: float) -> Item:
    eos = rng.random() < p_eos
    empty = eos or rng.random() < p_empty
    members = []
    for _ in range(MS):
        mask = 0 if empty else sum(1 << c for c in range(CO) if rng.random() < density)
        members.append((rng.randrange(1 << YB), rng.randrange(1 << XB), mask))
    return Item(eos, tuple(members))


def one_spike_item(rng: random.Random) -> Item:
    """One set bit (or, one time in five, a token): each is one event."""
    if rng.random() < 0.2:
        return Item(True, tuple((0, 0, 0) for _ in range(MS)))
    hit, channel = rng.randrange(MS), rng.randrange(CO)
    members = tuple(
        (rng.randrange(1 << YB), rng.randrange(1 << XB), (1 << channel) if m == hit else 0)
        for m in range(MS)
    )
    return Item(False, members)


def observed(dut) -> Event:
    if dut.o_eos.value:
        return (1, 0, 0, 0)
    return (0, int(dut.o_y.value), int(dut.o_x.value), int(dut.o_c.value))


async def stream(
    dut, items: list[Item], p_valid: float, p_ready: float, rng: random.Random
) -> tuple[list[Event], list[int]]:
    """Offer ``items`` in order (each held until taken) with probability p_valid per cycle
    for a new one, take events with probability p_ready; (the events, their cycles)."""
    want = sum(len(events(item)) for item in items)
    got: list[Event] = []
    cycles: list[int] = []
    sent = 0
    offered = False
    for cycle in range(20 * (want + len(items)) + 100):
        if len(got) == want and sent == len(items):
            break
        if not offered and sent < len(items) and rng.random() < p_valid:
            offered = True
        dut.i_valid.value = int(offered)
        dut.i_data.value = items[sent].word() if offered else rng.randrange(1 << IW)
        dut.o_ready.value = int(rng.random() < p_ready)
        await ReadOnly()
        if offered and dut.i_ready.value:
            sent += 1
            offered = False
        if dut.o_valid.value and dut.o_ready.value:
            got.append(observed(dut))
            cycles.append(cycle)
        await RisingEdge(dut.clk)
    else:
        raise AssertionError(f"{sent} of {len(items)} items taken, {len(got)} of {want} events")
    dut.i_valid.value = 0
    dut.o_ready.value = 0
    for _ in range(4):  # nothing more comes out
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert not dut.o_valid.value, "an event beyond the items' events"
    await RisingEdge(dut.clk)
    return got, cycles


def compare(got: list[Event], items: list[Item], what: str) -> None:
    want = [event for item in items for event in events(item)]
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        assert g == w, f"{what}: event {i} is {g}, the model's {w}"
    assert len(got) == len(want), f"{what}: {len(got)} events, the model's {len(want)}"


@cocotb.test()
async def items_become_their_events_in_order(dut):
    """Random items (spikes at several densities, tokens, empty items) under random gaps
    and backpressure: the events of the model, in order."""
    await start_stream_bench(dut)
    rng = random.Random(MS * 1000 + CO * 10 + YB)
    phases = [(0.9, 0.3, 0.3), (0.3, 0.9, 0.5), (1.0, 1.0, 0.2), (0.6, 0.6, 1.0), (1.0, 0.5, 0.05)]
    for p_valid, p_ready, density in phases:
        items = [random_item(rng, 0.15, 0.1, density) for _ in range(150)]
        got, _ = await stream(dut, items, p_valid, p_ready, rng)
        compare(got, items, f"p_valid {p_valid}, p_ready {p_ready}, density {density}")


@cocotb.test()
async def one_event_per_cycle(dut):
    """With items always offered and events always taken, the events leave back to back:
    one-spike items and tokens at full rate, and items of several spikes without a gap."""
    await start_stream_bench(dut)
    rng = random.Random(7)
    several = [random_item(rng, 0.1, 0.0, 0.5) for _ in range(40)]
    for items in (
        [one_spike_item(rng) for _ in range(60)],
        [item for item in several if events(item)],  # an empty item costs a cycle
    ):
        got, cycles = await stream(dut, items, 1.0, 1.0, rng)
        compare(got, items, "full rate")
        assert cycles[-1] - cycles[0] == len(cycles) - 1, "a full-rate stream has gaps"


@cocotb.test()
async def tokens_alone_pass(dut):
    """Steps without spikes: a run of end-of-step items is a run of tokens."""
    await start_stream_bench(dut)
    rng = random.Random(3)
    items = [Item(True, tuple((0, 0, 0) for _ in range(MS))) for _ in range(10)]
    got, _ = await stream(dut, items, 0.7, 0.7, rng)
    compare(got, items, "tokens")
