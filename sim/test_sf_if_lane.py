"""cocotb tests of sf_if_lane (one integrate-and-fire neuron's update) on its own.

The parameters come from $SF_CB, $SF_VB, $SF_NB, $SF_SB, $SF_RESET_ZERO and, as 64-bit
Verilog literals (two's complement: ``64'hFFFFFFFFFFFFFFCE`` is -50), $SF_THETA, $SF_BIAS
and $SF_V_INIT (``spikeforge.rtl.runner.run_unit_bench``). Every cycle a neuron enters the
lane (first step or not, current, membrane, count) and its results leave it two cycles
later; each is compared with the golden model's own update (``spikeforge.simulator``'s
``BatchRun.step`` on a one-neuron layer whose current is the lane's I + b, one image per
lane input, membranes and counts set to the lane's inputs, V_INIT at a first step).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from spikeforge.ir import Formats, Network, NeuronLayer, SnnConfig
from spikeforge.simulator import BatchRun


def literal(text: str) -> int:
    """A parameter's value: a decimal integer or a 64-bit two's complement ``64'h...``."""
    if "'h" not in text:
        return int(text)
    value = int(text.split("'h", 1)[1], 16)
    return value - (1 << 64) if value >> 63 else value


CB, VB, NB, SB = (int(os.environ[f"SF_{name}"]) for name in ("CB", "VB", "NB", "SB"))
THETA, BIAS, V_INIT = (literal(os.environ[f"SF_{name}"]) for name in ("THETA", "BIAS", "V_INIT"))
RESET_ZERO = int(os.environ["SF_RESET_ZERO"])
V_MIN, V_MAX = -(1 << (VB - 1)), (1 << (VB - 1)) - 1
I_MIN, I_MAX = -(1 << (CB - 1)), (1 << (CB - 1)) - 1
LATENCY = 2  # S1 -> S3


@dataclass
class Neuron:
    """One lane input (S1) and, once it has left the lane, its results (S3)."""

    first: int
    current: int
    v: int
    count: int
    out: tuple[int, int, int, int] | None = None  # clamped, fire, v, count


def golden(neurons: list[Neuron]) -> list[tuple[int, int, int, int]]:
    """The golden model's update of each neuron: (clamped, fire, v, count)."""
    layer = NeuronLayer(
        name="lane", kind="dense", in_shape=(1,), out_shape=(1,),
        weights=np.ones((1, 1), dtype=np.int64), bias=np.array([BIAS], dtype=np.int64),
        threshold=np.array([THETA], dtype=np.int64),
    )
    net = Network(
        name="lane", input_shape=(1,), layers=[layer],
        config=SnnConfig(reset="zero" if RESET_ZERO else "subtract", input_mode="analog",
                         timesteps=1, max_timesteps=1),
        formats=Formats(weight_bits=2, bias_bits=2, threshold_bits=2, membrane_bits=VB),
    )
    n = len(neurons)
    run = BatchRun(net, np.zeros((n, 1), dtype=np.uint8), total_steps=1)
    first = np.array([nu.first for nu in neurons], dtype=bool)
    # the state the lane starts from: V_INIT and no spikes at an image's first step
    run.membranes[0] = np.where(first, V_INIT, [nu.v for nu in neurons]).astype(np.int64)[:, None]
    run.counts[0] = np.where(first, 0, [nu.count for nu in neurons]).astype(np.int64)[:, None]
    # the layer's current W x + b of the step: the lane's I plus its bias
    run.analog_current = (np.array([nu.current for nu in neurons], dtype=np.int64) + BIAS)[:, None]
    fired = run.step(0)
    assert fired is not None
    return [
        (int(run.saturation[i, 0]), int(fired[i, 0]), int(run.membranes[0][i, 0]),
         int(run.counts[0][i, 0]))
        for i in range(n)
    ]


def to_signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


async def start(dut) -> None:
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.i_first.value = 0
    dut.i_current.value = 0
    dut.i_v.value = 0
    dut.i_count.value = 0
    await RisingEdge(dut.clk)


def drive(dut, neuron: Neuron) -> None:
    dut.i_first.value = neuron.first
    dut.i_current.value = neuron.current & ((1 << CB) - 1)
    dut.i_v.value = neuron.v & ((1 << VB) - 1)
    dut.i_count.value = neuron.count


def sample(dut) -> tuple[int, int, int, int]:
    return (int(dut.o_clamped.value), int(dut.o_fire.value),
            to_signed(int(dut.o_v.value), VB), int(dut.o_count.value))


def compare(neurons: list[Neuron], what: str) -> None:
    want = golden(neurons)
    for i, (neuron, expected) in enumerate(zip(neurons, want, strict=True)):
        assert neuron.out == expected, (
            f"{what}, neuron {i} (first {neuron.first}, I {neuron.current}, V {neuron.v}, "
            f"N {neuron.count}): lane gave (clamped, fire, V, N) = {neuron.out}, "
            f"golden {expected}"
        )


def some_current(rng: random.Random) -> int:
    """Currents over the whole range, the extremes often (they clamp)."""
    pick = rng.random()
    if pick < 0.15:
        return rng.choice([I_MIN, I_MAX, I_MIN + 1, I_MAX - 1, 0])
    if pick < 0.5:  # around the threshold
        bound = min(4 * max(abs(THETA), 1), I_MAX)
        return rng.randint(-bound, bound)
    return rng.randint(I_MIN, I_MAX)


def some_membrane(rng: random.Random) -> int:
    pick = rng.random()
    if pick < 0.2:
        return rng.choice([V_MIN, V_MAX, V_MIN + 1, V_MAX - 1, 0, THETA - 1, THETA])
    return rng.randint(V_MIN, V_MAX)


@cocotb.test()
async def random_neurons_at_full_rate(dut):
    """A new random neuron every cycle: any membrane, current and count, a first step one
    time in eight (its stored V and N must be ignored), a third of them with V + I + b
    at a bound of the membrane range, one past it, at the threshold or one below."""
    await start(dut)
    rng = random.Random(f"{CB} {VB} {NB} {THETA} {BIAS}")
    neurons = [
        Neuron(int(rng.random() < 0.125), some_current(rng), some_membrane(rng),
               rng.randint(0, (1 << NB) - 2))
        for _ in range(3000)
    ]
    for neuron in neurons[::3]:  # V + I + b just at a clamp bound or the threshold
        target = rng.choice([V_MAX, V_MAX + 1, V_MIN, V_MIN - 1, THETA, THETA - 1])
        v_start = V_INIT if neuron.first else neuron.v
        if I_MIN <= target - v_start - BIAS <= I_MAX:
            neuron.current = target - v_start - BIAS
    for cycle in range(len(neurons) + LATENCY):
        if cycle < len(neurons):
            drive(dut, neurons[cycle])
        await ReadOnly()
        if cycle >= LATENCY:
            neurons[cycle - LATENCY].out = sample(dut)
        await RisingEdge(dut.clk)
    compare(neurons, "random neurons")
    assert any(n.out[0] for n in neurons), "no input clamped"
    assert any(n.out[1] for n in neurons) and not all(n.out[1] for n in neurons)


@cocotb.test()
async def neurons_through_images(dut):
    """Three neurons take turns (the unit's tiles in a pass), each through images of a few
    steps: the lane's results are the next step's V and N, as the unit's memories return
    them; at each image's first step the memories' stale words go in."""
    await start(dut)
    rng = random.Random(f"images {CB} {VB} {NB} {THETA} {BIAS}")
    lanes = 3  # > LATENCY: a neuron's results are back before its next step
    steps = min((1 << NB) - 2, 12)  # its count cannot wrap within an image
    state = [(0, 0)] * lanes
    step = [0] * lanes
    scale = [rng.choice([1, 3, 50, I_MAX]) for _ in range(lanes)]  # drive hard or gently
    neurons: list[Neuron] = []
    for cycle in range(lanes * 400 + LATENCY):
        if cycle < lanes * 400:
            lane = cycle % lanes
            first = step[lane] == 0
            v, count = (some_membrane(rng), rng.randint(0, (1 << NB) - 2)) if first else state[lane]
            bound = min(scale[lane] * max(abs(THETA), 1), I_MAX)
            current = max(min(rng.randint(-bound // 2, bound), I_MAX), I_MIN)
            neurons.append(Neuron(int(first), current, v, count))
            drive(dut, neurons[-1])
            step[lane] = (step[lane] + 1) % steps
        await ReadOnly()
        if cycle >= LATENCY:
            done = neurons[cycle - LATENCY]
            done.out = sample(dut)
            state[(cycle - LATENCY) % lanes] = (done.out[2], done.out[3])
        await RisingEdge(dut.clk)
    compare(neurons, "neurons through images")
    assert any(n.out[1] for n in neurons), "no neuron spiked"
