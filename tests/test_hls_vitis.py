"""The Vitis HLS flow (csim, csynth, cosim, export) of a generated project. Runs only
where vitis_hls is on PATH; skips with the reason elsewhere."""

from __future__ import annotations

import pytest

from netgen import random_images, random_network
from spikeforge.hls import generate_project, plan_network
from spikeforge.hls.vitis import INSTALL_HINT, csynth_xml, read_csynth, run_vitis, vitis_path

pytestmark = pytest.mark.vitis


@pytest.fixture
def vitis():
    path = vitis_path()
    if path is None:
        pytest.skip(f"vitis_hls is not on PATH: {INSTALL_HINT}")
    return path


def test_vitis_flow_on_a_small_network(vitis, tmp_path):
    net = random_network(14)  # conv, gate, conv, dense, dense
    images = random_images(14, net, 3)
    project = generate_project(plan_network(net), tmp_path / "prj", images, net.config.timesteps)
    # csim and cosim run the testbench against the golden vectors: a mismatch fails the flow
    log = run_vitis(project, ("csim", "csynth", "cosim", "export"), quiet=True)
    text = log.read_text()
    assert "tb: PASS" in text
    report = read_csynth(csynth_xml(project))
    assert report.latency_best is not None and report.latency_best > 0
    assert {"LUT", "FF"} <= set(report.resources)
    assert list((project / "ip").rglob("component.xml")), "export_design wrote no IP"
