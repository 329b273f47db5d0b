"""sf_gate (the spiking max-pool of a stage) on its own in Verilator, assertions on: steps
of random spike tiles, end-of-step tokens and first-step flags over several images, fed
with random gaps (back to back too: the window state's two-deep forward), and every
step's emissions (window coordinates and channel masks) compared with the golden model's
gate (``simulator.gate_spikes`` / ``running_max_spikes``). Both pool modes, pools 2x2,
3x3 (overlapping, padded: a tile meets two windows per axis) and 2x3 (padded columns, a
row outside every window), fire tiles 1x1 and 2x2; the window tables come from the
generator's own functions (``tables.tile_axis``/``gate_axis``, ``params.gate_table``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtl_helpers import rtl_root
from spikeforge.ir import conv_output_size
from spikeforge.rtl.params import gate_table, write_hex
from spikeforge.rtl.runner import run_unit_bench, verilog_string
from spikeforge.rtl.tables import bits, gate_axis, tile_axis

pytestmark = pytest.mark.rtl

CHANNELS = 3
COUNT_BITS = 4  # counts and step tags; the bench's longest image has 2^4 - 1 steps

# name: producer map (H, W), pool, strides, pads (top, bottom, left, right)
POOLS = {
    "2x2": ((6, 6), (2, 2), (2, 2), (0, 0, 0, 0)),
    "3x3s2p1": ((7, 7), (3, 3), (2, 2), (1, 1, 1, 1)),
    "2x3": ((5, 8), (2, 3), (2, 3), (0, 0, 1, 1)),
}


def gate_case(pool_name: str, tile: tuple[int, int], running_max: bool, directory: Path):
    """The module's parameters for one case, with its tables written to ``directory`` as
    ``params.write_memories`` writes a stage's (``sNN_gr.hex``/``sNN_gc.hex``), and the
    case description the bench reads ($SF_GATE_CASE)."""
    (h, w), (ph, pw), (sh, sw), pads = POOLS[pool_name]
    (ty, tx), (top, _, left, _) = tile, pads
    gh = conv_output_size(h, ph, sh, pads[0], pads[1])
    gw = conv_output_size(w, pw, sw, pads[2], pads[3])
    origin = (top % ty, left % tx)  # hwdesc.describe_stage: tiles aligned to the padding
    tile_rows, tile_cols = tile_axis(h, ty, origin[0], 1), tile_axis(w, tx, origin[1], 1)
    gate_rows = gate_axis(tile_rows, ph, sh, top, gh)
    gate_cols = gate_axis(tile_cols, pw, sw, left, gw)
    directory.mkdir(parents=True, exist_ok=True)
    row_file, col_file = directory / "gate_gr.hex", directory / "gate_gc.hex"
    write_hex(row_file, *gate_table(gate_rows, ph, gh, (gate_cols.addr_len, pw)))
    write_hex(col_file, *gate_table(gate_cols, pw, gw))
    parameters = {
        "CO": CHANNELS,
        "TY": ty,
        "TX": tx,
        "TILES_Y": tile_rows.tiles,
        "TILES_X": tile_cols.tiles,
        "POOL_ROWS": ph,
        "POOL_COLS": pw,
        "GATE_ROWS": gh,
        "GATE_COLS": gw,
        "WINDOW_BANK_ROWS": gate_rows.banks,
        "WINDOW_BANK_COLS": gate_cols.banks,
        "WINDOW_DEPTH_Y": gate_rows.addr_len,
        "WINDOW_DEPTH_X": gate_cols.addr_len,
        "RUNNING_MAX": int(running_max),
        "NB": COUNT_BITS,
        "EYB": bits(gh) + 1,  # wider than the tables' coordinates: zero-extended
        "EXB": bits(gw) + 1,
        "ROW_TABLE_FILE": verilog_string(str(row_file)),
        "COL_TABLE_FILE": verilog_string(str(col_file)),
    }
    case = {
        "map": [h, w],
        "pool": [ph, pw],
        "strides": [sh, sw],
        "pads": list(pads),
        "origin": list(origin),
        "seed": sum(map(ord, pool_name)) * 7 + ty * 3 + tx + int(running_max),
    }
    case_file = directory / "gate_case.json"
    case_file.write_text(json.dumps(case))
    return parameters, case_file


@pytest.mark.parametrize("tile", [(1, 1), (2, 2)], ids=["tile1x1", "tile2x2"])
@pytest.mark.parametrize("pool_name", list(POOLS))
@pytest.mark.parametrize("mode", ["gate", "running_max"])
def test_gate_matches_golden(mode, pool_name, tile, tmp_path_factory):
    name = f"unit-gate-{mode}-{pool_name}-tile{tile[0]}x{tile[1]}"
    build_dir = rtl_root(tmp_path_factory) / name
    parameters, case_file = gate_case(pool_name, tile, mode == "running_max", build_dir)
    run_unit_bench(
        "sf_gate.sv", parameters, "test_sf_gate", build_dir, extra_sources=["sf_util.sv"],
        extra_env={"SF_GATE_CASE": str(case_file)},
    )
