"""Quantization: error bounds, formats respected, overflow refused with the fix."""

from __future__ import annotations

import numpy as np
import pytest

from spikeforge.ir import Formats, Network, NeuronLayer, SnnConfig
from spikeforge.quant import (
    FormatOverflowError,
    initial_membrane,
    layer_bounds,
    quantize,
    signed_bits,
)
from spikeforge.simulator import simulate


def float_net(seed: int, weight_scale: float = 1.0, bias_scale: float = 0.3) -> Network:
    rng = np.random.default_rng(seed)
    conv = NeuronLayer("conv", "conv", (6, 6, 2), (4, 4, 3),
                       rng.normal(0, weight_scale, (3, 3, 2, 3)) / 255.0,
                       rng.normal(0, bias_scale, 3), np.ones(3))
    dense = NeuronLayer("dense", "dense", (48,), (4,), rng.normal(0, weight_scale, (48, 4)),
                        rng.normal(0, bias_scale, 4), np.ones(4))
    return Network("f", (6, 6, 2), [conv, dense], SnnConfig(), None)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bits", [4, 8, 12])
def test_quantization_error_is_half_a_step(seed, bits):
    formats = Formats(weight_bits=bits, threshold_bits=16, membrane_bits=24, bias_bits=24)
    net = float_net(seed)
    qnet = quantize(net, formats)
    qmax = (1 << (bits - 1)) - 1
    for fl, q in zip(net.neuron_layers, qnet.neuron_layers, strict=True):
        assert np.abs(q.weights).max() <= qmax
        assert (q.threshold >= 1).all() and (q.threshold < 1 << 16).all()
        assert (np.abs(q.weights / q.threshold - fl.weights) <= 0.5 / q.threshold + 1e-12).all()
        assert (np.abs(q.bias / q.threshold - fl.bias) <= 0.5 / q.threshold + 1e-12).all()
        # the largest weight of every channel uses the format (unless the threshold is capped)
        peak = np.abs(q.weights).reshape(-1, q.channels).max(axis=0)
        capped = q.threshold == (1 << 16) - 1
        assert ((peak > qmax // 2) | capped).all()


def test_quantized_network_tracks_the_float_one():
    net = float_net(7, weight_scale=0.5)
    qnet = quantize(net, Formats())
    images = np.random.default_rng(0).integers(0, 256, (64, 6, 6, 2), dtype=np.uint8)
    f, q = simulate(net, images, 64), simulate(qnet, images, 64)
    assert np.abs(f.counts - q.counts).max() <= 2


def test_bias_overflow_names_layer_and_fix():
    net = float_net(0, bias_scale=100.0)
    with pytest.raises(FormatOverflowError, match=r"layer 'conv'.*--bias-bits \d+"):
        quantize(net, Formats(bias_bits=12))


def test_weight_too_large_names_layer():
    net = float_net(0, weight_scale=1000.0)
    with pytest.raises(FormatOverflowError, match=r"layer 'conv' channel \d+.*--weight-bits"):
        quantize(net, Formats(weight_bits=4))


def test_formats_are_validated():
    with pytest.raises(ValueError, match="threshold_bits"):
        Formats(threshold_bits=23, membrane_bits=24)
    with pytest.raises(ValueError, match="bias_bits"):
        Formats(bias_bits=30, membrane_bits=24)


def test_signed_bits():
    assert [signed_bits(0, 0), signed_bits(-1, 0), signed_bits(0, 1), signed_bits(-128, 127),
            signed_bits(-129, 0), signed_bits(0, 128)] == [1, 1, 2, 8, 9, 9]


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_membranes_never_leave_the_reported_bounds(reset):
    """Membranes sized to the report's worst case never saturate, even on extreme inputs."""
    net = float_net(3, weight_scale=0.8)
    net.config = SnnConfig(reset=reset, timesteps=40, max_timesteps=40)
    wide = quantize(net, Formats(membrane_bits=40, bias_bits=24))
    needed = max(layer_bounds(wide, i).membrane_bits for i in range(2))
    sized = quantize(net, Formats(membrane_bits=max(needed, 18), bias_bits=18))
    rng = np.random.default_rng(1)
    images = np.concatenate([
        rng.integers(0, 256, (32, 6, 6, 2), dtype=np.uint8),
        np.full((1, 6, 6, 2), 255, np.uint8),
        np.zeros((1, 6, 6, 2), np.uint8),
    ])
    assert simulate(sized, images, 40).saturation.sum() == 0


def test_initial_membrane_is_the_layer_s_own_else_the_config_rule():
    net = quantize(float_net(0), Formats())
    layer = net.neuron_layers[0]
    theta = layer.threshold
    np.testing.assert_array_equal(initial_membrane(layer, SnnConfig()), np.zeros_like(theta))
    np.testing.assert_array_equal(initial_membrane(layer, SnnConfig(v_init="half")), theta // 2)
    layer.v_init = np.array([-3, 0, 7])
    for v_init in ("zero", "half"):  # the layer's own wins over the config's rule
        np.testing.assert_array_equal(initial_membrane(layer, SnnConfig(v_init=v_init)),
                                      [-3, 0, 7])
    # a float SNN: theta / 2 unrounded
    assert initial_membrane(float_net(0).neuron_layers[0], SnnConfig(v_init="half"))[0] == 0.5


def test_quantize_keeps_the_initial_membrane_as_a_fraction_of_theta():
    net = float_net(1)
    net.neuron_layers[0].v_init = np.array([0.0, 0.25, 0.75])
    q = quantize(net, Formats())
    layer = q.neuron_layers[0]
    np.testing.assert_array_equal(layer.v_init, np.floor(np.array([0, 0.25, 0.75]) *
                                                         layer.threshold).astype(np.int64))
    assert q.neuron_layers[1].v_init is None


def test_bounds_and_range_checks_use_the_layer_s_initial_membrane():
    net = quantize(float_net(2), Formats(membrane_bits=24))
    layer = net.neuron_layers[1]
    low = layer_bounds(net, 1).membrane_min
    layer.v_init = np.full(layer.channels, low - 1000)
    assert layer_bounds(net, 1).membrane_min <= low - 1000
    with pytest.raises(ValueError, match=r"initial membrane \(v_init\) is outside the membrane"):
        Network(net.name, net.input_shape, net.layers, net.config,
                Formats(threshold_bits=8, bias_bits=12, membrane_bits=12), net.input_format)
