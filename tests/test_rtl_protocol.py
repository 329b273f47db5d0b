"""The RTL core's interface contract (docs/hardware-contract.md), on small networks that
saturate: back-to-back images, random TVALID gaps and TREADY backpressure, run-time T,
reset in the middle of an image, malformed streams, TIMESTEPS out of range and the
registers, for uint8 pixels (analog and Poisson) and 16-bit signed inputs (two elements a
beat). Every image is checked against the golden model by the bench's scoreboard."""

from __future__ import annotations

import numpy as np
import pytest

from netgen import random_images
from rtl_helpers import find_network, has_gate, rtl_root, saturates
from spikeforge.contract import (
    STATUS_BAD_TIMESTEPS,
    STATUS_TLAST_EARLY,
    STATUS_TLAST_MISSING,
    beats_per_image,
)
from spikeforge.netfile import build_id
from spikeforge.rtl.generate import generate
from spikeforge.rtl.runner import RtlSim

pytestmark = pytest.mark.rtl


def beats(net) -> int:
    return beats_per_image(net.input_shape, net.input_format.bits)


def scenarios(sim: RtlSim, net) -> list[dict]:
    images = random_images(7, net, 9)
    every = str(sim.save_images(images, "protocol"))
    three = str(sim.save_images(images[:3], "protocol3"))
    steps, top = net.config.timesteps, net.config.max_timesteps
    other = 1 if steps != 1 else min(2, top)
    return [
        {"kind": "registers", "name": "registers"},
        {"kind": "images", "name": "back-to-back", "images": every, "timesteps": steps,
         "watch_input": True},
        {"kind": "images", "name": "gaps+backpressure", "images": every, "timesteps": steps,
         "per_start": 4, "gaps": 0.4, "backpressure": 0.6, "seed": 3},
        {"kind": "images", "name": "T=other", "images": every, "timesteps": other},
        {"kind": "images", "name": "T=max", "images": every, "timesteps": top},
        {"kind": "reset_mid_image", "name": "reset", "images": three, "timesteps": steps,
         "after_beats": beats(net) // 2},
        {"kind": "malformed", "name": "tlast-early", "images": three, "timesteps": steps,
         "mode": "early", "beats": max(1, beats(net) // 3)},
        {"kind": "malformed", "name": "tlast-missing", "images": three, "timesteps": steps,
         "mode": "missing", "beats": 5},
        {"kind": "bad_timesteps", "name": "T=0", "timesteps": 0},
        {"kind": "bad_timesteps", "name": "T=max+1", "timesteps": top + 1},
        {"kind": "images", "name": "after", "images": three, "timesteps": steps},
    ]  # fmt: skip


@pytest.fixture(
    scope="module",
    params=[("analog", 8, False), ("poisson", 8, False), ("analog", 16, True)],
    ids=["analog-gate", "poisson-gate", "analog-int16-gate"],
)
def protocol_run(request, tmp_path_factory):
    """A small saturating network with a max-pool gate, for each input mode, and for
    16-bit signed inputs."""
    mode, bits, signed = request.param

    def wanted(seed, net):
        fmt = net.input_format
        return (
            net.config.input_mode == mode
            and (fmt.bits, fmt.signed) == (bits, signed)
            and has_gate(net)
            and net.config.timesteps > 1
            and saturates(net, 7)
        )

    _, net = find_network(wanted, narrow=True)
    sim = RtlSim(generate(net, rtl_root(tmp_path_factory)), net)
    results = sim.run(scenarios(sim, net))
    return net, {r["name"]: r for r in results}


def test_every_image_equals_golden(protocol_run):
    _, results = protocol_run
    checked = [r for r in results.values() if "ok" in r]
    assert len(checked) == 8
    for result in checked:
        assert result["ok"], (result["name"], result["mismatched_images"])
        assert result["saturation_equal"], result["name"]
    # the networks saturate, so the SAT_i registers are really compared
    assert sum(results["back-to-back"]["expected_saturation"]) > 0


def test_back_to_back_and_traffic_shaping_give_the_same_results(protocol_run):
    _, results = protocol_run
    assert results["back-to-back"]["input_idle_cycles"] == 0
    assert results["back-to-back"]["words"] == results["gaps+backpressure"]["words"]
    assert results["back-to-back"]["status"] == [0]
    assert len(results["gaps+backpressure"]["cycles"]) == 3  # 4 + 4 + 1 images


def test_registers(protocol_run):
    net, results = protocol_run
    regs = results["registers"]
    assert regs["BUILD_ID"] == build_id(net)
    assert regs["MAX_TIMESTEPS"] == net.config.max_timesteps
    assert regs["TIMESTEPS"] == net.config.timesteps
    assert regs["CTRL"] & 0x4  # ap_idle after reset
    assert regs["STATUS"] == 0
    assert regs["TIMESTEPS_written"] == 7
    # CYCLES: at least one cycle per input beat of the run
    assert results["back-to-back"]["cycles"][0] >= beats(net) * 9


def test_reset_mid_image(protocol_run):
    _, results = protocol_run
    assert results["reset"]["idle_after_reset"]
    assert results["reset"]["ok"] and results["reset"]["status"] == 0


@pytest.mark.parametrize(
    ("name", "flag"), [("tlast-early", STATUS_TLAST_EARLY), ("tlast-missing", STATUS_TLAST_MISSING)]
)
def test_malformed_streams_are_flagged_not_carried(protocol_run, name, flag):
    _, results = protocol_run
    assert results[name]["status"] == flag
    assert results[name]["status_after"] == 0  # the next run is clean
    assert results[name]["ok"]  # the malformed image, the next one and the next run


def test_timesteps_out_of_range(protocol_run):
    _, results = protocol_run
    for name in ("T=0", "T=max+1"):
        result = results[name]
        assert result["status"] == STATUS_BAD_TIMESTEPS
        assert result["output_frames"] == 0 and result["cycles"] == 0
        assert result["in_ready"] == 0  # no image is read
    assert results["after"]["ok"] and results["after"]["status"] == [0]
    assert np.array(results["T=max"]["cycles"]).sum() > np.array(results["T=other"]["cycles"]).sum()
