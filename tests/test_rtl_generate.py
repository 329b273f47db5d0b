"""The RTL generator (no simulator): stage split, parallelism plans, geometry tables and the
generated package and memory files. The tables drive a functional model of the core's
algorithm (tests/rtlmodel.py) that must equal the golden model exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgen import random_images, random_network
from rtl_helpers import find_network, with_config
from rtlmodel import random_plan, run_model
from spikeforge import contract
from spikeforge.ir import NeuronLayer, PoolGate
from spikeforge.lowering import LoweringError
from spikeforge.netfile import build_id
from spikeforge.rtl.generate import generate
from spikeforge.rtl.hwdesc import describe
from spikeforge.rtl.params import package_text
from spikeforge.rtl.plan import PlanLimits, StagePlan, check_plan, default_plan
from spikeforge.rtl.stages import RtlError, build_stages
from spikeforge.rtl.tables import synapse_axis
from spikeforge.verify import golden


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    plan_seed=st.one_of(st.none(), st.integers(0, 2**31)),
    pool=st.sampled_from(["gate", "running_max"]),
)
def test_algorithm_with_generated_tables_equals_golden(seed, plan_seed, pool):
    net = with_config(random_network(seed), pool=pool)
    plan = None if plan_seed is None else random_plan(net, plan_seed)
    images = random_images(seed, net, 2)
    steps = net.config.timesteps
    counts, classes, saturation = run_model(net, describe(net, plan), images, steps)
    expected = golden(net, images, steps)
    assert np.array_equal(counts, expected.counts)
    assert np.array_equal(classes, expected.classes)
    assert np.array_equal(saturation, expected.saturation.sum(axis=0))


@pytest.mark.parametrize("rank", [3, 2, 1], ids=["image", "sequence", "vector"])
@pytest.mark.parametrize(
    ("bits", "signed"),
    [(8, False), (8, True), (16, False), (16, True)],
    ids=["uint8", "int8", "uint16", "int16"],
)
def test_algorithm_on_every_input_format_and_rank(bits, signed, rank):
    """The model reads the input in the lowered shape ((1, 1, N), (1, L, C), (H, W, C)) and
    takes every nonzero element, negative ones too, as an analog event."""

    def wanted(seed, net):
        fmt = net.input_format
        return (
            (fmt.bits, fmt.signed, len(net.input_shape)) == (bits, signed, rank)
            and net.config.input_mode == "analog"
            and (rank == 1 or net.layers[0].kind == "conv")
        )

    seed, net = find_network(wanted)
    images = random_images(seed, net, 3)
    images[0] = net.input_format.low
    steps = net.config.timesteps
    for plan in (None, random_plan(net, seed)):
        counts, classes, saturation = run_model(net, describe(net, plan), images, steps)
        expected = golden(net, images, steps)
        assert np.array_equal(counts, expected.counts)
        assert np.array_equal(classes, expected.classes)
        assert np.array_equal(saturation, expected.saturation.sum(axis=0))


@pytest.mark.parametrize(
    ("size", "out", "kernel", "stride", "pad", "banks"),
    [(12, 8, 5, 1, 0, 5), (12, 8, 5, 1, 0, 2), (9, 5, 3, 2, 1, 2), (7, 3, 2, 3, 0, 1)],
)
def test_synapse_tables_reach_each_target_once(size, out, kernel, stride, pad, banks):
    axis = synapse_axis(size, out, kernel, stride, pad, banks)
    for y in range(size):
        reached = []
        for r in range(banks):
            n = axis.targets[y, r]
            # a bank's targets are its first groups: the RTL counts them from group 0
            assert axis.valid[y, :n, r].all() and not axis.valid[y, n:, r].any()
            for g in range(n):
                o = axis.coord[y, g, r]
                assert o % banks == r and axis.addr[y, g, r] == o // banks
                assert axis.kernel[y, g, r] == y + pad - o * stride
                reached.append(o)
        expected = [o for o in range(out) if 0 <= y + pad - o * stride < kernel]
        assert sorted(reached) == expected


def test_default_plan_of_the_mnist_network(mnist_net):
    stages = describe(mnist_net)
    conv1, conv2, logits = (hw.plan for hw in stages)
    # analog conv1: 32 multipliers in 1x2 banks fire half the 2x2 gate window per cycle
    assert conv1 == StagePlan((1, 2), (1, 2), True) and stages[0].lanes == 32
    # conv2: within 256 adders, the busiest bank has 8 of the 8x8 outputs however they
    # are cut; of the 8-bank cuts, 2x4 (4 rows, 2 columns per bank) beats 1x8 (one
    # column each); half the gate window (2x1) fills the 64 fire lanes
    assert conv2 == StagePlan((2, 4), (2, 1), True) and stages[1].lanes == 256
    assert [hw.fire_lanes for hw in stages] == [32, 64, 10]
    assert logits == StagePlan((1, 1), (1, 1), True)
    # one block RAM of events between two stages
    assert conv2.link_depth == logits.link_depth == 1024
    stages = build_stages(mnist_net)
    # 10 banks within 320 adders: 2x5 (2 columns per bank) rather than 1x10 (one)
    assert default_plan(stages, PlanLimits(synapse_lanes=320))[1].banks == (2, 5)
    # a larger budget spreads the outputs thinner: 32 banks of 2
    assert default_plan(stages, PlanLimits(synapse_lanes=1024))[1].banks == (4, 8)
    # 64 multipliers: 2x2 banks (12 rows and 12 columns each, where 1x4 owns 6 columns)
    # fire the whole gate window
    wide = default_plan(stages, PlanLimits(multiplier_lanes=64))[0]
    assert wide == StagePlan((2, 2), (2, 2), True)
    # 32 fire lanes: half the window there, one position of conv2 (its 32 channels)
    narrow = default_plan(stages, PlanLimits(multiplier_lanes=64, fire_lanes=32))
    assert [entry.tile for entry in narrow[:2]] == [(2, 1), (1, 1)]
    # the low-latency plan (docs/rtl.md): conv1 in 1x3 banks (8 columns each), conv2 in 2x2
    # banks of 16 outputs
    low = default_plan(stages, PlanLimits(synapse_lanes=128, multiplier_lanes=48))
    assert [(entry.banks, entry.tile) for entry in low[:2]] == [((1, 3), (1, 2)), ((2, 2), (2, 1))]


def conv_gate_dense():
    """A random network of exactly conv -> gate -> dense."""

    def wanted(seed, net):
        kinds = [type(layer).__name__ for layer in net.layers]
        return kinds == ["NeuronLayer", "PoolGate", "NeuronLayer"] and net.layers[0].kind == "conv"

    return find_network(wanted)[1]


def test_plan_refusals():
    net = conv_gate_dense()
    stages = build_stages(net)
    plan = default_plan(stages)
    with pytest.raises(RtlError, match="stages"):
        check_plan(stages, plan[:-1])
    wide = [StagePlan((1, 1), (2, 1)), *plan[1:]]
    with pytest.raises(RtlError, match="as many banks per axis"):
        check_plan(stages, wide)
    dense = [*plan[:-1], StagePlan((2, 1), (1, 1))]
    with pytest.raises(RtlError, match="dense"):
        check_plan(stages, dense)
    shallow = [*plan[:-1], StagePlan((1, 1), (1, 1), link_depth=1)]
    with pytest.raises(RtlError, match="at least 2 events"):
        check_plan(stages, shallow)


def test_stage_refusals():
    net = conv_gate_dense()
    conv, gate, dense = net.layers
    assert isinstance(gate, PoolGate) and isinstance(dense, NeuronLayer)
    twice = dataclasses.replace(
        net, layers=[conv, gate, dataclasses.replace(gate, name="g2"), dense]
    )
    with pytest.raises(RtlError, match="follows gate"):
        build_stages(twice)
    with pytest.raises(LoweringError, match="last layer"):
        build_stages(dataclasses.replace(net, layers=[conv, gate]))
    with pytest.raises(LoweringError, match="float"):
        build_stages(dataclasses.replace(net, formats=None))


def test_package_and_memory_files(tmp_path):
    net = random_network(10)
    build = generate(net, tmp_path)
    text = package_text(net, build.stages)
    assert f"BUILD_ID = 32'h{build_id(net):08x}" in text
    for reg in (*contract.CONTROL_REGISTERS, *contract.CORE_REGISTERS):
        assert f"localparam int REG_{reg.name} = {reg.offset};" in text
    assert f"localparam int SAT_BASE = {contract.SAT_BASE};" in text
    # weight words decode back to the kernel: word (c, ky, kx) holds w[ky, kx, c, :]
    wb = net.formats.weight_bits
    for hw in build.stages:
        lines = (build.directory / f"s{hw.index:02d}_w.hex").read_text().split()
        kernel = hw.stage.weights
        kh, kw, cin, _ = kernel.shape
        assert len(lines) == cin * kh * kw
        for (c, ky, kx), line in zip(np.ndindex(cin, kh, kw), lines, strict=True):
            row = kernel[ky, kx, c]
            value = int(line, 16)
            lanes = [(value >> (i * wb)) & ((1 << wb) - 1) for i in range(len(row))]
            signed = [v - (1 << wb) if v >> (wb - 1) else v for v in lanes]
            assert signed == row.tolist()
    # the same network and plan reuse the directory
    assert generate(net, tmp_path).directory == build.directory
