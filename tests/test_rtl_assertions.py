"""The RTL's SystemVerilog assertions (`ifdef SF_ASSERTIONS, on in every simulation build)
catch broken invariants: benches that break one on purpose fail through run_unit_bench
with an RtlSimError naming the assertion that fired."""

from __future__ import annotations

import pytest

from rtl_helpers import rtl_root
from spikeforge.rtl.runner import RtlSimError, assertion_failures, run_unit_bench

pytestmark = pytest.mark.rtl


def test_a_push_into_a_full_credited_fifo_fires(tmp_path_factory):
    build_dir = rtl_root(tmp_path_factory) / "unit-fifo-overflow"
    with pytest.raises(RtlSimError, match=r"assertion failed: .*a_push_has_room") as caught:
        run_unit_bench("sf_fifo.sv", {"WIDTH": 4, "DEPTH": 3, "CREDITED": 1},
                       "test_sf_fifo_overflow", build_dir)
    assert "a credited producer pushed into a full FIFO" in str(caught.value)


def test_the_same_pushes_into_an_ordinary_fifo_pass(tmp_path_factory):
    """Without CREDITED a refused push is ordinary backpressure."""
    build_dir = rtl_root(tmp_path_factory) / "unit-fifo-overflow-ordinary"
    run_unit_bench("sf_fifo.sv", {"WIDTH": 4, "DEPTH": 3, "CREDITED": 0},
                   "test_sf_fifo_overflow", build_dir)


def test_a_withdrawn_item_fires(tmp_path_factory):
    build_dir = rtl_root(tmp_path_factory) / "unit-serializer-unstable"
    parameters = {"MS": 2, "CO": 4, "YB": 3, "XB": 3, "CB": 2}
    with pytest.raises(RtlSimError, match=r"assertion failed: .*a_in_stable"):
        run_unit_bench("sf_serializer.sv", parameters, "test_sf_serializer_unstable", build_dir)


def test_assertion_lines_are_picked_from_the_log():
    log = (
        "     0.00ns INFO     cocotb   Running test\n"
        "[55000] %Error: sf_fifo.sv:82: Assertion failed in TOP.sf_fifo.g_credited."
        "a_push_has_room: sf_fifo: a credited producer pushed into a full FIFO (DEPTH 3)\n"
        "%Error: sf_fifo.sv:82: Verilog $stop\n"
    )
    [line] = assertion_failures(log)
    assert line.startswith("[55000] %Error") and "a_push_has_room" in line
