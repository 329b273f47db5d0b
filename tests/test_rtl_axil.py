"""sf_axil_slave (the AXI4-Lite front end of s_axi_control) on its own in Verilator, behind
it a Python register model: random writes with random byte strobes read back, back-to-back
transactions (one every other cycle), reads and writes at once under random request gaps
and B/R backpressure, and every handshake output cycle by cycle against a reference of
the slave (sim/test_sf_axil_slave.py)."""

from __future__ import annotations

import pytest

from rtl_helpers import rtl_root
from spikeforge.rtl.runner import run_unit_bench

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize("addr_bits", [3, 8, 16])
def test_axil_slave_handshakes_and_register_port(addr_bits, tmp_path_factory):
    run_unit_bench("sf_axil_slave.sv", {"ADDR_BITS": addr_bits}, "test_sf_axil_slave",
                   rtl_root(tmp_path_factory) / f"unit-axil-a{addr_bits}")
