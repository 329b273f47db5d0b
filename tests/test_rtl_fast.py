"""The fast RTL path (C++ Verilator harness, sim/fast/) against the cocotb bench on the same
networks, plans and images: identical out_r words, per-run CYCLES and STATUS, saturation
totals and BUILD_ID; then a few hundred MNIST test images through the fast path == golden.
The random networks are the ones tests/test_rtl_random.py draws, so a whole-suite run
shares their cocotb builds. SPIKEFORGE_RTL_FAST_IMAGES sets the MNIST count (CI: 300)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from netgen import random_images
from rtl_helpers import env_int, find_network, rtl_root, saturates
from rtlmodel import random_plan
from spikeforge.cli import main
from spikeforge.ir import NeuronLayer
from spikeforge.rtl.fast import compile_harness, run_harness, simulate_fast
from spikeforge.rtl.generate import generate
from spikeforge.rtl.runner import RtlSim, backend_result
from spikeforge.verify import compare, golden

pytestmark = pytest.mark.rtl

MNIST_IMAGES = env_int("SPIKEFORGE_RTL_FAST_IMAGES", 300)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return rtl_root(tmp_path_factory)


def both_paths(net, images, steps, per_start, root, plan=None):
    """The cocotb bench's and the fast harness's results for the same runs."""
    build = generate(net, root, plan)
    sim = RtlSim(build, net)
    spec = {
        "kind": "images",
        "name": "fast-vs-cocotb",
        "images": str(sim.save_images(images, "fast_vs_cocotb")),
        "timesteps": steps,
        "per_start": per_start,
    }
    [cocotb_run] = sim.run([spec])
    cocotb = backend_result(cocotb_run, steps, net.num_classes)
    fast, registers = run_harness(compile_harness(build, net), build, net, images, steps, per_start)
    return build, cocotb_run, cocotb, fast, registers


def assert_identical(build, cocotb_run, cocotb, fast, registers, net, images, steps):
    assert np.array_equal(fast.counts, cocotb.counts)
    assert np.array_equal(fast.classes, cocotb.classes)
    assert np.array_equal(fast.saturation, cocotb.saturation)
    runs = np.array(registers["runs"])
    assert runs[:, 1].tolist() == cocotb_run["cycles"]  # CYCLES of every run
    assert runs[:, 2].tolist() == cocotb_run["status"] == [0] * len(runs)
    assert registers["build_id"] == build.build_id
    verdict = compare(fast, golden(net, images, steps))
    assert verdict.ok, verdict.describe()


def test_saturating_poisson_network_runtime_t_several_per_start(root):
    """Narrow membranes clamp in two layers (Poisson input, as in test_rtl_random); a
    run-time T other than the network's, 3 images per ap_start (the last run shorter)."""

    def wanted(seed, net):
        config = net.config
        return (config.input_mode, config.reset) == ("poisson", "subtract") and saturates(
            net, seed, 2
        )

    seed, net = find_network(wanted, narrow=True)
    images = random_images(seed, net, 8)
    steps = net.config.timesteps + 3
    result = both_paths(net, images, steps, 3, root)
    registers, fast = result[4], result[3]
    assert len(registers["runs"]) == 3
    assert int((fast.saturation > 0).sum()) >= 2  # the case is the one it claims to be
    assert_identical(*result, net, images, steps)


def test_signed_16_bit_inputs_on_a_random_plan(root):
    """An int16 image (test_rtl_random's case: the most negative weight, extreme inputs,
    a part-empty last beat) on a random parallelism plan, one run of all images."""

    def wanted(seed, net):
        fmt, first = net.input_format, net.layers[0]
        elements = int(np.prod(net.input_shape))
        return (
            (fmt.bits, fmt.signed, len(net.input_shape)) == (16, True, 3)
            and first.kind == "conv"
            and elements % 2 != 0
        )

    seed, net = find_network(wanted)
    first = net.layers[0]
    assert isinstance(first, NeuronLayer)
    weights = first.weights.copy()
    weights.reshape(-1, first.channels)[0] = -(1 << (net.formats.weight_bits - 1))
    layers = [dataclasses.replace(first, weights=weights), *net.layers[1:]]
    net = dataclasses.replace(net, layers=layers)
    images = random_images(seed, net, 6)
    images[0], images[1] = net.input_format.low, net.input_format.high
    steps = net.config.timesteps
    result = both_paths(net, images, steps, len(images), root, random_plan(net, seed))
    assert_identical(*result, net, images, steps)


def test_mnist_fast_equals_cocotb_then_golden_on_hundreds(mnist, mnist_net, root):
    """The session's MNIST core: 6 images at T = 4, two per start, as cocotb runs them;
    then MNIST_IMAGES test images at the network's T through the fast path == golden."""
    images = mnist.test_images[:6]
    assert_identical(*both_paths(mnist_net, images, 4, 2, root), mnist_net, images, 4)

    images = mnist.test_images[:MNIST_IMAGES]
    steps = mnist_net.config.timesteps
    run = simulate_fast(mnist_net, images, steps, root=root)
    verdict = compare(run.result, golden(mnist_net, images, steps))
    assert verdict.ok, verdict.describe()
    assert run.result.status == 0 and run.result.cycles > 0
    assert np.mean(run.result.classes == mnist.test_labels[:MNIST_IMAGES]) > 0.9


def test_sim_picks_the_fast_path_for_many_images_and_refuses_fast_with_shaping(
    mnist_net_dir, root, capsys
):
    args = ["sim", str(mnist_net_dir), "-T", "4", "--build-dir", str(root), "--quiet", "--json"]
    assert main([*args, "-n", "40"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["bench"] == "fast" and figures["mismatched_images"] == 0
    assert main([*args, "-n", "40", "--gaps", "0.2", "--fast"]) == 2
    err = capsys.readouterr().err
    assert "--gaps need the cocotb bench" in err and "drop --fast" in err
