"""cocotb tests of sf_gate (a stage's spiking max-pool) on its own.

The module's parameters come from $SF_<NAME> (``spikeforge.rtl.runner.run_unit_bench``);
the producer map, pool, strides, pads and tile origin that its tables were generated for
come from the JSON file $SF_GATE_CASE (``tests/test_rtl_gate.py`` writes both).

The bench plays the neuron unit: per image (its own T), per step, every fire tile once in
row-major tile order with its members' spikes and counts (a position's count rises by one
exactly when it spikes, from 0 at each image's start; members outside the map get random
junk, which the tables must ignore), then the end-of-step token; i_first on step 0, i_tag
= t + 1; idle cycles between items at random (none, for back-to-back tiles) with random
data on the inputs. Every step's emissions, collected from the outputs (a window may emit
once per step and channel; its channels may emit at different tiles), must be the spikes
the golden model's gate gives for that step: ``simulator.gate_spikes`` (gate: the first
highest count's spike) or ``simulator.running_max_spikes`` (running max: the window's
highest count exceeds the output's own count so far). o_held must count the items that
entered in the last three cycles and o_step / o_eos must follow the input stream three
cycles later.
"""

from __future__ import annotations

import json
import os
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from spikeforge.ir import PoolGate
from spikeforge.simulator import gate_spikes, running_max_spikes

CO = int(os.environ["SF_CO"])
TY, TX = int(os.environ["SF_TY"]), int(os.environ["SF_TX"])
TILES_Y, TILES_X = int(os.environ["SF_TILES_Y"]), int(os.environ["SF_TILES_X"])
GATE_ROWS, GATE_COLS = int(os.environ["SF_GATE_ROWS"]), int(os.environ["SF_GATE_COLS"])
GB = int(os.environ["SF_WINDOW_BANK_ROWS"]) * int(os.environ["SF_WINDOW_BANK_COLS"])
RUNNING_MAX = int(os.environ["SF_RUNNING_MAX"])
NB = int(os.environ["SF_NB"])
EYB, EXB = int(os.environ["SF_EYB"]), int(os.environ["SF_EXB"])
CASE = json.loads(Path(os.environ["SF_GATE_CASE"]).read_text())
H, W = CASE["map"]
ORIGIN_Y, ORIGIN_X = CASE["origin"]
LAYER = PoolGate(
    name="gate",
    in_shape=(H, W, CO),
    out_shape=(GATE_ROWS, GATE_COLS, CO),
    pool=tuple(CASE["pool"]),
    strides=tuple(CASE["strides"]),
    pads=tuple(CASE["pads"]),
)
LATENCY = 3  # i_* to o_step / o_eos / o_valid ...


def model_steps(spikes: np.ndarray) -> np.ndarray:
    """The golden model's gate output (T, GATE_ROWS, GATE_COLS, CO) for one image's
    producer spikes (T, H, W, CO), counts accumulating from 0."""
    counts = np.cumsum(spikes, axis=0)  # N of every step, this step's spike included
    own = np.zeros((1, GATE_ROWS, GATE_COLS, CO), dtype=np.int64)
    out = []
    for t in range(len(spikes)):
        if RUNNING_MAX:
            s = running_max_spikes(LAYER, counts[t : t + 1], own)
        else:
            s = gate_spikes(LAYER, spikes[t : t + 1], counts[t : t + 1])
        own = own + s
        out.append(s[0].astype(np.int64))
    return np.array(out)


def random_image(rng: random.Random, steps: int, kind: str) -> np.ndarray:
    """Producer spikes (steps, H, W, CO): each position spikes at its own rate (``mixed``:
    rates from silent to nearly always, so leads change and counts tie), or every position
    at every step (``all``: every window a tie at every step), or rarely (``sparse``)."""
    if kind == "all":
        return np.ones((steps, H, W, CO), dtype=np.int64)
    choices = (0.0, 0.05, 0.1) if kind == "sparse" else (0.0, 0.2, 0.5, 0.8, 1.0)
    rates = np.array([rng.choice(choices) for _ in range(H * W * CO)]).reshape(H, W, CO)
    draws = np.array([rng.random() for _ in range(steps * H * W * CO)])
    return (draws.reshape(steps, H, W, CO) < rates).astype(np.int64)


@dataclass
class Item:
    """What the bench drives in one cycle: a tile, an end-of-step token or nothing."""

    valid: int = 0
    eos: int = 0
    first: int = 0
    tag: int = 0
    ty: int = 0
    tx: int = 0
    spike: int = 0
    count: int = 0
    step: tuple[int, int] | None = None  # (image, t) of a tile or token


def tile_item(
    spikes: np.ndarray, counts: np.ndarray, t: int, ty: int, tx: int, rng: random.Random
) -> Item:
    """Tile (ty, tx) of step t: per member (dy, dx) and channel its spike and count, packed
    member-major as the neuron unit packs them."""
    spike = count = 0
    for dy in range(TY):
        for dx in range(TX):
            y, x = ty * TY + dy - ORIGIN_Y, tx * TX + dx - ORIGIN_X
            for c in range(CO):
                bit = (dy * TX + dx) * CO + c
                if 0 <= y < H and 0 <= x < W:
                    s, n = int(spikes[t, y, x, c]), int(counts[t, y, x, c])
                else:  # no position: junk the tables must keep out of every window
                    s, n = rng.randrange(2), rng.randrange(1 << NB)
                spike |= s << bit
                count |= n << (bit * NB)
    return Item(valid=1, first=int(t == 0), tag=t + 1, ty=ty, tx=tx, spike=spike, count=count)


def idle_item(rng: random.Random) -> Item:
    """No item: random data on every other input."""
    return Item(
        first=rng.randrange(2),
        tag=rng.randrange(1 << NB),
        ty=rng.randrange(TILES_Y),
        tx=rng.randrange(TILES_X),
        spike=rng.randrange(1 << (TY * TX * CO)),
        count=rng.randrange(1 << (TY * TX * CO * NB)),
    )


def stream(images: list[np.ndarray], p_gap: float, rng: random.Random) -> list[Item]:
    """Every image's steps as the cycles' items, idle cycles between items with
    probability p_gap each (runs of up to three)."""
    items: list[Item] = []
    for i, spikes in enumerate(images):
        counts = np.cumsum(spikes, axis=0)
        for t in range(len(spikes)):
            for ty in range(TILES_Y):
                for tx in range(TILES_X):
                    while rng.random() < p_gap:
                        items += [idle_item(rng) for _ in range(rng.randint(1, 3))]
                    item = tile_item(spikes, counts, t, ty, tx, rng)
                    item.step = (i, t)
                    items.append(item)
            token = idle_item(rng)
            token.valid, token.eos, token.first, token.tag = 0, 1, int(t == 0), t + 1
            token.step = (i, t)
            items.append(token)
    return items


def drive(dut, item: Item) -> None:
    dut.i_valid.value = item.valid
    dut.i_eos.value = item.eos
    dut.i_first.value = item.first
    dut.i_tag.value = item.tag
    dut.i_ty.value = item.ty
    dut.i_tx.value = item.tx
    dut.i_spike.value = item.spike
    dut.i_count.value = item.count


@dataclass
class Observed:
    """The outputs, per step in order: the emissions (window y, x, channel mask)."""

    steps: list[list[tuple[int, int, int]]] = field(default_factory=list)
    current: list[tuple[int, int, int]] = field(default_factory=list)
    tiles: int = 0

    def sample(self, dut) -> None:
        valid = int(dut.o_valid.value)
        if not int(dut.o_step.value):
            assert valid == 0, "o_valid without a tile"
            return
        if int(dut.o_eos.value):
            assert valid == 0, "o_valid with an end-of-step token"
            self.steps.append(self.current)
            self.current = []
            return
        self.tiles += 1
        ys, xs, masks = int(dut.o_y.value), int(dut.o_x.value), int(dut.o_mask.value)
        for g in range(GB):
            if valid >> g & 1:
                y, x = ys >> (g * EYB) & ((1 << EYB) - 1), xs >> (g * EXB) & ((1 << EXB) - 1)
                mask = masks >> (g * CO) & ((1 << CO) - 1)
                assert mask != 0, f"bank {g} emits an empty mask"
                self.current.append((y, x, mask))


async def run(dut, items: list[Item]) -> Observed:
    """Drive ``items``, one per cycle, then idle cycles until the pipeline is empty; check
    o_held and o_step / o_eos each cycle against the items driven; the outputs seen."""
    seen = Observed()
    history: deque[Item] = deque([Item()] * LATENCY, maxlen=LATENCY)  # newest first
    rng = random.Random(len(items))
    for item in [*items, *(idle_item(rng) for _ in range(LATENCY + 2))]:
        drive(dut, item)
        await ReadOnly()
        held = sum(1 for old in history if old.valid or old.eos)
        assert int(dut.o_held.value) == held, f"o_held {int(dut.o_held.value)}, {held} held"
        out = history[-1]  # the item driven three cycles ago
        assert int(dut.o_step.value) == int(out.valid or out.eos), "o_step off the stream"
        if out.valid or out.eos:
            assert int(dut.o_eos.value) == out.eos, "o_eos off the stream"
        seen.sample(dut)
        history.appendleft(item)
        await RisingEdge(dut.clk)
    assert not seen.current, "emissions after the last end-of-step token"
    return seen


def compare(seen: Observed, images: list[np.ndarray], what: str) -> None:
    steps = [(i, t) for i, spikes in enumerate(images) for t in range(len(spikes))]
    assert len(seen.steps) == len(steps), f"{what}: {len(seen.steps)} steps, {len(steps)} sent"
    assert seen.tiles == len(steps) * TILES_Y * TILES_X, f"{what}: tiles lost or repeated"
    models = [model_steps(spikes) for spikes in images]
    for (i, t), emissions in zip(steps, seen.steps, strict=True):
        got = np.zeros((GATE_ROWS, GATE_COLS, CO), dtype=np.int64)
        for y, x, mask in emissions:
            assert y < GATE_ROWS and x < GATE_COLS, f"{what}: window ({y}, {x}) out of range"
            got[y, x] += [mask >> c & 1 for c in range(CO)]
        twice = [tuple(int(v) for v in p) for p in np.argwhere(got > 1)]
        assert not twice, f"{what}: image {i} step {t}: (y, x, channel) emitted twice: {twice}"
        want = models[i][t]
        if not np.array_equal(got, want):
            diff = [tuple(int(v) for v in p) for p in np.argwhere(got != want)]
            raise AssertionError(
                f"{what}: image {i} step {t}: (window y, x, channel) differing from the "
                f"golden model: {diff[:8]}; RTL {int(got.sum())} spikes, model "
                f"{int(want.sum())}"
            )


async def start(dut) -> None:
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    drive(dut, Item())
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


@cocotb.test()
async def emissions_equal_golden_gate(dut):
    """Images of several kinds and lengths (T = 1 and the longest the tags allow among
    them), each image's state from the image before left in the window memories; fed back
    to back, with short gaps and with long ones."""
    await start(dut)
    rng = random.Random(CASE["seed"])
    longest = (1 << NB) - 1
    for p_gap in (0.0, 0.3, 0.7):
        plan = [
            ("mixed", 5),
            ("all", 3),
            ("mixed", 1),
            ("sparse", 6),
            ("mixed", longest),
            ("mixed", rng.randint(2, 8)),
        ]
        images = [random_image(rng, steps, kind) for kind, steps in plan]
        seen = await run(dut, stream(images, p_gap, rng))
        compare(seen, images, f"gaps {p_gap}")


@cocotb.test()
async def reset_mid_image(dut):
    """A reset in the middle of an image: the next image starts afresh."""
    await start(dut)
    rng = random.Random(CASE["seed"] + 1)
    first = random_image(rng, 4, "mixed")
    items = stream([first], 0.2, rng)
    for item in items[: len(items) // 2]:
        drive(dut, item)
        await RisingEdge(dut.clk)
    dut.rst.value = 1
    drive(dut, Item())
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    images = [random_image(rng, 5, "mixed"), random_image(rng, 3, "all")]
    compare(await run(dut, stream(images, 0.2, rng)), images, "after a reset")
