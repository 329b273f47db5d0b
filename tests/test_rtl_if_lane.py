"""sf_if_lane (one neuron's V + I + b, clamp, fire and count: the neuron unit's lanes) on
its own in Verilator, assertions on: random neurons at one per cycle and neurons taking
turns through images of several steps, including currents and membranes that clamp at
either end, each result equal to the golden model's update (sim/test_sf_if_lane.py);
swept over current, membrane and count widths (the narrowest and a 64-bit sum), both
reset modes, negative and positive biases and initial membranes, the smallest and the
largest threshold the formats allow (1 .. 2^(VB-2) - 1) and a negative one (reset to
zero: subtracting it could leave the membrane range, and the IR's thresholds are >= 1)."""

from __future__ import annotations

import pytest

from rtl_helpers import rtl_root
from spikeforge.rtl.runner import run_unit_bench

pytestmark = pytest.mark.rtl


def word(value: int) -> str:
    """A 64-bit two's complement Verilog literal (Verilator's -G takes no negative value)."""
    return f"64'h{value & ((1 << 64) - 1):016x}"


# CB, VB, NB, SB, THETA, BIAS, V_INIT, RESET_ZERO
CASES = {
    "c16v16-subtract": (16, 16, 8, 18, 100, -7, 0, 0),
    "narrowest": (6, 4, 3, 8, 3, -8, 1, 0),  # theta 2^(VB-2)-1, bias at its minimum
    "c12v10-zero": (12, 10, 5, 14, 200, 150, 100, 1),
    "negative-theta-zero": (8, 12, 4, 14, -50, -3, -25, 1),
    "theta1-narrow-current": (5, 20, 6, 22, 1, 0, 0, 0),
    "sum64": (60, 48, 16, 64, (1 << 46) - 1, -(1 << 47), -(1 << 45), 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_if_lane_matches_the_golden_update(case, tmp_path_factory):
    cb, vb, nb, sb, theta, bias, v_init, reset_zero = CASES[case]
    parameters = {
        "CB": cb, "VB": vb, "NB": nb, "SB": sb, "THETA": word(theta), "BIAS": word(bias),
        "V_INIT": word(v_init), "RESET_ZERO": reset_zero,
    }
    build_dir = rtl_root(tmp_path_factory) / f"unit-if-lane-{case}"
    run_unit_bench("sf_if_lane.sv", parameters, "test_sf_if_lane", build_dir)
