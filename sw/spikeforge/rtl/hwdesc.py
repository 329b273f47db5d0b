"""Everything the RTL needs about one stage, derived from the IR and the plan: geometry
tables, the weight words and the word widths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Network
from ..lowering import InputEncoding, lower
from ..quant import signed_bits
from .plan import StagePlan, check_plan, default_plan
from .stages import Stage, build_stages
from .tables import GateAxis, SynapseAxis, TileAxis, gate_axis, synapse_axis, tile_axis


@dataclass
class StageHw:
    stage: Stage
    plan: StagePlan
    rows: SynapseAxis
    cols: SynapseAxis
    weight_words: np.ndarray  # (cin * kernel rows * kernel columns, Co)
    tile_rows: TileAxis
    tile_cols: TileAxis
    gate_rows: GateAxis | None
    gate_cols: GateAxis | None
    current_bits: int  # the synapse array's accumulators (partial sums without the bias)

    @property
    def index(self) -> int:
        return self.stage.index

    @property
    def lanes(self) -> int:
        """Parallel accumulate units of the synapse array."""
        py, px = self.plan.banks
        return py * px * self.stage.out_shape[2]

    @property
    def fire_lanes(self) -> int:
        ty, tx = self.plan.tile
        return ty * tx * self.stage.out_shape[2]

    def weight_address(self, channel: int, kernel_row: int, kernel_col: int) -> int:
        return (channel * self.rows.kernel_len + kernel_row) * self.cols.kernel_len + kernel_col


def _weight_words(stage: Stage) -> np.ndarray:
    """The kernel (kh, kw, cin, cout) as words (cin, kh, kw) of cout weights."""
    w = stage.weights.astype(np.int64)
    kh, kw, cin, cout = w.shape
    return w.transpose(2, 0, 1, 3).reshape(cin * kh * kw, cout)


def value_bits(encoding: InputEncoding) -> int:
    """Width of an input element as a signed number: an unsigned EB-bit element takes
    EB + 1 bits (sf_synapse zero-extends it before the multiply), a signed one EB."""
    return encoding.element_bits + (0 if encoding.signed else 1)


def _current_bits(stage: Stage, weight_bits: int, encoding: InputEncoding) -> int:
    """Width of a partial sum of one timestep's (or the analog image's) contributions."""
    # at least one bit wider than a weight (or a weight x input-element product: WB + 9
    # bits for uint8 pixels), so that the RTL sign-extends every contribution into the
    # accumulator
    source = weight_bits + (value_bits(encoding) if stage.analog else 0)
    return max(source + 1, signed_bits(stage.current_low, stage.current_high))


def describe_stage(
    stage: Stage, plan: StagePlan, weight_bits: int, encoding: InputEncoding
) -> StageHw:
    (h, w, _), (ho, wo, _) = stage.in_shape, stage.out_shape
    (kh, kw), (sy, sx), (pt, pl) = stage.kernel, stage.strides, stage.pads[0::2]
    (py, px), (ty, tx) = plan.banks, plan.tile
    rows = synapse_axis(h, ho, kh, sy, pt, py)
    cols = synapse_axis(w, wo, kw, sx, pl, px)
    gate = stage.gate
    origin = (0, 0)
    if gate is not None:
        origin = (gate.pads[0] % ty, gate.pads[2] % tx)
    tile_rows = tile_axis(ho, ty, origin[0], py)
    tile_cols = tile_axis(wo, tx, origin[1], px)
    gate_rows = gate_cols = None
    if gate is not None:
        gate_rows = gate_axis(
            tile_rows, gate.pool[0], gate.strides[0], gate.pads[0], gate.out_shape[0]
        )
        gate_cols = gate_axis(
            tile_cols, gate.pool[1], gate.strides[1], gate.pads[2], gate.out_shape[1]
        )
    return StageHw(
        stage=stage,
        plan=plan,
        rows=rows,
        cols=cols,
        weight_words=_weight_words(stage),
        tile_rows=tile_rows,
        tile_cols=tile_cols,
        gate_rows=gate_rows,
        gate_cols=gate_cols,
        current_bits=_current_bits(stage, weight_bits, encoding),
    )


def describe(net: Network, plan: list[StagePlan] | None = None) -> list[StageHw]:
    """The hardware description of every stage of ``net`` (default plan unless given)."""
    stages = build_stages(net)
    plan = plan or default_plan(stages)
    check_plan(stages, plan)
    assert net.formats is not None
    bits, encoding = net.formats.weight_bits, lower(net).input
    return [
        describe_stage(stage, entry, bits, encoding)
        for stage, entry in zip(stages, plan, strict=True)
    ]
