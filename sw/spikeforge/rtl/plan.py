"""How much hardware each stage gets: synapse banks and fire tiles.

* **banks** ``(PY, PX)``: the synapse array holds a stage's currents in ``PY x PX`` banks
  (output row mod PY, column mod PX), each ``Co`` channels wide. Every bank works through
  its own queue of input events, one target (an output position of the event's footprint
  that falls in the bank) per cycle, so the array updates up to ``PY x PX x Co`` neurons
  per cycle, and a bank that owns more output positions than another gets more work. The
  default takes the banks within the budget that give the busiest bank the fewest output
  positions; then the most banks (spare banks absorb the uneven spread of real spikes);
  then the banks whose positions spread over the most rows and columns (a bank that owns
  a single column gets all of that column's events, and an image's centre columns get the
  most); then those that spread an event's footprint over the most banks (a bank runs at
  most one step ahead of the others, so a step's events should load them alike).
* **tile** ``(TY, TX)``: the neuron unit integrates and fires ``TY x TX`` output positions
  (all channels) per cycle: the largest part of the gate window, inside the fire lanes,
  with each member in its own bank (``TY <= PY``, ``TX <= PX``). The default stays at 64
  fire lanes, the plan with a measured clock: 32 save LUTs but did not route on an
  ECP5-85K (docs/rtl.md, "Fire lanes").
* **double buffer**: two sets of current banks, so that the synapse array accumulates step
  t + 1 (the analog layer: the next image) while the neuron unit fires step t from the
  other set. Twice the current memory; without it the two alternate.
* **link depth**: the events the link in front of a stage holds (a block RAM FIFO; the
  first stage reads the input encoder directly). A stage fires a whole pass per step
  whatever its spikes, so the analog layer takes as long over an image's first, quiet
  steps as over its busiest; a deep link lets it run ahead through the busy steps, and
  its successor finds the next image's first events waiting instead of idling.

The default budgets suit the plain reference MNIST network, where conv2 does most of the
work at every T, and fit it into a Zynq-7020 and an ECP5-85K (yosys' estimate and nextpnr,
docs/rtl.md). The low-latency network (clip-floor with a rate penalty) spikes so little
that its analog conv1 sets the pace; 48 multipliers and 128 adders keep its stages about
equally busy at T = 4. Larger budgets are faster and larger, one current set per stage
slower and smaller; docs/rtl.md measures them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .stages import RtlError, Stage


@dataclass(frozen=True)
class StagePlan:
    banks: tuple[int, int]  # (PY, PX)
    tile: tuple[int, int]  # (TY, TX)
    double_buffer: bool = False  # two current sets: accumulate one while firing the other
    link_depth: int = 1024  # events buffered in front of the stage (not the first)

    def describe(self) -> str:
        sets = "two current sets" if self.double_buffer else "one current set"
        return f"banks {self.banks[0]}x{self.banks[1]}, tile {self.tile[0]}x{self.tile[1]}, {sets}"


@dataclass(frozen=True)
class PlanLimits:
    """Budgets the default plan respects (per stage)."""

    synapse_lanes: int = 256  # adders of a binary (spiking) synapse array
    multiplier_lanes: int = 32  # multipliers of the analog first layer
    fire_lanes: int = 64  # neurons integrated per cycle
    double_buffer: bool = True  # two current sets per stage (faster, larger; docs/rtl.md)
    link_depth: int = 1024  # events between two stages: one 18 kbit block RAM


def footprint(stage: Stage) -> tuple[int, int]:
    """Output rows/columns one input event can reach: ceil(kernel / stride) per axis."""
    (kh, kw), (sy, sx) = stage.kernel, stage.strides
    return (-(-kh // sy), -(-kw // sx))


def _default_tile(stage: Stage, banks: tuple[int, int], limits: PlanLimits) -> tuple[int, int]:
    """The most output positions the neuron unit can fire per cycle: a part of the gate
    window (each tile inside one window) with one member per bank, within the fire lanes."""
    gate = stage.gate
    if gate is None or tuple(gate.pool) != tuple(gate.strides):
        return (1, 1)
    (wy, wx), co = (int(v) for v in gate.pool), stage.out_shape[2]
    fits = [
        (ty, tx)
        for ty in range(1, min(wy, banks[0]) + 1)
        for tx in range(1, min(wx, banks[1]) + 1)
        if wy % ty == 0 and wx % tx == 0 and ty * tx * co <= limits.fire_lanes
    ]
    return max(fits, key=lambda t: (t[0] * t[1], t[0]), default=(1, 1))


def _default_banks(stage: Stage, limits: PlanLimits) -> tuple[int, int]:
    budget = limits.multiplier_lanes if stage.analog else limits.synapse_lanes
    ho, wo, co = stage.out_shape
    ny, nx = footprint(stage)

    def key(banks: tuple[int, int]) -> tuple[int, int, int, int]:
        py, px = banks
        rows, cols = -(-ho // py), -(-wo // px)  # of the fullest bank
        spread = -(-ny // py) * -(-nx // px)  # most targets of one event in one bank
        return (rows * cols, -py * px, -min(rows, cols), spread)

    fits = [(py, px) for py in range(1, ho + 1) for px in range(1, wo + 1)
            if py * px * co <= budget]
    return min(fits, key=key, default=(1, 1))


def default_plan(stages: list[Stage], limits: PlanLimits | None = None) -> list[StagePlan]:
    limits = limits or PlanLimits()
    plan = []
    for stage in stages:
        sets, link = limits.double_buffer, limits.link_depth
        if stage.dense:
            plan.append(StagePlan((1, 1), (1, 1), sets, link))
            continue
        banks = _default_banks(stage, limits)
        plan.append(StagePlan(banks, _default_tile(stage, banks, limits), sets, link))
    return plan


def check_plan(stages: list[Stage], plan: list[StagePlan]) -> None:
    """Raise RtlError when a plan cannot work for these stages."""
    if len(plan) != len(stages):
        raise RtlError(f"the plan has {len(plan)} stages, the network {len(stages)}")
    for stage, entry in zip(stages, plan, strict=True):
        (py, px), (ty, tx) = entry.banks, entry.tile
        name = stage.layer.name
        if min(py, px, ty, tx) < 1:
            raise RtlError(f"stage '{name}': banks and tile must be positive ({entry.describe()})")
        if entry.link_depth < 2:
            raise RtlError(f"stage '{name}': the link holds at least 2 events, not "
                           f"{entry.link_depth}")
        if stage.dense and (py, px, ty, tx) != (1, 1, 1, 1):
            raise RtlError(f"dense stage '{name}' takes banks 1x1 and tile 1x1")
        if ty > py or tx > px:
            raise RtlError(
                f"stage '{name}': tile {ty}x{tx} needs at least as many banks per axis "
                f"({entry.describe()}); raise the banks or shrink the tile"
            )
        ho, wo, _ = stage.out_shape
        if ty > ho or tx > wo:
            raise RtlError(f"stage '{name}': tile {ty}x{tx} exceeds the {ho}x{wo} output")
