"""RTL core == golden model, exactly, on random integer networks (hypothesis): conv / gate /
dense stacks with random kernels, strides, paddings, word widths, reset and input modes,
inputs of every rank (image, sequence, feature vector) and format (uint8 pixels, 8- or
16-bit signed or unsigned), random parallelism plans and narrowed membranes that saturate.
Every drawn network is its own Verilator build (about 15-30 s): SPIKEFORGE_RTL_EXAMPLES
sets how many (CI: 8)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgen import random_images, random_network
from rtl_helpers import env_int, find_network, narrow_membranes, rtl_root, saturates, with_config
from rtlmodel import random_plan
from spikeforge.ir import NeuronLayer, PoolGate
from spikeforge.rtl.runner import run_rtl
from spikeforge.verify import compare, golden

pytestmark = pytest.mark.rtl


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return rtl_root(tmp_path_factory)


def check(net, images, root, plan=None, timesteps=None, **options):
    steps = timesteps or net.config.timesteps
    result = run_rtl(net, images, steps, root=root, plan=plan, **options)
    expected = golden(net, images, steps)
    verdict = compare(result, expected)
    assert verdict.ok, verdict.describe()
    assert result.status == 0
    return result, expected


@settings(
    max_examples=env_int("SPIKEFORGE_RTL_EXAMPLES", 8),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**31 - 1),
    plan_seed=st.one_of(st.none(), st.integers(0, 2**31)),
    narrow=st.booleans(),
    pool=st.sampled_from(["gate", "running_max"]),
)
def test_random_networks_equal_golden(seed, plan_seed, narrow, pool, root):
    net = with_config(random_network(seed), pool=pool)
    if narrow:
        net = narrow_membranes(net)
    plan = None if plan_seed is None else random_plan(net, plan_seed)
    check(net, random_images(seed, net, 6), root, plan)


@pytest.mark.parametrize(
    ("input_mode", "reset"), [("poisson", "subtract"), ("analog", "zero"), ("analog", "subtract")]
)
def test_saturation_is_counted_exactly(input_mode, reset, root):
    """Clamp events in two or more layers, both input modes, both reset modes."""

    def wanted(seed, net):
        config = net.config
        return config.input_mode == input_mode and config.reset == reset and saturates(net, seed, 2)

    seed, net = find_network(wanted, narrow=True)
    result, expected = check(net, random_images(seed, net, 6), root)
    assert np.array_equal(result.saturation, expected.saturation.sum(axis=0))


@pytest.mark.parametrize("pool", ["gate", "running_max"])
def test_both_max_pool_modes(pool, root):
    """config.pool: the gate passes the leader's spikes, running_max follows the window's
    highest count; overlapping, padded windows."""

    def wanted(seed, net):
        gates = [layer for layer in net.layers if isinstance(layer, PoolGate)]
        return any(g.strides != g.pool and any(g.pads) for g in gates)

    seed, net = find_network(wanted)
    net = with_config(net, pool=pool)
    check(net, random_images(seed, net, 6), root)


RANK_NAMES = {3: "image", 2: "sequence", 1: "vector"}


@pytest.mark.parametrize("rank", [3, 2, 1], ids=RANK_NAMES.get)
@pytest.mark.parametrize(
    ("bits", "signed"), [(8, True), (16, False), (16, True)], ids=["int8", "uint16", "int16"]
)
def test_input_formats_and_shapes(bits, signed, rank, root):
    """Every input format but uint8 pixels (the other tests draw those most) on each input
    rank: a first conv reads an image or a sequence (1 x k kernels), a first dense layer a
    feature vector; the element count leaves the last in_r beat part empty. The first
    layer's weights include the most negative weight, so that the extreme inputs make the
    widest products of the analog multipliers."""

    def wanted(seed, net):
        fmt, first = net.input_format, net.layers[0]
        elements = int(np.prod(net.input_shape))
        return (
            (fmt.bits, fmt.signed, len(net.input_shape)) == (bits, signed, rank)
            and (rank == 1 or first.kind == "conv")
            and elements % (32 // bits) != 0
        )

    seed, net = find_network(wanted)
    assert net.config.input_mode == "analog"
    first = net.layers[0]
    assert isinstance(first, NeuronLayer)
    weights = first.weights.copy()
    weights.reshape(-1, first.channels)[0] = -(1 << (net.formats.weight_bits - 1))
    layers = [dataclasses.replace(first, weights=weights), *net.layers[1:]]
    net = dataclasses.replace(net, layers=layers)
    images = random_images(seed, net, 6)
    fmt = net.input_format
    images[0] = fmt.low  # every product at its extreme
    images[1] = fmt.high
    check(net, images, root)
