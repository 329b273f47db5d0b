"""Writes the generated half of the RTL core: the ``sf_params`` package and the memory files.

The package holds every number the hand-written modules in ``hw/rtl`` need, one 32-bit
field per stage in flat vectors (``S_<NAME>[32*l +: 32]``, a form yosys and Verilator
both read), per-channel constants in 64-bit fields, the register offsets of
:mod:`spikeforge.contract` and the build id. The memory files (``sNN_*.hex``, read with
``$readmemh`` relative to the directory the tools run in) hold the geometry tables and the
kernels (one word of output-channel weights per input channel and kernel position).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .. import contract
from ..ir import Network
from ..netfile import build_id
from ..quant import initial_membrane
from .hwdesc import StageHw
from .tables import GateAxis, SynapseAxis, TileAxis, bits

PACKAGE_FILE = "sf_params.sv"


# --- memory files -----------------------------------------------------------------------


def _pack(fields: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """(value, width) fields, LSB first -> (word, total width)."""
    word, offset = 0, 0
    for value, width in fields:
        value = int(value)
        if value < 0 or value >= 1 << width:
            raise ValueError(f"field value {value} does not fit {width} bits")
        word |= value << offset
        offset += width
    return word, offset


def write_hex(path: Path, words: list[int], width: int) -> None:
    digits = max(1, -(-width // 4))
    path.write_text("".join(f"{w:0{digits}x}\n" for w in words))


def synapse_table(axis: SynapseAxis, across: SynapseAxis | None = None) -> tuple[list[int], int]:
    """Entry {coordinate, group} (each bits(size), bits(groups) wide; unused entries zero):
    per bank {address, kernel index} of its target in that group (zero where it has none:
    the bank's target counts, :func:`target_count_table`, keep it from reading those).

    The row table (``across`` = the column axis) holds its address and kernel index
    multiplied by the column axis' depth and kernel extent, so the RTL adds a row and a
    column field where it would otherwise multiply (a multiplier on that path set the clock).
    """
    addr_scale = 1 if across is None else across.addr_len
    kernel_scale = 1 if across is None else across.kernel_len
    addr_bits = bits(axis.addr_len * addr_scale)
    kernel_bits = bits(axis.kernel_len * kernel_scale)
    group_bits = bits(axis.groups)
    words, width = [0] * (1 << (bits(axis.size) + group_bits)), 0
    for y in range(axis.size):
        for g in range(axis.groups):
            fields = []
            for r in range(axis.banks):
                kernel = max(0, int(axis.kernel[y, g, r]))
                fields += [
                    (axis.addr[y, g, r] * addr_scale, addr_bits),
                    (kernel * kernel_scale, kernel_bits),
                ]
            words[(y << group_bits) | g], width = _pack(fields)
    return words, width


def target_count_table(axis: SynapseAxis) -> tuple[list[int], int]:
    """Entry (coordinate, bits(size) wide): per bank, how many targets the coordinate has
    there (bits(groups + 1) each; 0: the bank takes no part in the coordinate's events)."""
    count_bits = bits(axis.groups + 1)
    words = [0] * (1 << bits(axis.size))
    for y in range(axis.size):
        words[y] = _pack([(n, count_bits) for n in axis.targets[y]])[0]
    return words, count_bits * axis.banks


def tile_table(
    axis: TileAxis, banks: int, addr_len: int, out: int, across: tuple[int, int] = (1, 1)
) -> tuple[list[int], int]:
    """Entry (tile): per member {valid, bank, address, coordinate}. The row table's bank
    and address are multiplied by ``across`` = (column banks, column depth): the RTL adds
    the row and column fields to get the bank index and the bank address."""
    bank_scale, addr_scale = across
    words, width = [], 0
    for t in range(axis.tiles):
        fields = []
        for d in range(axis.tile):
            fields += [
                (axis.valid[t, d], 1),
                (axis.bank[t, d] * bank_scale, bits(banks * bank_scale)),
                (axis.addr[t, d] * addr_scale, bits(addr_len * addr_scale)),
                (axis.coord[t, d], bits(out)),
            ]
        word, width = _pack(fields)
        words.append(word)
    return words, width


def gate_table(
    axis: GateAxis, pool: int, out: int, across: tuple[int, int] = (1, 1)
) -> tuple[list[int], int]:
    """Entry (tile): per window bank {valid, first, address, coordinate, per member
    {inside, offset}}. The row table's address and member offsets are multiplied by
    ``across`` = (column window-bank depth, pool columns), as in :func:`tile_table`."""
    addr_scale, offset_scale = across
    words, width = [], 0
    for t in range(axis.valid.shape[0]):
        fields = []
        for g in range(axis.banks):
            fields += [
                (axis.valid[t, g], 1),
                (axis.first[t, g], 1),
                (axis.addr[t, g] * addr_scale, bits(axis.addr_len * addr_scale)),
                (axis.coord[t, g], bits(out)),
            ]
            for d in range(axis.member_in.shape[2]):
                fields += [
                    (axis.member_in[t, g, d], 1),
                    (axis.member_w[t, g, d] * offset_scale, bits(pool * offset_scale)),
                ]
        word, width = _pack(fields)
        words.append(word)
    return words, width


def flatten_table(source: tuple[int, int, int]) -> tuple[list[int], int]:
    """A dense stage's event (y, x, c) -> input index (y * W + x) * C + c: the table of
    (y * W + x) * C indexed by {y, x} (each field bits(H), bits(W) wide)."""
    h, w, c = source
    xb = bits(w)
    words = [0] * (1 << (bits(h) + xb))
    for y in range(h):
        for x in range(w):
            words[(y << xb) | x] = (y * w + x) * c
    return words, bits(h * w * c)


def weight_words(hw: StageHw, weight_bits: int) -> tuple[list[int], int]:
    """One word per (input channel, kernel row, kernel column); channel co of a word at
    bits [co*WB +: WB]. Every bank holds a copy."""
    mask = (1 << weight_bits) - 1
    lanes = hw.weight_words
    shifts = np.arange(lanes.shape[1]) * weight_bits
    words = [
        sum((int(v) & mask) << int(s) for v, s in zip(row, shifts, strict=True)) for row in lanes
    ]
    return words, lanes.shape[1] * weight_bits


def write_memories(out: Path, stages: list[StageHw], weight_bits: int) -> None:
    for hw in stages:
        st, stem = hw.stage, f"s{hw.index:02d}"
        (py, px) = hw.plan.banks
        ho, wo, _ = st.out_shape
        write_hex(out / f"{stem}_sar.hex", *synapse_table(hw.rows, across=hw.cols))
        write_hex(out / f"{stem}_sac.hex", *synapse_table(hw.cols))
        write_hex(out / f"{stem}_sgr.hex", *target_count_table(hw.rows))
        write_hex(out / f"{stem}_sgc.hex", *target_count_table(hw.cols))
        write_hex(out / f"{stem}_w.hex", *weight_words(hw, weight_bits))
        if st.dense:
            write_hex(out / f"{stem}_flat.hex", *flatten_table(st.source_shape))
        nur = tile_table(hw.tile_rows, py, hw.rows.addr_len, ho, across=(px, hw.cols.addr_len))
        write_hex(out / f"{stem}_nur.hex", *nur)
        write_hex(out / f"{stem}_nuc.hex", *tile_table(hw.tile_cols, px, hw.cols.addr_len, wo))
        if hw.gate_rows is not None and hw.gate_cols is not None and st.gate is not None:
            gh, gw, _ = st.event_shape
            pool_h, pool_w = st.gate.pool
            across = (hw.gate_cols.addr_len, pool_w)
            write_hex(out / f"{stem}_gr.hex", *gate_table(hw.gate_rows, pool_h, gh, across))
            write_hex(out / f"{stem}_gc.hex", *gate_table(hw.gate_cols, pool_w, gw))


# --- the package ----------------------------------------------------------------------------


def stage_fields(hw: StageHw, channel_base: int) -> dict[str, int]:
    """The per-stage numbers of the package (names without the ``S_`` prefix)."""
    st = hw.stage
    (h, w, c), (ho, wo, co) = st.in_shape, st.out_shape
    (py, px), (ty, tx) = hw.plan.banks, hw.plan.tile
    gate = st.gate
    fields = {
        "FLATTEN": int(st.dense),
        "ANALOG": int(st.analog),
        "GATE": int(gate is not None),
        "FINAL": int(st.final),
        "KEEP_COUNTS": int(gate is not None or st.final),
        "SRC_ROWS": st.source_shape[0],
        "SRC_COLS": st.source_shape[1],
        "IN_ROWS": h,
        "IN_COLS": w,
        "IN_CHANNELS": c,
        "OUT_ROWS": ho,
        "OUT_COLS": wo,
        "OUT_CHANNELS": co,
        "BANK_ROWS": py,
        "BANK_COLS": px,
        "GROUPS_Y": hw.rows.groups,
        "GROUPS_X": hw.cols.groups,
        "KERNEL_ROWS": hw.rows.kernel_len,
        "KERNEL_COLS": hw.cols.kernel_len,
        "BANK_DEPTH_Y": hw.rows.addr_len,
        "BANK_DEPTH_X": hw.cols.addr_len,
        "CURRENT_BITS": hw.current_bits,
        "TILE_ROWS": ty,
        "TILE_COLS": tx,
        "TILES_Y": hw.tile_rows.tiles,
        "TILES_X": hw.tile_cols.tiles,
        "TILE_ORIGIN_Y": hw.tile_rows.origin,
        "TILE_ORIGIN_X": hw.tile_cols.origin,
        "WINDOW_BANK_ROWS": 1,
        "WINDOW_BANK_COLS": 1,
        "WINDOW_DEPTH_Y": 1,
        "WINDOW_DEPTH_X": 1,
        "GATE_ROWS": 1,
        "GATE_COLS": 1,
        "POOL_ROWS": 1,
        "POOL_COLS": 1,
        "CURRENT_SETS": 2 if hw.plan.double_buffer else 1,
        "LINK": hw.plan.link_depth,
        "CH_BASE": channel_base,
    }
    if gate is not None and hw.gate_rows is not None and hw.gate_cols is not None:
        fields.update(
            WINDOW_BANK_ROWS=hw.gate_rows.banks,
            WINDOW_BANK_COLS=hw.gate_cols.banks,
            WINDOW_DEPTH_Y=hw.gate_rows.addr_len,
            WINDOW_DEPTH_X=hw.gate_cols.addr_len,
            GATE_ROWS=st.event_shape[0],
            GATE_COLS=st.event_shape[1],
            POOL_ROWS=int(gate.pool[0]),
            POOL_COLS=int(gate.pool[1]),
        )
    return fields


def _vector(values: list[int], width: int) -> str:
    """A flat SystemVerilog vector, element 0 in the low bits."""
    mask = (1 << width) - 1
    parts = [f"{width}'h{v & mask:x}" for v in reversed(values)]
    return "{" + ", ".join(parts) + "}"


def package_text(net: Network, stages: list[StageHw], mem_prefix: str = "./") -> str:
    fmt, cfg = net.formats, net.config
    assert fmt is not None
    thetas, biases, vinits, per_stage = [], [], [], []
    for hw in stages:
        per_stage.append(stage_fields(hw, len(thetas)))
        layer = hw.stage.layer
        thetas += [int(v) for v in layer.threshold]
        biases += [int(v) for v in layer.bias]
        vinits += [int(v) for v in initial_membrane(layer, cfg)]
    # the core sees the input as stage 0's source: (1, 1, N), (1, L, C) or (H, W, C)
    source = stages[0].stage.source_shape
    links = [source] + [hw.stage.event_shape for hw in stages]
    links += [hw.stage.out_shape for hw in stages]
    sat_top = contract.SAT_BASE + contract.REGISTER_STRIDE * (len(stages) - 1)
    offsets = {
        reg.name: reg.offset for reg in (*contract.CONTROL_REGISTERS, *contract.CORE_REGISTERS)
    }
    sum_bits = max(fmt.membrane_bits, fmt.bias_bits, *(hw.current_bits for hw in stages)) + 2
    h, w, c = source
    element_bits, signed = net.input_format.bits, net.input_format.signed
    scalars = {
        "NS": (len(stages), "stages (neuron layers)"),
        "K": (net.num_classes, "classes"),
        "NB": (cfg.count_bits, "spike count bits"),
        "VB": (fmt.membrane_bits, "membrane bits"),
        "TB": (fmt.threshold_bits, "threshold bits (unsigned)"),
        "WB": (fmt.weight_bits, "weight bits"),
        "SB": (sum_bits, "V + I + b before the clamp"),
        "MAX_T": (cfg.max_timesteps, "largest TIMESTEPS"),
        "DEFAULT_T": (cfg.timesteps, "TIMESTEPS after reset"),
        "RESET_ZERO": (int(cfg.reset == "zero"), "1: reset to zero, 0: by subtraction"),
        "POISSON": (int(cfg.input_mode == "poisson"), "1: Poisson input, 0: analog"),
        "RUNNING_MAX": (int(cfg.pool == "running_max"), "max-pool: 1 running max, 0 gate"),
        "IN_H": (h, "input rows"),
        "IN_W": (w, "input columns"),
        "IN_C": (c, "input channels"),
        "IN_EB": (element_bits, "input element bits (8 or 16)"),
        "IN_SIGNED": (int(signed), "1: input elements are two's complement"),
        "EVB": (element_bits, "event value bits (the analog input's elements)"),
        "BEATS": (contract.beats_per_image(source, element_bits), "in_r beats per image"),
        "EYB": (max(bits(s[0]) for s in links), "event row bits"),
        "EXB": (max(bits(s[1]) for s in links), "event column bits"),
        "ECB": (max(bits(s[2]) for s in links), "event channel bits"),
        "AXIL_AW": (max(8, (sat_top + 3).bit_length()), "s_axi_control address bits"),
        "SAT_BASE": (contract.SAT_BASE, "SAT_0"),
        "REG_STRIDE": (contract.REGISTER_STRIDE, "register spacing"),
        "NCH": (len(thetas), "channels of all stages"),
    }
    scalars.update({f"REG_{name}": (offset, name) for name, offset in offsets.items()})
    # IER and ISR are held whole (both events come at the end of a run): only their width
    scalars.update(
        {f"{b.register}_{b.name}": (b.position, f"{b.register} bit: {b.meaning}")
         for b in contract.BITS if b.register in ("CTRL", "GIE", "STATUS")}
    )
    for register in ("STATUS", "IER"):
        width = max(b.position for b in contract.register_bits(register)) + 1
        scalars[f"{register}_WIDTH"] = (width, f"{register} flags held (bits 0 .. {width - 1})")
    lines = [
        f"// Generated by spikeforge from network '{net.name}'; do not edit.",
        "// Regenerate with `spikeforge sim` / `spikeforge synth` (sw/spikeforge/rtl/params.py).",
        "package sf_params;",
        f"  localparam logic [31:0] BUILD_ID = 32'h{build_id(net):08x};",
        f"  localparam logic [31:0] SEED = 32'h{cfg.seed:08x};  // Poisson generator seed",
        f'  localparam MEM_PREFIX = "{mem_prefix}";  // where $readmemh finds the hex files',
        "  // stage l's memory files are <stem>_<table>.hex, the stem MEM_PREFIX + sNN",
        f"  function automatic logic [8*{len(mem_prefix) + 3}-1:0] mem_stem(input integer l);",
        "    mem_stem = {MEM_PREFIX, \"s\", 8'(48 + l / 10), 8'(48 + l % 10)};",
        "  endfunction",
    ]
    lines += [
        f"  localparam int {name} = {value};  // {note}" for name, (value, note) in scalars.items()
    ]
    lines += ["", "  // per-channel constants, 64-bit two's complement, stage l from S_CH_BASE[l]"]
    lines += [f"  localparam logic [NCH*64-1:0] CH_THETA = {_vector(thetas, 64)};"]
    lines += [f"  localparam logic [NCH*64-1:0] CH_BIAS = {_vector(biases, 64)};"]
    lines += [f"  localparam logic [NCH*64-1:0] CH_VINIT = {_vector(vinits, 64)};"]
    lines += ["", "  // per-stage numbers, stage l at [32*l +: 32] (see stage_fields in params.py)"]
    for name in per_stage[0]:
        values = [fields[name] for fields in per_stage]
        lines.append(f"  localparam logic [NS*32-1:0] S_{name} = {_vector(values, 32)};")
    lines += ["endpackage", ""]
    return "\n".join(lines)
