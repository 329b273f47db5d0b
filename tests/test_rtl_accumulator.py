"""sf_accumulator_bank (one synapse bank's tagged current sets) on its own in Verilator,
assertions on: an array and a neuron unit around it under random traffic within the
protocol, every read and the landed flags against a Python model of the currents, the
forwarding hazards hit on purpose (the same word updated back to back, an update while
the other set is read, a free right after the last read with the next update in its
cycle), long runs on one word and a reset in the middle of a unit; swept over one and two
sets, channels per word, current widths (wrap-around at 6 bits, 33 past 32) and depths
(1: every update on the same word)."""

from __future__ import annotations

import pytest

from rtl_helpers import rtl_root
from spikeforge.rtl.generate import rtl_dir
from spikeforge.rtl.runner import run_unit_bench

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize(
    ("nset", "co", "cb", "depth"),
    [(1, 1, 8, 1), (2, 1, 8, 1), (1, 3, 12, 5), (2, 2, 20, 7), (2, 4, 6, 16), (1, 2, 33, 64)],
    ids=[
        "s1-c1-b8-d1",
        "s2-c1-b8-d1",
        "s1-c3-b12-d5",
        "s2-c2-b20-d7",
        "s2-c4-b6-d16",
        "s1-c2-b33-d64",
    ],
)
def test_accumulator_bank_matches_its_model(nset, co, cb, depth, tmp_path_factory):
    parameters = {"NSET": nset, "CO": co, "CB": cb, "DEPTH": depth}
    build_dir = rtl_root(tmp_path_factory) / f"unit-accumulator-s{nset}-c{co}-b{cb}-d{depth}"
    run_unit_bench(
        "sf_accumulator_bank.sv",
        parameters,
        "test_sf_accumulator_bank",
        build_dir,
        extra_sources=[rtl_dir() / "sf_util.sv", rtl_dir() / "sf_pipe.sv"],
    )
