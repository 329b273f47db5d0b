"""The analytic cycle model of the generated core.

Every loop of the library is pipelined at II = 1 (the argmax at II = ARGMAX_II); a loop
entered once costs its iterations plus its pipeline depth. Iteration counts per stage and
loop kind are exact functions of the plan and of the events each stage receives (the
C testbench's trace checks them, ``tests/test_hls_cycles.py``); the depths are estimates
that Vitis HLS' schedule replaces where it runs.

Within an image the stages form a dataflow pipeline across timesteps: a stage consumes
step t's events while its predecessor is still sending them, and updates its neurons
while its successor consumes step t - 1. The schedule below models that with unbounded
streams; images do not overlap (the per-image dataflow region restarts), so the images
per second are clock / cycles per image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .events import NetworkEvents, StageEvents
from .plan_types import GatePlan, NetworkPlan, NeuronPlan, StagePlan

# Loop kinds: the numbers of hls/include/spikeforge/trace.h.
LOOP_READ, LOOP_DRAIN, LOOP_ENCODE, LOOP_INIT = 0, 1, 2, 3
LOOP_SYNAPSE, LOOP_NEURON, LOOP_GATE_COUNT, LOOP_GATE_EMIT, LOOP_OUTPUT = 4, 5, 6, 7, 8
LOOP_NAMES = {
    LOOP_READ: "read",
    LOOP_DRAIN: "drain",
    LOOP_ENCODE: "encode",
    LOOP_INIT: "init",
    LOOP_SYNAPSE: "synapse",
    LOOP_NEURON: "neuron",
    LOOP_GATE_COUNT: "gate count",
    LOOP_GATE_EMIT: "gate emit",
    LOOP_OUTPUT: "output",
}
# Estimated pipeline depth (cycles from a loop's first issue to its last result).
DEPTH = {
    LOOP_READ: 3,
    LOOP_ENCODE: 4,
    LOOP_INIT: 2,
    LOOP_SYNAPSE: 8,
    LOOP_NEURON: 6,
    LOOP_GATE_COUNT: 8,
    LOOP_GATE_EMIT: 5,
    LOOP_OUTPUT: 4,
}
ARGMAX_II = 3  # the class scan carries a multiply-compare from one iteration to the next


def init_iterations(stage: StagePlan) -> int:
    """Iterations of a stage's initialisation loops at the start of an image."""
    if isinstance(stage, GatePlan):
        return stage.in_depth + stage.win_depth
    return stage.acc_depth + (stage.groups_out if stage.output else 0)


def _per_image(n: int, value: float | np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.int64), (n,)).copy()


def iterations(plan: NetworkPlan, events: NetworkEvents) -> dict[tuple[int, int], np.ndarray]:
    """Loop iterations per image, by (stage, loop kind), as the C testbench counts them."""
    n, steps = events.images, events.timesteps
    inp = plan.input
    encode = inp.height * inp.width * inp.groups * (steps if inp.poisson else 1)
    out: dict[tuple[int, int], np.ndarray] = {
        (0, LOOP_READ): _per_image(n, inp.beats),
        (0, LOOP_ENCODE): _per_image(n, encode),
    }
    for stage in plan.stages:
        ev = events.stages[stage.stage]
        s = stage.stage
        if isinstance(stage, GatePlan):
            out[(s, LOOP_INIT)] = _per_image(n, init_iterations(stage))
            out[(s, LOOP_GATE_COUNT)] = ev.iterations.sum(axis=1)
            out[(s, LOOP_GATE_EMIT)] = _per_image(n, steps * stage.win_depth)
            continue
        out[(s, LOOP_INIT)] = _per_image(n, init_iterations(stage))
        out[(s, LOOP_SYNAPSE)] = ev.iterations.sum(axis=1)
        out[(s, LOOP_NEURON)] = _per_image(n, steps * stage.acc_depth)
        if stage.output:
            out[(s, LOOP_OUTPUT)] = _per_image(n, 2 * plan.num_classes)
    return out


@dataclass
class StageCycles:
    """Busy cycles of one stage per image (mean over the images), by loop kind."""

    stage: int
    name: str
    loops: dict[int, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return float(sum(self.loops.values()))


@dataclass
class CycleModel:
    stages: list[StageCycles]
    cycles_per_image: np.ndarray  # (N,) from the dataflow schedule
    clock_mhz: float

    @property
    def mean_cycles(self) -> float:
        return float(self.cycles_per_image.mean())

    @property
    def images_per_second(self) -> float:
        return self.clock_mhz * 1e6 / self.mean_cycles


def entries(plan: NetworkPlan, stage: int, loop: int, steps: int) -> int:
    """How often a loop is entered per image (each entry fills its pipeline once)."""
    if loop in (LOOP_NEURON, LOOP_GATE_COUNT, LOOP_GATE_EMIT):
        return steps
    if loop == LOOP_ENCODE:
        return steps if plan.input.poisson else 1
    if loop == LOOP_SYNAPSE:
        s = plan.stages[stage - 1]
        return 1 if isinstance(s, NeuronPlan) and s.analog else steps
    if loop == LOOP_INIT:
        s = plan.stages[stage - 1]
        two = isinstance(s, GatePlan) or (isinstance(s, NeuronPlan) and s.output)
        return 2 if two else 1  # gates: inputs and windows; output: state and counts
    return 1  # read


def output_cycles(plan: NetworkPlan) -> int:
    """The output layer's tail: the class scan, then K + 1 beats."""
    k = plan.num_classes
    return ARGMAX_II * (k - 1) + (k + 1) + 2 * DEPTH[LOOP_OUTPUT]


def schedule(plan: NetworkPlan, events: NetworkEvents) -> np.ndarray:
    """Cycles per image of the per-image dataflow region (see the module docstring)."""
    n, steps = events.images, events.timesteps
    inp = plan.input
    read = inp.beats + DEPTH[LOOP_READ]
    area = inp.height * inp.width * inp.groups + DEPTH[LOOP_ENCODE]
    # emission windows of the previous stage per step: start and end times (N, T)
    if inp.poisson:
        p_start = np.zeros((n, steps))
        p_end = np.zeros((n, steps))
        clock = np.full(n, float(read))
        for t in range(steps):
            p_start[:, t] = clock
            clock = clock + area
            p_end[:, t] = clock
    else:  # analog: the pixel words once, before step 0
        p_start = np.full((n, 1), float(read))
        p_end = np.full((n, 1), float(read + area))
    for stage in plan.stages:
        ev: StageEvents = events.stages[stage.stage]
        init = init_iterations(stage) + entries(plan, stage.stage, LOOP_INIT, steps) * DEPTH[
            LOOP_INIT
        ]
        if isinstance(stage, GatePlan):
            emit = stage.win_depth + DEPTH[LOOP_GATE_EMIT]
            consume = ev.iterations + DEPTH[LOOP_GATE_COUNT]
        else:
            emit = stage.acc_depth + DEPTH[LOOP_NEURON]
            consume = ev.iterations + DEPTH[LOOP_SYNAPSE]
        done = np.full(n, float(init))  # the stage's own clock: end of its last phase
        start = np.zeros((n, steps))
        end = np.zeros((n, steps))
        for t in range(steps):
            if t < p_start.shape[1]:  # consume the step's events (analog: once, at t = 0)
                begin = np.maximum(done, p_start[:, t])
                done = np.maximum(begin + consume[:, t], p_end[:, t] + 1)
            start[:, t] = done
            done = done + emit
            end[:, t] = done
        p_start, p_end = start, end
    return p_end[:, -1] + output_cycles(plan)


def cycle_model(plan: NetworkPlan, events: NetworkEvents) -> CycleModel:
    """Busy cycles per stage and loop, and cycles per image, for the traced images."""
    steps = events.timesteps
    per_stage = {0: StageCycles(0, "input")}
    per_stage.update({s.stage: StageCycles(s.stage, s.name) for s in plan.stages})
    for (stage, loop), count in iterations(plan, events).items():
        if loop == LOOP_OUTPUT:
            cycles = float(output_cycles(plan))
        else:
            cycles = float(count.mean()) + entries(plan, stage, loop, steps) * DEPTH[loop]
        per_stage[stage].loops[loop] = cycles
    return CycleModel(
        list(per_stage.values()), schedule(plan, events), plan.options.clock_mhz
    )
