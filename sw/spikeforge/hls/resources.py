"""Resource estimates of a planned core and the check against the target part.

Estimates, not synthesis results: a memory of depth x width bits takes the cheapest
BRAM18 aspect ratio (16K x 1 .. 512 x 36) per bank, or LUT RAM (one LUT per bit and 64
words) when it is at most 64 deep or holds at most 1024 bits; a synapse unit is an adder
of the accumulator's width (a LUT per bit), an analog synapse unit a DSP multiplier.
They catch a network that cannot fit before hours of synthesis, and name the layer that
is too big.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .plan_types import GatePlan, HlsPlanError, NetworkPlan, NeuronPlan


@dataclass(frozen=True)
class Part:
    name: str
    bram18: int
    luts: int
    dsps: int


# Zynq-7000 (DS190) and Zynq UltraScale+ (DS891) device tables, by device name prefix.
PARTS = [
    Part("xc7z007s", 100, 14400, 66),
    Part("xc7z010", 120, 17600, 80),
    Part("xc7z012s", 144, 34400, 120),
    Part("xc7z014s", 214, 40600, 170),
    Part("xc7z015", 190, 46200, 160),
    Part("xc7z020", 280, 53200, 220),
    Part("xc7z030", 530, 78600, 400),
    Part("xc7z045", 1090, 218600, 900),
    Part("xczu3eg", 432, 70560, 360),
    Part("xczu7ev", 624, 230400, 1728),
    Part("xczu9eg", 1824, 274080, 2520),
]

BRAM18_SHAPES = [(1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)]
LUTRAM_MAX_BITS = 1024
LUTRAM_MAX_DEPTH = 64


def find_part(name: str) -> Part:
    for part in PARTS:
        if name.lower().startswith(part.name):
            return part
    known = ", ".join(p.name for p in PARTS)
    raise HlsPlanError(
        f"no resource table for part '{name}' (known devices: {known}); pick one of them "
        "or pass --no-resource-check to generate without the check"
    )


def in_lutram(depth: int, width: int) -> bool:
    return depth <= LUTRAM_MAX_DEPTH or depth * width <= LUTRAM_MAX_BITS


def bram18(depth: int, width: int, banks: int = 1) -> int:
    """BRAM18 blocks of ``banks`` memories of ``depth`` x ``width`` bits (0 if LUT RAM)."""
    if in_lutram(depth, width):
        return 0
    per_bank = min(-(-width // w) * -(-depth // d) for w, d in BRAM18_SHAPES)
    return banks * per_bank


def lutram(depth: int, width: int, banks: int = 1) -> int:
    """LUTs of ``banks`` memories kept in LUT RAM (0 if block RAM)."""
    if not in_lutram(depth, width):
        return 0
    return banks * width * -(-depth // LUTRAM_MAX_DEPTH)


@dataclass
class StageResources:
    name: str
    bram18: dict[str, int] = field(default_factory=dict)  # per memory
    luts: int = 0
    dsps: int = 0

    @property
    def bram18_total(self) -> int:
        return sum(self.bram18.values())


def _memories(res: StageResources, memories: dict[str, tuple[int, int, int]]) -> None:
    """Add (depth, width, banks) memories to the BRAM and LUT counts."""
    for name, (depth, width, banks) in memories.items():
        res.bram18[name] = bram18(depth, width, banks)
        res.luts += lutram(depth, width, banks)


def _neuron(plan: NeuronPlan) -> StageResources:
    res = StageResources(plan.name)
    _memories(
        res,
        {
            "weights": (plan.weight_depth, plan.synapse_units * plan.weight_bits, 1),
            "membranes": (plan.acc_depth, plan.lanes * plan.membrane_bits, 1),
            "synaptic sums": (plan.acc_depth, plan.lanes * plan.acc_bits, 1),
        },
    )
    res.luts += plan.synapse_units * plan.acc_bits + plan.lanes * 4 * plan.sum_bits
    if plan.analog:
        res.dsps = plan.synapse_units
    return res


def _gate(plan: GatePlan) -> StageResources:
    res = StageResources(plan.name)
    state_bits = plan.count_bits + plan.aux_bits
    memories = {
        "counts": (plan.in_depth, plan.group * plan.count_bits, 1),
        "windows": (plan.win_depth, plan.group * state_bits, 1),
    }
    if not plan.running_max:
        memories["spike steps"] = (plan.in_depth, plan.count_bits, plan.group)
    _memories(res, memories)
    res.luts += plan.group * (3 * state_bits + 2 * plan.count_bits)
    return res


def estimate(plan: NetworkPlan) -> list[StageResources]:
    """Per-stage estimates, the input stage first."""
    inp = plan.input
    first = StageResources("input")
    depth = -(-inp.buffer_size // inp.pixel_banks)
    _memories(first, {"pixels": (depth, inp.element_bits, inp.pixel_banks)})
    stages = [first]
    for stage in plan.stages:
        stages.append(_neuron(stage) if isinstance(stage, NeuronPlan) else _gate(stage))
    return stages


@dataclass(frozen=True)
class Excess:
    """A resource the estimate exceeds: the totals and the layer that needs the most."""

    label: str
    total: int
    budget: int
    capacity: int
    worst: str
    worst_amount: int
    detail: str


def over_budget(plan: NetworkPlan) -> Excess | None:
    """The first resource the core's estimate exceeds on the part's budget, or None."""
    part = find_part(plan.options.part)
    stages = estimate(plan)
    checks = [
        ("BRAM18", part.bram18, lambda s: s.bram18_total),
        ("LUTs", part.luts, lambda s: s.luts),
        ("DSPs", part.dsps, lambda s: s.dsps),
    ]
    for label, capacity, amount in checks:
        budget = int(capacity * plan.options.utilization)
        total = sum(amount(s) for s in stages)
        if total <= budget:
            continue
        worst = max(stages, key=amount)
        detail = ""
        if label == "BRAM18":
            detail = " (" + ", ".join(f"{k} {v}" for k, v in worst.bram18.items() if v) + ")"
        return Excess(label, total, budget, capacity, worst.name, amount(worst), detail)
    return None


def resource_error(plan: NetworkPlan, excess: Excess) -> HlsPlanError:
    """The refusal of a core over budget, naming the largest layer and the fixes."""
    return HlsPlanError(
        f"the core needs about {excess.total} {excess.label} but {plan.options.part} allows "
        f"{excess.budget} ({plan.options.utilization:.0%} of {excess.capacity}); layer "
        f"'{excess.worst}' alone needs {excess.worst_amount}{excess.detail}. Reduce its unroll "
        f"factor (--unroll {excess.worst}=N) or word widths, or target a larger part (--part)"
    )
