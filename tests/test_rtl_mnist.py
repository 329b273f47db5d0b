"""RTL core == golden model, exactly, on real MNIST test images: the session's converted
network for several run-time T, both reset modes, traffic shaping, and golden == HLS csim
== RTL on the same images. SPIKEFORGE_RTL_MNIST_IMAGES sets the image count (CI: 100)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from netgen import random_images
from rtl_helpers import env_int, find_network, has_gate, rtl_root, saturates
from spikeforge.ir import Formats
from spikeforge.quant import quantize
from spikeforge.rtl.runner import run_rtl, simulate_rtl
from spikeforge.verify import compare, golden

pytestmark = pytest.mark.rtl

N_IMAGES = env_int("SPIKEFORGE_RTL_MNIST_IMAGES", 100)
STEPS = (4, 16)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return rtl_root(tmp_path_factory)


@pytest.fixture(scope="module")
def mnist_rtl(mnist, mnist_net, root):
    """The MNIST core (built once) on the first test images for each T of STEPS."""
    images = mnist.test_images[:N_IMAGES]
    return images, {steps: simulate_rtl(mnist_net, images, steps, root=root) for steps in STEPS}


def assert_golden(result, net, images, steps):
    verdict = compare(result, golden(net, images, steps))
    assert verdict.ok, f"T={steps}: {verdict.describe()}"
    assert result.status == 0


def test_mnist_equals_golden_for_several_timesteps(mnist, mnist_net, mnist_rtl):
    images, runs = mnist_rtl
    for steps, run in runs.items():
        assert_golden(run.result, mnist_net, images, steps)
        assert run.result.cycles > 0
    # the core really classifies: not trivially equal on silent outputs
    accuracy = np.mean(runs[16].result.classes == mnist.test_labels[:N_IMAGES])
    assert accuracy > 0.9


def test_mnist_zero_reset(mnist, mnist_net_dir, root):
    from spikeforge.netdir import load_float_network

    float_net = load_float_network(mnist_net_dir)
    config = dataclasses.replace(float_net.config, reset="zero")
    net = quantize(dataclasses.replace(float_net, config=config), Formats())
    images = mnist.test_images[:N_IMAGES]
    assert_golden(run_rtl(net, images, 10, root=root), net, images, 10)


def test_mnist_gaps_backpressure_and_several_starts(mnist, mnist_net, root):
    images = mnist.test_images[:7]
    result = run_rtl(mnist_net, images, 4, root=root, per_start=3, gaps=0.3, backpressure=0.5)
    assert_golden(result, mnist_net, images, 4)


@pytest.fixture(scope="module")
def hls():
    try:
        from spikeforge import hls
    except ImportError as err:
        pytest.skip(f"the HLS backend (spikeforge.hls) is not available: {err}")
    return hls


def test_golden_equals_csim_equals_rtl_on_mnist(mnist_net, mnist_rtl, hls, tmp_path_factory):
    images, runs = mnist_rtl
    steps = STEPS[0]
    csim = hls.run_csim(mnist_net, images, steps, tmp_path_factory.getbasetemp() / "rtl-csim")
    rtl = runs[steps].result
    assert_golden(csim, mnist_net, images, steps)
    assert_golden(rtl, mnist_net, images, steps)
    assert np.array_equal(csim.counts, rtl.counts)
    assert np.array_equal(csim.classes, rtl.classes)
    assert np.array_equal(csim.saturation, rtl.saturation)


def test_golden_equals_csim_equals_rtl_on_a_saturating_network(hls, root, tmp_path_factory):
    def wanted(seed, net):
        return has_gate(net) and saturates(net, seed, 2)

    seed, net = find_network(wanted, narrow=True)
    images = random_images(seed, net, 8)
    steps = net.config.timesteps
    csim = hls.run_csim(net, images, steps, tmp_path_factory.getbasetemp() / "rtl-csim")
    rtl = run_rtl(net, images, steps, root=root)
    assert_golden(csim, net, images, steps)
    assert_golden(rtl, net, images, steps)
    assert np.array_equal(csim.saturation, rtl.saturation) and csim.saturation.sum() > 0
