"""The analytic cycle model against the code it describes, and `spikeforge report`.

The C testbench counts every pipelined loop's iterations; the model must predict them
exactly from the golden model's events (its cycle estimate adds pipeline depths to these).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from hls_nets import avgpool_network
from netgen import random_images, random_network
from spikeforge.cli import main
from spikeforge.hls import HlsOptions, build_csim, plan_network, run_beats
from spikeforge.hls.cycles import cycle_model, iterations
from spikeforge.hls.events import trace_events, worst_case_events
from spikeforge.hls.vectors import image_beats


def model_iterations(plan, images, steps):
    events = trace_events(plan, images, steps)
    return {key: int(value.sum()) for key, value in iterations(plan, events).items()}


@pytest.fixture(scope="module")
def cycles_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hls-cycles")


@pytest.mark.csim
@pytest.mark.parametrize(
    "seed,max_lanes,pool",
    [(0, 2, "gate"), (1, 3, "gate"), (9, 16, "gate"), (14, 1, "gate"), (19, 4, "running_max"),
     (27, 2, "gate"), (28, 3, "running_max")],
)
def test_iterations_equal_the_testbench_trace(seed, max_lanes, pool, cycles_dir):
    net = random_network(seed)
    net = dataclasses.replace(net, config=dataclasses.replace(net.config, pool=pool))
    images = random_images(seed, net, 6)
    plan = plan_network(net, HlsOptions(max_lanes=max_lanes))
    beats = image_beats(images, plan.input.element_bits)
    run = run_beats(build_csim(plan, cycles_dir), beats, net.config.timesteps, 6)
    assert model_iterations(plan, images, net.config.timesteps) == run.trace


@pytest.mark.csim
def test_iterations_equal_the_trace_on_mnist(mnist, mnist_net, cycles_dir):
    images = mnist.test_images[:20]
    plan = plan_network(mnist_net)
    run = run_beats(build_csim(plan, cycles_dir), image_beats(images), 16, 20)
    assert model_iterations(plan, images, 16) == run.trace


@pytest.mark.csim
def test_iterations_equal_the_trace_with_an_average_pool(cycles_dir):
    net = avgpool_network(5, "poisson")
    images = random_images(5, net, 6)
    plan = plan_network(net, HlsOptions(unroll={"conv": 2}))
    run = run_beats(build_csim(plan, cycles_dir), image_beats(images), 12, 6)
    assert model_iterations(plan, images, 12) == run.trace


def test_schedule_lies_between_the_slowest_stage_and_no_overlap():
    net = random_network(9)
    plan = plan_network(net)
    images = random_images(9, net, 8)
    model = cycle_model(plan, trace_events(plan, images, net.config.timesteps))
    busy = [stage.total for stage in model.stages]
    assert max(busy) <= model.mean_cycles <= sum(busy)


def test_worst_case_bounds_the_measured_model():
    net = random_network(19)
    plan = plan_network(net)
    steps = net.config.max_timesteps
    measured = cycle_model(plan, trace_events(plan, random_images(19, net, 8), steps))
    worst = cycle_model(plan, worst_case_events(plan, steps))
    assert measured.cycles_per_image.max() <= worst.mean_cycles
    for a, b in zip(measured.stages, worst.stages, strict=True):
        assert a.total <= b.total, a.name


def test_more_lanes_fewer_cycles():
    net = random_network(9)
    images = random_images(9, net, 8)
    cycles = []
    for lanes in (1, 2, 4):
        plan = plan_network(net, HlsOptions(max_lanes=lanes))
        cycles.append(cycle_model(plan, trace_events(plan, images, 6)).mean_cycles)
    assert cycles[0] > cycles[1] > cycles[2]


def test_report_command(mnist_net_dir, capsys):
    code = main(["report", str(mnist_net_dir), "--images", "20", "--timesteps", "8", "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "| conv1 | conv |" in text and "cycles per image" in text and "images/s" in text
    code = main(
        ["report", str(mnist_net_dir), "--images", "20", "--timesteps", "8", "--json", "--quiet"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    layer_synops = sum(row["synops"] for row in report["layers"])
    assert np.isclose(layer_synops, report["synops_per_image"])
    assert report["images_per_second"] == pytest.approx(
        report["clock_mhz"] * 1e6 / report["cycles_per_image"]
    )
    assert report["vitis"] is None


def test_report_refuses_an_unroll_that_does_not_divide(mnist_net_dir, capsys):
    code = main(["report", str(mnist_net_dir), "--unroll", "conv1=3", "--quiet"])
    assert code == 2
    assert "layer 'conv1': unroll factor 3 does not divide" in capsys.readouterr().err
