"""HLS C simulation (g++) == the golden model, exactly: real MNIST images for several T,
both reset modes, Poisson input, forced saturation, random networks, every input format
and rank, malformed streams."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_nets import avgpool_network
from netgen import random_images, random_network
from rtl_helpers import find_network, has_gate
from spikeforge.contract import (
    STATUS_BAD_TIMESTEPS,
    STATUS_TLAST_EARLY,
    STATUS_TLAST_MISSING,
    pack_images,
)
from spikeforge.hls import HlsOptions, build_csim, plan_network, run_beats, run_csim
from spikeforge.hls.csim import REG_BUILD_ID, REG_MAX_TIMESTEPS, csim_images
from spikeforge.hls.vectors import Beats, image_beats
from spikeforge.ir import Formats
from spikeforge.netfile import build_id
from spikeforge.quant import quantize
from spikeforge.verify import compare, golden

pytestmark = pytest.mark.csim

N_MNIST = 200


@pytest.fixture(scope="session")
def csim_dir(tmp_path_factory):
    """One build cache per session: each configuration is compiled once."""
    return tmp_path_factory.mktemp("hls-csim")


@pytest.fixture(scope="session")
def mnist_float(mnist_net_dir):
    from spikeforge.netdir import load_float_network

    return load_float_network(mnist_net_dir)


def requantize(float_net, formats: Formats | None = None, **config):
    """The session's MNIST network converted again with other run modes or widths."""
    net = dataclasses.replace(float_net, config=dataclasses.replace(float_net.config, **config))
    return quantize(net, formats or Formats())


def assert_equal_to_golden(net, images, timesteps, csim_dir, options=None):
    result = run_csim(net, images, timesteps, csim_dir, options)
    expected = golden(net, images, timesteps)
    comparison = compare(result, expected)
    assert comparison.ok, comparison.describe()
    assert result.status == 0
    return result, expected


def test_mnist_subtract_reset_several_timesteps(mnist, mnist_net, csim_dir):
    images = mnist.test_images[:N_MNIST]
    build = build_csim(plan_network(mnist_net), csim_dir)
    for steps in (1, 7, 32, 64):
        result = csim_images(build, images, steps)
        comparison = compare(result, golden(mnist_net, images, steps))
        assert comparison.ok, f"T={steps}: {comparison.describe()}"
    # a converted network classifies MNIST: the csim is not trivially equal
    assert np.mean(result.classes == mnist.test_labels[:N_MNIST]) > 0.9


def test_mnist_zero_reset(mnist, mnist_float, csim_dir):
    net = requantize(mnist_float, reset="zero")
    for steps in (12, 32):
        assert_equal_to_golden(net, mnist.test_images[:N_MNIST], steps, csim_dir)


def test_mnist_poisson_input_half_membrane_start(mnist, mnist_float, csim_dir):
    net = requantize(mnist_float, input_mode="poisson", v_init="half", seed=12345)
    assert_equal_to_golden(net, mnist.test_images[:N_MNIST], 24, csim_dir)


def test_mnist_running_max_pooling(mnist, mnist_float, csim_dir):
    net = requantize(mnist_float, pool="running_max")
    assert_equal_to_golden(net, mnist.test_images[:N_MNIST], 16, csim_dir)


def test_mnist_saturation_when_formats_are_too_narrow(mnist, mnist_float, csim_dir):
    narrow = Formats(weight_bits=6, bias_bits=10, threshold_bits=8, membrane_bits=11)
    net = requantize(mnist_float, formats=narrow)
    result, expected = assert_equal_to_golden(
        net, mnist.test_images[:N_MNIST], 16, csim_dir, HlsOptions(max_lanes=4)
    )
    assert expected.saturation.sum() > 1000, "the narrow formats should saturate"
    assert np.array_equal(result.saturation, expected.saturation.sum(axis=0))


@settings(
    max_examples=24,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**31 - 1),
    max_lanes=st.integers(1, 5),
    pool=st.sampled_from(["gate", "running_max"]),
)
def test_random_networks(seed, max_lanes, pool, csim_dir):
    net = random_network(seed)
    net = dataclasses.replace(net, config=dataclasses.replace(net.config, pool=pool))
    images = random_images(seed, net, 12)
    options = HlsOptions(max_lanes=max_lanes)
    for steps in sorted({1, net.config.timesteps, net.config.max_timesteps}):
        assert_equal_to_golden(net, images, steps, csim_dir, options)


@pytest.mark.parametrize("input_mode,lanes", [("analog", 1), ("analog", 6), ("poisson", 3)])
def test_average_pool_runs_depthwise(input_mode, lanes, csim_dir):
    net = avgpool_network(3, input_mode)
    options = HlsOptions(unroll={"conv": lanes})
    plan = plan_network(net, options)
    assert [s.depthwise for s in plan.neurons] == [False, True, False]
    assert plan.neurons[1].lanes == lanes  # the pool keeps its input's channel groups
    images = random_images(3, net, 10)
    assert_equal_to_golden(net, images, 12, csim_dir, options)


def test_converted_keras_model_with_every_construct(csim_dir):
    """BatchNorm, same padding, strides, max and average pooling, dense: through the
    converter, then the HLS core."""
    from keras_builders import everything_model
    from keras_builders import random_images as pixels
    from spikeforge.flow import ConvertOptions, run_flow
    from spikeforge.frontend.keras_model import keras_to_graph

    calibration = pixels((12, 12, 2), 64, seed=1)
    state = run_flow(keras_to_graph(everything_model(seed=3)), calibration, ConvertOptions())
    net = state.int_net
    plan = plan_network(net)
    assert {s.name: s.depthwise for s in plan.neurons}["avg"]
    assert_equal_to_golden(net, pixels((12, 12, 2), 30, seed=2), 32, csim_dir)


INPUT_FORMATS = [(8, True), (16, False), (16, True)]
RANKS = {"image": 3, "sequence": 2, "vector": 1}


def with_extremes(images, net):
    """The inputs plus one of every element at the format's low end and one at its high."""
    fmt = net.input_format
    ends = np.stack([np.full(net.input_shape, v, dtype=fmt.dtype) for v in (fmt.low, fmt.high)])
    return np.concatenate([images, ends])


@pytest.mark.parametrize("rank", list(RANKS), ids=list(RANKS))
@pytest.mark.parametrize(
    "bits,signed", INPUT_FORMATS, ids=[f"{'' if s else 'u'}int{b}" for b, s in INPUT_FORMATS]
)
def test_input_formats_and_ranks(bits, signed, rank, csim_dir):
    """Each non-default input format as an image, a sequence (1 x k kernels) and a feature
    vector (in groups of elements), extremes included."""

    def wanted(seed, net):
        fmt, first = net.input_format, net.layers[0]
        return (
            (fmt.bits, fmt.signed) == (bits, signed)
            and len(net.input_shape) == RANKS[rank]
            and (rank == "vector" or first.kind == "conv")  # the first layer reads the shape
        )

    seed, net = find_network(wanted)
    plan = plan_network(net)
    assert (plan.input.element_bits, plan.input.signed) == (bits, signed)
    if rank == "vector":
        assert plan.input.groups > 1, "a wide vector should go in several words"
    images = with_extremes(random_images(seed, net, 12), net)
    assert images.dtype == net.input_format.dtype
    for steps in sorted({1, net.config.timesteps}):
        assert_equal_to_golden(net, images, steps, csim_dir)


def test_input_groups_under_small_max_lanes(csim_dir):
    """A 16-bit signed vector split into words of 2 elements (max_lanes 1)."""
    seed, net = find_network(
        lambda s, n: n.input_format.bits == 16 and n.input_format.signed
        and len(n.input_shape) == 1 and n.input_shape[0] % 2 == 0
    )
    options = HlsOptions(max_lanes=1)
    assert plan_network(net, options).input.group == 2
    images = with_extremes(random_images(seed, net, 8), net)
    assert_equal_to_golden(net, images, net.config.timesteps, csim_dir, options)


def test_weights_compiled_in_as_for_synthesis(csim_dir):
    """The header initializers (what Vitis synthesizes) equal the files csim loads."""
    seed, net = find_network(  # conv, gate, ...; signed or 16-bit input
        lambda s, n: has_gate(n) and not n.input_format.is_pixels and n.layers[0].kind == "conv"
    )
    images = random_images(seed, net, 8)
    build = build_csim(plan_network(net), csim_dir, load_weights=False)
    result = csim_images(build, images, net.config.timesteps)
    comparison = compare(result, golden(net, images, net.config.timesteps))
    assert comparison.ok, comparison.describe()


# --- the hardware contract: registers and malformed streams ----------------------------


STREAM_CASES = {
    # Poisson input of uint8 pixels, a conv layer first
    "pixels": lambda s, n: n.config.input_mode == "poisson" and len(n.input_shape) == 3
    and n.layers[0].kind == "conv",
    # two 16-bit signed elements per beat
    "int16": lambda s, n: n.input_format.bits == 16 and n.input_format.signed
    and len(n.input_shape) == 3 and n.layers[0].kind == "conv",
}


@pytest.fixture(scope="module", params=list(STREAM_CASES))
def stream_case(request, csim_dir):
    seed, net = find_network(STREAM_CASES[request.param])
    images = random_images(seed, net, 3)
    return net, images, build_csim(plan_network(net), csim_dir)


def _pack(images, build):
    return pack_images(images, build.plan.input.element_bits)


def _beats(images, build):
    return image_beats(images, build.plan.input.element_bits)


def test_registers(stream_case):
    net, images, build = stream_case
    run = run_beats(build, _beats(images, build), net.config.timesteps, len(images))
    assert run.registers[-1, REG_BUILD_ID] == build_id(net)
    assert run.registers[-1, REG_MAX_TIMESTEPS] == net.config.max_timesteps
    assert run.status == 0


def _outputs(run, k):
    return run.beats.data.reshape(-1, k + 1)


def test_tlast_early_reads_the_rest_as_zero(stream_case):
    net, images, build = stream_case
    words = _pack(images, build)
    beats_per_image = words.shape[1]
    cut = beats_per_image // 2
    data = np.concatenate([words[0, : cut + 1], words[1]])
    last = np.zeros(data.size, dtype=bool)
    last[cut] = last[-1] = True
    run = run_beats(build, Beats(data, last), net.config.timesteps, 2)
    assert run.status == STATUS_TLAST_EARLY
    truncated = images[:2].copy().reshape(2, -1)
    truncated[0, build.plan.input.elements_per_beat * (cut + 1) :] = 0
    expected = golden(net, truncated.reshape(images[:2].shape), net.config.timesteps)
    k = net.num_classes
    outputs = _outputs(run, k)
    assert np.array_equal(outputs[:, :k], expected.counts)
    assert np.array_equal(outputs[:, k], expected.classes)


def test_tlast_missing_drops_beats_up_to_the_next_tlast(stream_case):
    net, images, build = stream_case
    words = _pack(images, build)
    junk = np.array([0xDEADBEEF, 0xFFFFFFFF, 0x12345678], dtype=np.uint32)
    data = np.concatenate([words[0], junk, words[1]])
    last = np.zeros(data.size, dtype=bool)
    last[words.shape[1] + junk.size - 1] = True  # the junk's last beat ends the bad image
    last[-1] = True
    run = run_beats(build, Beats(data, last), net.config.timesteps, 2)
    assert run.status == STATUS_TLAST_MISSING
    expected = golden(net, images[:2], net.config.timesteps)
    k = net.num_classes
    outputs = _outputs(run, k)
    assert np.array_equal(outputs[:, :k], expected.counts)
    assert np.array_equal(outputs[:, k], expected.classes)


def test_tlast_missing_on_a_runs_last_image_is_dropped_before_the_next_run(stream_case):
    net, images, build = stream_case
    words = _pack(images, build)
    junk = np.array([7, 8], dtype=np.uint32)
    data = np.concatenate([words[0], junk, words[1]])
    last = np.zeros(data.size, dtype=bool)
    last[words.shape[1] + 1] = last[-1] = True
    steps = net.config.timesteps
    run = run_beats(build, Beats(data, last), [steps, steps], [1, 1])
    statuses = run.registers[:, 2]
    assert list(statuses) == [STATUS_TLAST_MISSING, 0]  # STATUS is cleared by ap_start
    expected = golden(net, images[:2], steps)
    k = net.num_classes
    assert np.array_equal(_outputs(run, k)[:, k], expected.classes)


@pytest.mark.parametrize("bad", ["zero", "above_max"])
def test_timesteps_out_of_range_runs_nothing(stream_case, bad):
    net, images, build = stream_case
    steps = 0 if bad == "zero" else net.config.max_timesteps + 1
    good = net.config.timesteps
    run = run_beats(build, _beats(images[:1], build), [steps, good], [1, 1])
    assert list(run.registers[:, 2]) == [STATUS_BAD_TIMESTEPS, 0]
    # the bad run read nothing: the next run finds the image intact
    expected = golden(net, images[:1], good)
    k = net.num_classes
    assert run.beats.data.size == k + 1
    assert np.array_equal(_outputs(run, k)[:, :k], expected.counts)


def test_zero_images_reads_and_sends_nothing(stream_case):
    net, images, build = stream_case
    steps = net.config.timesteps
    run = run_beats(build, _beats(images[:1], build), [steps, steps], [0, 1])
    assert list(run.registers[:, 2]) == [0, 0]
    k = net.num_classes
    assert run.beats.data.size == k + 1  # only the second run's image
    expected = golden(net, images[:1], steps)
    assert np.array_equal(_outputs(run, k)[:, :k], expected.counts)


def test_saturation_registers_sum_over_the_run(csim_dir):
    net = random_network(21)  # saturates in its first layer
    images = random_images(21, net, 10)
    result, expected = assert_equal_to_golden(net, images, net.config.timesteps, csim_dir)
    assert result.saturation[0] == expected.saturation[:, 0].sum() > 0


def test_config_change_is_a_new_build(csim_dir, mnist_float):
    """reset mode is compiled in: the two builds must differ (else the cache is wrong)."""
    a = build_csim(plan_network(requantize(mnist_float, reset="zero")), csim_dir)
    b = build_csim(plan_network(requantize(mnist_float, reset="subtract")), csim_dir)
    assert a.project != b.project

