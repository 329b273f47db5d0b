"""sf_serializer (a stage's spike vectors -> one event per cycle) on its own in Verilator,
assertions on: random items of MS members with channel masks over CO channels, tokens and
empty items, under random gaps and backpressure, come out as the events of a Python model
in order; one event per cycle at full rate; swept over MS, CO and the field widths (a
channel field wider than CO needs, one member, many members)."""

from __future__ import annotations

import pytest

from rtl_helpers import rtl_root
from spikeforge.rtl.runner import run_unit_bench

pytestmark = pytest.mark.rtl

SHAPES = [  # MS, CO, YB, XB, CB
    (1, 1, 1, 1, 1),
    (1, 8, 4, 3, 3),
    (3, 5, 2, 4, 4),
    (4, 16, 5, 5, 4),
    (9, 2, 3, 3, 1),
]


@pytest.mark.parametrize(
    ("ms", "co", "yb", "xb", "cb"), SHAPES, ids=[f"ms{s[0]}-co{s[1]}" for s in SHAPES]
)
def test_serializer_matches_its_model(ms, co, yb, xb, cb, tmp_path_factory):
    parameters = {"MS": ms, "CO": co, "YB": yb, "XB": xb, "CB": cb}
    name = "unit-serializer-" + "-".join(f"{k.lower()}{v}" for k, v in parameters.items())
    run_unit_bench("sf_serializer.sv", parameters, "test_sf_serializer",
                   rtl_root(tmp_path_factory) / name)
