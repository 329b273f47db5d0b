"""Open-source synthesis of the RTL core: yosys reads the SystemVerilog as Verilator does
(its synthesized netlist simulates to the golden model's numbers), and the resource /
Fmax report runs end to end (yosys synth_xilinx, synth_ecp5 + nextpnr-ecp5) on a small
network. The MNIST figures are `make synth` and docs/rtl.md (minutes per run)."""

from __future__ import annotations

import pytest

from netgen import random_images
from rtl_helpers import find_network, has_gate, rtl_root, saturates
from spikeforge.rtl.generate import generate
from spikeforge.rtl.runner import RtlSim, backend_result
from spikeforge.rtl.synth import ZYNQ_7020, generic_netlist, synth_report
from spikeforge.verify import compare, golden

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize("input_mode", ["poisson", "analog"])
def test_yosys_netlist_simulates_to_the_golden_model(input_mode, tmp_path_factory):
    def wanted(seed, net):
        return net.config.input_mode == input_mode and has_gate(net) and saturates(net, seed)

    seed, net = find_network(wanted, narrow=True)
    build = generate(net, rtl_root(tmp_path_factory))
    sim = RtlSim(build, net, netlist=generic_netlist(build))
    images = random_images(seed, net, 6)
    spec = {
        "kind": "images",
        "name": "netlist",
        "images": str(sim.save_images(images, "netlist")),
        "timesteps": net.config.timesteps,
    }
    [result] = sim.run([spec])
    verdict = compare(
        backend_result(result, net.config.timesteps, net.num_classes),
        golden(net, images, net.config.timesteps),
    )
    assert verdict.ok, verdict.describe()
    assert sum(result["expected_saturation"]) > 0


@pytest.mark.parametrize(
    "router, seed, named",
    [("router1", None, "router1, nextpnr's default seed"), ("router2", 7, "router2, seed 7")],
)
def test_synthesis_report_of_a_small_network(tmp_path, router, seed, named):
    # dense layers only: seconds of synthesis, a minute of routing
    _, net = find_network(lambda seed, net: all(layer.kind == "dense" for layer in net.layers))
    build = generate(net, tmp_path)
    report = synth_report(build, net.name, router=router, seed=seed)
    usage = report.xilinx
    assert usage is not None and report.ecp5 is not None
    assert 0 < usage.lut < ZYNQ_7020["LUT"] and 0 < usage.ff < ZYNQ_7020["FF"]
    assert usage.fits
    assert report.ecp5.device.startswith("LFE5U-25K")
    assert 10 < report.ecp5.fmax_mhz < 500
    text = (build.directory / "synth" / "report.md").read_text()
    assert "Zynq-7020" in text and "post-route Fmax" in text
    assert report.ecp5.router == router and report.ecp5.seed == seed
    assert f"nextpnr-ecp5 ({named})" in text
