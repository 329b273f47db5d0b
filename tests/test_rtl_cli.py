"""``spikeforge sim`` and ``spikeforge synth`` from the command line."""

from __future__ import annotations

import json

import pytest

from rtl_helpers import find_network, rtl_root
from spikeforge.cli import main
from spikeforge.netfile import save_network

pytestmark = pytest.mark.rtl


def test_sim_reports_accuracy_mismatches_and_cycles(mnist_net_dir, tmp_path_factory, capsys):
    root = rtl_root(tmp_path_factory)
    args = ["sim", str(mnist_net_dir), "-n", "6", "-T", "4", "--build-dir", str(root)]
    assert main([*args, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "6 images: all counts, classes and saturation totals equal" in out
    assert "cycles/image" in out and "ratio" in out
    assert main([*args, "--quiet", "--json", "--per-start", "4"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["mismatched_images"] == 0 and figures["saturation_equal"]
    assert figures["cycles_per_image"] > figures["ideal_cycles_per_image"] > 0


def test_sim_refuses_bad_options(mnist_net_dir, capsys):
    assert main(["sim", str(mnist_net_dir), "--gaps", "1.5", "--quiet"]) == 2
    assert "--gaps must be in [0, 1)" in capsys.readouterr().err
    assert main(["sim", str(mnist_net_dir), "-T", "999", "--quiet"]) == 2
    assert "the network's T must be in 1 .. " in capsys.readouterr().err


def test_synth_prints_the_resource_table(tmp_path, capsys):
    _, net = find_network(lambda seed, net: all(layer.kind == "dense" for layer in net.layers))
    save_network(net, tmp_path / "net" / "snn")
    args = ["synth", str(tmp_path / "net"), "--build-dir", str(tmp_path / "rtl"), "--no-ecp5"]
    assert main([*args, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| LUT |" in out and "Zynq-7020" in out and "report:" in out
