"""sf_link (the block-RAM event FIFO between two stages) on its own in Verilator,
assertions on: no item lost, repeated or reordered under random stalls on both sides,
exactly DEPTH + 1 items held, one item per cycle. The core's tests rarely fill a link: the
banks' queues in front of it absorb most stalls."""

from __future__ import annotations

import pytest

from rtl_helpers import rtl_root
from spikeforge.rtl.runner import run_unit_bench

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize("depth", [2, 5, 16])
def test_link_passes_every_item_once_in_order(depth, tmp_path_factory):
    run_unit_bench("sf_link.sv", {"WIDTH": 6, "DEPTH": depth}, "test_sf_link",
                   rtl_root(tmp_path_factory) / f"unit-link-d{depth}")
