"""The HLS generator without a compiler: plans, checks, errors, generated files, the cycle
model's arithmetic and the Vitis report parser."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from netgen import random_network
from spikeforge.contract import register_map
from spikeforge.hls import HlsOptions, HlsPlanError, generate_project, plan_network
from spikeforge.hls.cycles import LOOP_NEURON, LOOP_SYNAPSE, iterations
from spikeforge.hls.events import span_counts, worst_case_events
from spikeforge.hls.options import parse_unroll
from spikeforge.hls.plan import default_lanes
from spikeforge.hls.plan_types import NeuronPlan
from spikeforge.hls.project import project_tcl
from spikeforge.hls.vitis import VitisError, read_csynth, require_vitis, vitis_path
from spikeforge.hls.weights import c_initializer, weight_layout
from spikeforge.ir import Formats, InputFormat, Network, NeuronLayer, PoolGate, SnnConfig
from spikeforge.lowering import LoweringError
from spikeforge.netfile import build_id


def small_net(conv_channels: int = 6, dense_units: int = 10, gate_pads=(0, 0, 0, 0)) -> Network:
    rng = np.random.default_rng(0)
    conv = NeuronLayer(
        "conv",
        "conv",
        (8, 8, 1),
        (6, 6, conv_channels),
        rng.integers(-7, 8, (3, 3, 1, conv_channels)),
        np.zeros(conv_channels, dtype=np.int64),
        np.full(conv_channels, 100),
    )
    gate = PoolGate("pool", (6, 6, conv_channels), (3, 3, conv_channels), (2, 2), (2, 2), gate_pads)
    dense = NeuronLayer(
        "fc",
        "dense",
        (9 * conv_channels,),
        (dense_units,),
        rng.integers(-7, 8, (9 * conv_channels, dense_units)),
        np.zeros(dense_units, dtype=np.int64),
        np.full(dense_units, 50),
    )
    return Network("small", (8, 8, 1), [conv, gate, dense], SnnConfig(), Formats())


def test_default_lanes_are_the_largest_divisor():
    assert default_lanes(32, 16) == 16
    assert default_lanes(10, 16) == 10
    assert default_lanes(10, 8) == 5
    assert default_lanes(7, 4) == 1


def test_unroll_that_does_not_divide_names_the_layer_and_the_choices():
    with pytest.raises(HlsPlanError, match=r"layer 'conv'.*unroll factor 4.*6 output.*1, 2, 3, 6"):
        plan_network(small_net(), HlsOptions(unroll={"conv": 4}))


def test_average_pool_is_recognised_and_keeps_its_input_groups():
    from hls_nets import avgpool_network
    from spikeforge.hls.plan import is_depthwise

    net = avgpool_network(0)
    conv, avg, dense = net.neuron_layers
    assert not is_depthwise(conv) and is_depthwise(avg) and not is_depthwise(dense)
    broken = avg.weights.copy()
    broken[0, 0, 1, 2] = 1  # a cross-channel weight: an ordinary convolution
    assert not is_depthwise(dataclasses.replace(avg, weights=broken))
    with pytest.raises(HlsPlanError, match=r"'avg' is an average pool.*groups of 3 channels"):
        plan_network(net, HlsOptions(unroll={"conv": 3, "avg": 6}))


def test_values_outside_their_formats_are_refused():
    net = small_net()
    conv = net.layers[0]
    bad = dataclasses.replace(conv, threshold=np.full(conv.channels, 70000))
    with pytest.raises(LoweringError, match=r"'conv': thresholds span 70000..70000.*16-bit"):
        plan_network(dataclasses.replace(net, layers=[bad, *net.layers[1:]]))


def test_unroll_of_an_unknown_layer_is_refused():
    with pytest.raises(HlsPlanError, match=r"--unroll names nope"):
        plan_network(small_net(), HlsOptions(unroll={"nope": 2}))


def test_parse_unroll():
    assert parse_unroll(["conv=3", "fc=5"]) == {"conv": 3, "fc": 5}
    with pytest.raises(ValueError, match="LAYER=LANES"):
        parse_unroll(["conv:3"])


def test_weights_that_do_not_fit_the_part_name_the_layer():
    net = small_net()
    rng = np.random.default_rng(1)
    nin, nout = 3000, 2000  # 6M 8-bit weights: 48 Mbit, a Zynq-7020 has 4.9
    big = NeuronLayer(
        "huge_fc",
        "dense",
        (nin,),
        (nout,),
        rng.integers(-7, 8, (nin, nout)),
        np.zeros(nout, dtype=np.int64),
        np.full(nout, 50),
    )
    first = NeuronLayer(
        "fc0", "dense", (64,), (nin,), rng.integers(-7, 8, (64, nin)),
        np.zeros(nin, dtype=np.int64), np.full(nin, 50),
    )
    net = dataclasses.replace(net, layers=[first, big])
    with pytest.raises(HlsPlanError, match=r"BRAM18.*xc7z020clg400-1.*'huge_fc'.*weights"):
        plan_network(net, HlsOptions(max_lanes=1))
    # the same network is accepted (at its own risk) without the check
    plan_network(net, HlsOptions(max_lanes=1, check_resources=False))


def test_unknown_part_is_refused_with_the_known_ones():
    with pytest.raises(HlsPlanError, match=r"no resource table for part 'xcvu9p-flga.*xc7z020"):
        plan_network(small_net(), HlsOptions(part="xcvu9p-flga2104-2-e"))


def test_gate_whose_window_is_all_padding_is_refused():
    with pytest.raises(HlsPlanError, match=r"gate 'pool'.*padding of 2"):
        plan_network(small_net(gate_pads=(2, 0, 0, 0)))


def test_float_network_is_refused():
    net = dataclasses.replace(small_net(), formats=None)
    with pytest.raises(LoweringError, match="integer network"):
        plan_network(net)


def test_groups_flow_from_producer_lanes():
    plan = plan_network(small_net(), HlsOptions(unroll={"conv": 3, "fc": 5}))
    conv, gate, fc = plan.stages
    assert isinstance(conv, NeuronPlan) and isinstance(fc, NeuronPlan)
    assert (conv.group_in, conv.lanes, conv.groups_out) == (1, 3, 2)
    assert (gate.group, gate.groups) == (3, 2)
    assert (fc.group_in, fc.groups_in, fc.lanes, fc.kernel) == (3, 2, 5, (3, 3))


@pytest.mark.parametrize("seed", range(8))
def test_weight_layout_matches_the_library_indexing(seed):
    plan = plan_network(random_network(seed), HlsOptions(max_lanes=3))
    for stage in plan.neurons:
        layout = weight_layout(stage)
        if stage.depthwise:  # one weight per channel
            assert list(layout.reshape(-1)) == list(stage.layer.weights[0, 0].diagonal())
            continue
        kh, kw = stage.kernel
        weights = stage.layer.weights.reshape(kh, kw, stage.in_hwc[2], stage.out_hwc[2])
        for i, j, ci, co in np.ndindex(*weights.shape):
            g, b = divmod(ci, stage.group_in)
            cg, p = divmod(co, stage.lanes)
            row = i * kw + j
            address = (row * stage.groups_in + g) * stage.groups_out + cg
            assert layout[address, b, p] == weights[i, j, ci, co]


def test_c_initializer_nests_and_widens_literals():
    text = c_initializer(np.array([[1, -2], [2**40, 3]]))
    assert text == "{\n{1, -2},\n{1099511627776LL, 3}\n}"


def test_span_counts_match_brute_force():
    for size, kernel, stride, pad in [(7, 3, 2, 1), (5, 2, 1, 1), (9, 3, 3, 2), (6, 1, 2, 0)]:
        out = (size + 2 * pad - kernel) // stride + 1
        brute = np.zeros(size, dtype=int)
        for o in range(out):
            for k in range(kernel):
                y = o * stride + k - pad
                if 0 <= y < size:
                    brute[y] += 1
        assert list(span_counts(size, kernel, stride, pad, out)) == list(brute)


def test_worst_case_iterations_by_hand():
    # conv 3x3 stride 1 valid on 8x8x1 -> 6x6x6 with 3 lanes (2 groups); every input
    # position feeds span_y * span_x outputs, each costing 2 lane groups
    plan = plan_network(small_net(), HlsOptions(unroll={"conv": 3, "fc": 5}))
    events = worst_case_events(plan, timesteps=4)
    iters = iterations(plan, events)
    span = span_counts(8, 3, 1, 0, 6)
    per_step = int(np.outer(span, span).sum()) * 2 + 1
    conv = plan.stages[0]
    assert conv.analog  # analog input: the pixels are accumulated once per image
    assert int(iters[(conv.stage, LOOP_SYNAPSE)][0]) == per_step
    assert int(iters[(conv.stage, LOOP_NEURON)][0]) == 4 * 36 * 2
    fc = plan.stages[2]
    # the dense layer: every gate word (9 positions x 2 groups) costs its 2 lane groups
    assert int(iters[(fc.stage, LOOP_SYNAPSE)][0]) == 4 * (9 * 2 * 2 + 1)


def test_generated_top_uses_the_contract_offsets(tmp_path):
    net = small_net()
    plan = plan_network(net)
    out = generate_project(plan, tmp_path / "prj")
    top = (out / "firmware" / "top.cpp").read_text()
    pragmas = dict(
        re.findall(r"s_axilite port = (\w+) offset = (0x[0-9A-F]+) bundle = control", top)
    )
    expected = {
        r.name.lower(): f"0x{r.offset:02X}" for r in register_map(net) if r.offset >= 0x10
    }
    assert pragmas == expected
    assert "#pragma HLS INTERFACE mode = axis port = in_r" in top
    assert "#pragma HLS DATAFLOW" in top
    params = (out / "firmware" / "parameters.h").read_text()
    assert f"BUILD_ID = 0x{build_id(net):08x}u" in params
    for rel in ["tb/tb.cpp", "build_prj.tcl", "project.tcl", "firmware/spikeforge/synapse.h",
                "firmware/weights/w1.h", "firmware/weights/w1_weights.bin", "manifest.json"]:
        assert (out / rel).is_file(), rel
    assert not list(tmp_path.glob(".prj.*")), "the staging directory was left behind"


def test_project_tcl_carries_part_clock_and_vlnv():
    plan = plan_network(small_net(), HlsOptions(part="xczu3eg-sbva484-1-i", clock_ns=4.0))
    tcl = project_tcl(plan, "tb_data/input.bin 32 2 tb_data/output.bin")
    assert "set part xczu3eg-sbva484-1-i" in tcl
    assert "set clock_ns 4" in tcl
    assert "set ip_name snn_top" in tcl and "set top snn_top" in tcl


def test_generated_vectors_hold_the_golden_outputs(tmp_path):
    from spikeforge.hls.vectors import read_output
    from spikeforge.verify import golden

    net = small_net()
    images = np.random.default_rng(3).integers(0, 256, (3, 8, 8, 1), dtype=np.uint8)
    out = generate_project(plan_network(net), tmp_path / "prj", images, timesteps=5)
    beats, regs = read_output(out / "tb" / "tb_data" / "expected.bin")
    expected = golden(net, images, 5)
    assert list(beats.data.reshape(3, -1)[:, -1]) == list(expected.classes)
    assert regs[0, 0] == build_id(net)
    assert "tb_data/input.bin 5 3 tb_data/output.bin" in (out / "project.tcl").read_text()


def vector_net(features: int, input_format: InputFormat, units: int = 6) -> Network:
    """A feature vector of ``features`` elements read by one dense layer."""
    rng = np.random.default_rng(features)
    fc = NeuronLayer(
        "fc", "dense", (features,), (units,), rng.integers(-7, 8, (features, units)),
        np.zeros(units, dtype=np.int64), np.full(units, 30000),
    )
    formats = Formats(threshold_bits=16, membrane_bits=24)
    return Network("vector", (features,), [fc], SnnConfig(), formats, input_format)


@pytest.mark.parametrize(
    "bits,signed,per_beat,word",
    [
        (8, False, 4, "spikeforge::event_word<3, 3, 1, 1, 8>"),  # uint8 pixels: as before
        (8, True, 4, "spikeforge::event_word<3, 3, 1, 1, 8, true>"),
        (16, False, 2, "spikeforge::event_word<3, 3, 1, 1, 16>"),
        (16, True, 2, "spikeforge::event_word<3, 3, 1, 1, 16, true>"),
    ],
)
def test_input_plan_carries_the_element_format(bits, signed, per_beat, word):
    from spikeforge.hls.project import render_sources
    from spikeforge.hls.resources import estimate

    net = dataclasses.replace(small_net(), input_format=InputFormat(bits, signed, 100.0))
    plan = plan_network(net)
    inp, conv = plan.input, plan.neurons[0]
    assert (inp.element_bits, inp.signed, inp.elements_per_beat) == (bits, signed, per_beat)
    assert inp.beats == -(-64 // per_beat) and inp.buffer_size == 64
    assert (inp.group, inp.groups, inp.pixel_banks) == (1, 1, per_beat)
    assert inp.out_word.cpp == word and conv.in_word == inp.out_word
    params = render_sources(plan)["firmware/parameters.h"]
    assert f"typedef {word} out_word_t;" in params
    assert f"value_bits = {bits};" in params  # the first layer multiplies EB-bit values
    pixels = estimate(plan)[0]
    assert pixels.name == "input" and pixels.luts == bits * per_beat  # 64 elements in LUT RAM
    # the next layer's words carry spikes, unsigned
    assert plan.neurons[1].in_word.value_bits == 1 and not plan.neurons[1].in_word.signed


def test_poisson_input_words_carry_spikes():
    net = small_net()
    net = dataclasses.replace(net, config=dataclasses.replace(net.config, input_mode="poisson"))
    inp = plan_network(net).input
    assert inp.poisson and inp.element_bits == 8 and not inp.signed
    assert (inp.out_word.value_bits, inp.out_word.signed) == (1, False)


@pytest.mark.parametrize(
    "features,bits,max_lanes,group",
    [
        (108, 16, 16, 12),  # a wide vector: words of the largest divisor up to max_lanes
        (108, 16, 1, 2),  # ... but never fewer than a beat's elements
        (108, 8, 1, 4),
        (3, 8, 1, 3),  # a position of few channels (an RGB pixel) goes in one word
        (97, 16, 16, 1),  # a prime: one element per word
    ],
)
def test_wide_inputs_go_in_groups(features, bits, max_lanes, group):
    from spikeforge.hls.cycles import LOOP_ENCODE

    net = vector_net(features, InputFormat(bits, True, 10.0))
    plan = plan_network(net, HlsOptions(max_lanes=max_lanes))
    inp, fc = plan.input, plan.neurons[0]
    assert (inp.group, inp.groups) == (group, features // group)
    assert inp.out_word.group == group
    assert inp.out_word.g_bits == max(1, (features // group - 1).bit_length())
    assert (fc.group_in, fc.groups_in, fc.kernel) == (group, features // group, (1, 1))
    assert inp.pixel_banks == max(group, 32 // bits)
    # every word of the single position in the worst case: one encode iteration each
    iters = iterations(plan, worst_case_events(plan, timesteps=3))
    assert int(iters[(0, LOOP_ENCODE)][0]) == features // group
    assert int(iters[(fc.stage, LOOP_SYNAPSE)][0]) == (features // group) * fc.groups_out + 1


@pytest.mark.parametrize("bits,signed", [(8, True), (16, False), (16, True)])
def test_generated_vectors_pack_the_elements(bits, signed, tmp_path):
    from spikeforge.contract import pack_images
    from spikeforge.hls.vectors import read_output

    fmt = InputFormat(bits, signed, 10.0)
    net = vector_net(7, fmt)
    rng = np.random.default_rng(bits + signed)
    images = rng.integers(fmt.low, fmt.high + 1, (3, 7)).astype(fmt.dtype)
    images[0] = fmt.low
    out = generate_project(plan_network(net), tmp_path / "prj", images, timesteps=4)
    raw = (out / "tb" / "tb_data" / "input.bin").read_bytes()
    n = int(np.frombuffer(raw, "<u4", 1, 8)[0])
    words = np.frombuffer(raw, "<u4", n, 12)
    lasts = np.frombuffer(raw, np.uint8, n, 12 + 4 * n)
    per_image = -(-7 // (32 // bits))
    assert n == 3 * per_image
    assert np.array_equal(words, pack_images(images, bits).reshape(-1))
    assert list(np.flatnonzero(lasts)) == [per_image - 1, 2 * per_image - 1, 3 * per_image - 1]
    if bits == 16 and signed:  # -32768 in both halves, the first element in the low bits
        assert words[0] == 0x80008000
    beats, _ = read_output(out / "tb" / "tb_data" / "expected.bin")
    assert beats.data.size == 3 * (net.num_classes + 1)


def test_vitis_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert vitis_path() is None
    with pytest.raises(VitisError, match=r"vitis_hls is not on PATH.*settings64\.sh"):
        require_vitis()


def test_loop_numbers_match_the_library():
    """cycles.py and trace.h number the loop kinds alike (the trace test relies on it)."""
    from spikeforge.hls import cycles
    from spikeforge.hls.project import library_dir

    text = (library_dir() / "include" / "spikeforge" / "trace.h").read_text()
    enum = {name: int(value) for name, value in re.findall(r"LOOP_(\w+) = (\d+)", text)}
    ours = {name[5:]: getattr(cycles, name) for name in dir(cycles) if name.startswith("LOOP_")}
    ours.pop("NAMES")
    assert enum == ours


def test_csynth_report_parser(tmp_path):
    path = tmp_path / "csynth.xml"
    path.write_text(
        "<profile><PerformanceEstimates><SummaryOfTimingAnalysis>"
        "<EstimatedClockPeriod>7.300</EstimatedClockPeriod></SummaryOfTimingAnalysis>"
        "<SummaryOfOverallLatency><Best-caseLatency>1200</Best-caseLatency>"
        "<Average-caseLatency>undef</Average-caseLatency><Worst-caseLatency>90000"
        "</Worst-caseLatency></SummaryOfOverallLatency></PerformanceEstimates>"
        "<AreaEstimates><Resources><BRAM_18K>40</BRAM_18K><DSP>8</DSP><FF>9000</FF>"
        "<LUT>12000</LUT></Resources></AreaEstimates></profile>"
    )
    report = read_csynth(path)
    assert (report.latency_best, report.latency_average, report.latency_worst) == (
        1200,
        None,
        90000,
    )
    assert report.clock_ns == 7.3
    assert report.resources == {"BRAM_18K": 40, "DSP": 8, "FF": 9000, "LUT": 12000}


def test_default_lanes_narrow_until_the_core_fits_but_unroll_is_kept():
    from spikeforge.ir import InputFormat

    rng = np.random.default_rng(3)
    fc1 = NeuronLayer("fc1", "dense", (64,), (64,), rng.integers(-100, 100, (64, 64)),
                      np.zeros(64, np.int64), np.full(64, 900))
    out = NeuronLayer("out", "dense", (64,), (4,), rng.integers(-100, 100, (64, 4)),
                      np.zeros(4, np.int64), np.full(4, 900))
    net = Network("mlp", (64,), [fc1, out], formats=Formats(),
                  input_format=InputFormat(8, True, 100.0))
    wide = plan_network(net, HlsOptions(check_resources=False))
    assert wide.neurons[0].synapse_units > 198  # the analog layer's multipliers are DSPs
    fitted = plan_network(net)
    assert fitted.neurons[0].lanes < wide.neurons[0].lanes
    assert fitted.neurons[0].synapse_units <= 198 and fitted.neurons[1].lanes == 4
    with pytest.raises(HlsPlanError, match=r"DSPs.*layer 'fc1'.*--unroll fc1=N"):
        plan_network(net, HlsOptions(unroll={"fc1": wide.neurons[0].lanes}))
