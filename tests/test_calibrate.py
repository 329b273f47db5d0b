"""Post-training calibration (``convert --calibrate``): an ordinary network of the spec that
every backend runs bit-exactly, a smaller conversion error on images it never saw, and
'none' leaving today's conversion untouched."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rtl_helpers import rtl_root
from spikeforge import ir
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.netfile import load_network, save_network
from spikeforge.passes.calibrate import V_INIT_FRACTIONS, calibrate, conversion_errors
from spikeforge.passes.to_snn import build_float_snn
from spikeforge.quant import FormatOverflowError, largest_weight, quantize
from spikeforge.verify import compare, golden


def _random_graph(seed: int, signed: bool) -> tuple[ir.AnnGraph, np.ndarray]:
    """conv 3x3 (ReLU), max-pool 2, dense 12 (ReLU), dense 3, and 300 inputs for it."""
    rng = np.random.default_rng(seed)
    layers = [
        ir.Conv2D("c1", rng.normal(0, 0.4, (3, 3, 2, 4)), rng.normal(0, 0.1, 4),
                  relu=ir.Relu()),
        ir.MaxPool("p1", (2, 2), (2, 2)),
        ir.Flatten("flat"),
        ir.Dense("fc", rng.normal(0, 0.3, (64, 12)), rng.normal(0.05, 0.1, 12),
                 relu=ir.Relu()),
        ir.Dense("out", rng.normal(0, 0.5, (12, 3)), rng.normal(0, 0.1, 3)),
    ]
    data = rng.uniform(-1 if signed else 0, 1, (300, 10, 10, 2)).astype(np.float32)
    if not signed:
        data = np.rint(data * 255).astype(np.uint8)
    return ir.AnnGraph((10, 10, 2), layers, f"random{seed}"), data


def _convert(graph, data, level: str, **config) -> tuple:
    options = ConvertOptions(config=ir.SnnConfig(timesteps=6, **config), calibrate=level)
    return run_flow(graph, data, options)


def test_none_is_the_uncalibrated_conversion():
    graph, data = _random_graph(0, signed=False)
    state = _convert(graph, data, "none")
    plain = quantize(build_float_snn(state.graph, state.scales, state.int_net.config,
                                     state.input_format), ir.Formats())
    for got, want in zip(state.int_net.neuron_layers, plain.neuron_layers, strict=True):
        for name in ("weights", "bias", "threshold"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert state.calibration_result.summary()["layers"] == []


@pytest.mark.parametrize("level", ["bias", "full"])
@pytest.mark.parametrize(("seed", "signed", "v_init"), [(1, False, "zero"), (2, True, "half")])
def test_calibrated_network_is_a_network_of_the_spec(level, seed, signed, v_init, tmp_path):
    graph, data = _random_graph(seed, signed)
    state = _convert(graph, data, level, v_init=v_init)
    chosen = state.calibration_result.summary()["layers"]
    assert [la["name"] for la in chosen] == ["c1", "fc", "out"]
    if level == "bias":
        assert all(la["threshold_factor"] == 1.0 for la in chosen)
        assert all(la["v_init_fraction"] is None for la in chosen)
        assert all(layer.v_init is None for layer in state.int_net.neuron_layers)
    else:  # full: every layer starts at its own chosen fraction of each channel's threshold
        for la, layer in zip(chosen, state.int_net.neuron_layers, strict=True):
            assert la["v_init_fraction"] in V_INIT_FRACTIONS
            np.testing.assert_array_equal(
                layer.v_init, np.floor(la["v_init_fraction"] * layer.threshold)
            )
    # saved and loaded through the checked network file (initial membranes included), it
    # simulates as it was built
    save_network(state.int_net, tmp_path / "net")
    loaded = load_network(tmp_path / "net")
    images = state.int_net.input_format.encode(data[:20])
    got, want = golden(loaded, images, 6), golden(state.int_net, images, 6)
    np.testing.assert_array_equal(got.counts, want.counts)
    np.testing.assert_array_equal(got.saturation, want.saturation)


def test_full_calibration_keeps_every_weight_quantizable():
    # the output layer's tiny scale makes its normalized weights exceed 8 bits uncalibrated;
    # the threshold search only takes factors that keep each layer quantizable
    graph, data = _random_graph(4, signed=False)
    with pytest.raises(FormatOverflowError, match="layer 'out'"):
        _convert(graph, data, "none")
    state = _convert(graph, data, "full")
    for layer in state.float_net.neuron_layers:
        assert np.abs(layer.weights).max() <= largest_weight(ir.Formats())


def test_calibration_reduces_the_conversion_error_on_held_out_images():
    graph, data = _random_graph(3, signed=False)
    calibration, held_out = data[:200], data[200:]
    state = _convert(graph, calibration, "none")
    errors = {}
    for level in ("none", "bias", "full"):
        net, _ = calibrate(state.graph, state.scales, state.int_net.config, state.input_format,
                           calibration, level)
        errors[level] = conversion_errors(state.graph, net, held_out)
    # every layer's RMS error (ANN activation - lambda x rate) at T = 6 drops
    for layer in range(3):
        assert errors["bias"][layer] < errors["none"][layer]
        assert errors["full"][layer] < errors["none"][layer]


@pytest.fixture(scope="module")
def calibrated_nets():
    """Fully calibrated random networks (uint8 pixels; signed 8-bit inputs, half start)."""
    nets = []
    for seed, signed, v_init in [(4, False, "zero"), (5, True, "half")]:
        graph, data = _random_graph(seed, signed)
        state = _convert(graph, data, "full", v_init=v_init)
        nets.append((state.int_net, state.int_net.input_format.encode(data[:24])))
    return nets


@pytest.mark.csim
def test_hls_csim_equals_golden_on_calibrated_networks(calibrated_nets, tmp_path):
    from spikeforge.hls import run_csim

    for net, images in calibrated_nets:
        result = run_csim(net, images, 6, tmp_path)
        verdict = compare(result, golden(net, images, 6))
        assert verdict.ok and result.status == 0, verdict.describe()


@pytest.mark.rtl
def test_rtl_equals_golden_on_calibrated_networks(calibrated_nets, tmp_path_factory):
    from spikeforge.rtl.runner import simulate_rtl

    root = rtl_root(tmp_path_factory)
    net, images = calibrated_nets[-1]  # signed 8-bit inputs, half start (one build: minutes)
    sim = simulate_rtl(dataclasses.replace(net, name=f"{net.name}_cal"), images, 6, root=root)
    verdict = compare(sim.result, golden(net, images, 6))
    assert verdict.ok and sim.result.status == 0, verdict.describe()


def test_full_chooses_an_initial_membrane_per_layer_that_never_raises_the_error():
    # the config's rule (0 or 1/2) is among the candidates at the chosen threshold, so the
    # predicted error after ``full`` is at most that of the threshold search alone
    graph, data = _random_graph(3, signed=False)
    state = _convert(graph, data[:150], "none", v_init="half")
    args = (state.graph, state.scales, state.int_net.config, state.input_format, data[:150])
    net, full = calibrate(*args, "full")
    fractions = [la.v_init_fraction for la in full.layers]
    assert all(f in V_INIT_FRACTIONS for f in fractions)
    for layer, fraction in zip(net.neuron_layers, fractions, strict=True):
        np.testing.assert_allclose(layer.v_init, fraction * layer.threshold)
    _, bias = calibrate(*args, "bias")
    # the first layer sees the same input in both: full's candidates include bias's one
    assert full.layers[0].rms_error_after <= bias.layers[0].rms_error_after + 1e-9
    summary = full.summary()["layers"]
    assert [la["v_init_fraction"] for la in summary] == fractions


def test_the_report_lists_each_layer_s_initial_membrane():
    from spikeforge.report import _calibration_lines

    layer = {"name": "c1", "threshold_factor": 0.8, "v_init_fraction": 0.25,
             "rms_error_before": 0.3, "rms_error_after": 0.2}
    full = {"level": "full", "timesteps": 4, "images": 10, "layers": [layer]}
    assert _calibration_lines(full) == [
        "- calibration: full at T = 4 on 10 images; threshold factors, initial membranes: "
        "c1 x0.8, V(0) = 0.25 theta (RMS error 0.3 -> 0.2)"
    ]
    bias = dict(full, level="bias", layers=[dict(layer, threshold_factor=1.0,
                                                 v_init_fraction=None)])
    assert _calibration_lines(bias) == [
        "- calibration: bias at T = 4 on 10 images; threshold factors: c1 x1 (RMS error 0.3 "
        "-> 0.2)"
    ]
