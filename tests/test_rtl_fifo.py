"""sf_fifo (the stages' output FIFO and the synapse banks' queues) on its own in
Verilator, assertions on: every cycle's head, o_valid, i_ready and free count equal a
Python model of the queue under random stalls on both sides, it fills to exactly DEPTH
and drains in order, refuses a push when full even while popping, and passes one item
per cycle; swept over widths and depths (2, odd, 256: the 9-bit free count's top)."""

from __future__ import annotations

import pytest

from rtl_helpers import rtl_root
from spikeforge.rtl.runner import run_unit_bench

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize(
    ("width", "depth", "credited"),
    [(1, 2, 0), (8, 4, 0), (5, 7, 0), (12, 16, 1), (3, 256, 0)],
    ids=["w1d2", "w8d4", "w5d7", "w12d16-credited", "w3d256"],
)
def test_fifo_matches_its_model(width, depth, credited, tmp_path_factory):
    parameters = {"WIDTH": width, "DEPTH": depth, "CREDITED": credited}
    build_dir = rtl_root(tmp_path_factory) / f"unit-fifo-w{width}-d{depth}-c{credited}"
    run_unit_bench("sf_fifo.sv", parameters, "test_sf_fifo", build_dir)
