"""The golden model against small cases worked out by hand from docs/spec.md."""

from __future__ import annotations

import numpy as np
import pytest

from spikeforge.ir import Formats, Network, NeuronLayer, PoolGate, SnnConfig
from spikeforge.poisson import random_bytes, xorshift32
from spikeforge.simulator import ImageError, decide, simulate

WIDE = Formats(weight_bits=8, bias_bits=16, threshold_bits=12, membrane_bits=20)


def dense(name, nin, weights, bias, theta):
    weights = np.asarray(weights, dtype=np.int64).reshape(nin, -1)
    return NeuronLayer(name, "dense", (nin,), (weights.shape[1],), weights,
                       np.asarray(bias, dtype=np.int64), np.asarray(theta, dtype=np.int64))


def chain(*layers, input_shape=(1, 1, 1), formats=WIDE, **config) -> Network:
    return Network("case", input_shape, list(layers), SnnConfig(**config), formats)


def spike_train(net: Network, image: np.ndarray, steps: int, layer: int = -1) -> np.ndarray:
    """Per timestep 0/1 spikes of neuron layer ``layer`` for one image."""
    results = simulate(net, image[None], checkpoints=list(range(1, steps + 1)),
                       record_layers=True)
    counts = np.stack([results[t].layer_counts[layer][0] for t in range(1, steps + 1)])
    return np.diff(counts, axis=0, prepend=0)


def test_two_neuron_chain_subtract_reset():
    # layer 1: I = 2 * 10 + 1 = 21 per step, theta 50: V = 21, 42, 63->13 (spike), 34, 55->5
    # (spike), 26, 47, 68->18 (spike); layer 2 gets +40 per input spike, bias -5, theta 60
    net = chain(dense("a", 1, [[2]], [1], [50]), dense("b", 1, [[40]], [-5], [60]))
    image = np.array([[[10]]], dtype=np.uint8)
    np.testing.assert_array_equal(spike_train(net, image, 8, 0)[:, 0], [0, 0, 1, 0, 1, 0, 0, 1])
    # layer 2: V = -5, -10, 25, 20, 55, 50, 45, 80->20 (spike)
    np.testing.assert_array_equal(spike_train(net, image, 8, 1)[:, 0], [0, 0, 0, 0, 0, 0, 0, 1])


def test_reset_to_zero_loses_the_residue():
    net = chain(dense("a", 1, [[2]], [1], [50]), reset="zero")
    image = np.array([[[10]]], dtype=np.uint8)
    # V = 21, 42, 63 -> 0 (spike), 21, 42, 63 -> 0 (spike), ...: every third step
    np.testing.assert_array_equal(spike_train(net, image, 9)[:, 0], [0, 0, 1] * 3)


def test_half_threshold_start():
    net = chain(dense("a", 1, [[2]], [1], [50]), v_init="half")
    image = np.array([[[10]]], dtype=np.uint8)
    # V starts at 25: 46, 67->17 (spike), 38, 59->9 (spike), 30, 51->1 (spike)
    np.testing.assert_array_equal(spike_train(net, image, 6)[:, 0], [0, 1, 0, 1, 0, 1])


def test_subtract_reset_rate_equals_floor_formula():
    # constant current I below theta: N(T) = floor(T * I / theta) (paper eq. 6, V(0) = 0)
    net = chain(dense("a", 1, [[1]], [0], [255]), max_timesteps=200, timesteps=200)
    pixels = np.arange(256, dtype=np.uint8).reshape(256, 1, 1, 1)
    result = simulate(net, pixels, 200)
    np.testing.assert_array_equal(result.counts[:, 0], (200 * np.arange(256)) // 255)


def test_saturation_is_clamped_and_counted():
    tight = Formats(weight_bits=8, bias_bits=8, threshold_bits=4, membrane_bits=8)
    # I = 127 * 1 + 100 = 227 per step, theta 10, Vmax 127: 0+227 -> clamp 127, fire -> 117,
    # 117+227 -> clamp 127 again: every step clamps and fires
    net = chain(dense("a", 1, [[127]], [100], [10]), formats=tight)
    result = simulate(net, np.ones((1, 1, 1, 1), np.uint8), 5)
    assert result.counts[0, 0] == 5
    assert result.saturation[0, 0] == 5
    # negative side: I = -127 - 100 per step clamps at -128 from the first step on
    net = chain(dense("a", 1, [[-127]], [-100], [10]), formats=tight)
    result = simulate(net, np.ones((1, 1, 1, 1), np.uint8), 4)
    assert result.counts[0, 0] == 0 and result.saturation[0, 0] == 4


def _gate_net(pool=(2, 2), strides=(2, 2), pads=(0, 0, 0, 0)) -> Network:
    """A 1x1 identity conv on a 2x2 image (I = pixel, theta 100), then a max-pool gate."""
    conv = NeuronLayer("c", "conv", (2, 2, 1), (2, 2, 1), np.ones((1, 1, 1, 1), np.int64),
                       np.zeros(1, np.int64), np.array([100], np.int64))
    gate = PoolGate("g", (2, 2, 1), (1, 1, 1), pool, strides, pads)
    out = dense("o", 1, [[100]], [0], [100])
    return chain(conv, gate, out, input_shape=(2, 2, 1))


def test_gate_tie_goes_to_first_in_row_major_order():
    # neuron spikes when floor(t * pixel / 100) grows. A = (0,0) pixel 34 spikes at t = 3, 6;
    # B = (1,1) pixel 50 at t = 2, 4, 6. Counts after t: A 0 0 1 1 1 2, B 0 1 1 2 2 3.
    # t=3 is a tie (1, 1) where only A spikes: the first position (A) wins, so the gate
    # passes a spike. (A "last position" rule, or counts that excluded this step, give 0.)
    image = np.array([[[34], [0]], [[0], [50]]], dtype=np.uint8)
    gated = spike_train(_gate_net(), image, 6, 1)[:, 0]
    np.testing.assert_array_equal(gated, [0, 1, 1, 1, 0, 1])


def test_gate_follows_the_highest_count():
    # (1,1) = 100 spikes every step and leads from step 1; (0,0) = 60 never catches up
    image = np.array([[[60], [0]], [[0], [100]]], dtype=np.uint8)
    gated = spike_train(_gate_net(), image, 6, 1)[:, 0]
    np.testing.assert_array_equal(gated, [1, 1, 1, 1, 1, 1])


def test_gate_padding_never_wins():
    # a 2x2 window at stride 2 with one row/column of padding on top/left: the window over
    # the single pixel (0,0) contains three padded positions; the pixel's train passes
    net = _gate_net(pool=(2, 2), strides=(2, 2), pads=(1, 0, 1, 0))
    net.layers[1] = PoolGate("g", (2, 2, 1), (2, 2, 1), (2, 2), (2, 2), (1, 1, 1, 1))
    net.layers[2] = dense("o", 4, [[100]] * 4, [0], [100])
    image = np.array([[[100], [0]], [[0], [0]]], dtype=np.uint8)
    gated = simulate(net, image[None], 5, record_layers=True)
    assert gated.layer_counts[0][0, 0, 0, 0] == 5  # conv (0,0) fires every step
    assert gated.counts[0, 0] == 5  # gate passed all 5 spikes into the output neuron


def test_class_ties_broken_by_relative_membrane_then_index():
    counts = np.array([[3, 3, 1], [2, 2, 2], [0, 0, 0]])
    membrane = np.array([[10, 30, 99], [5, 10, 5], [7, 7, 7]])
    threshold = np.array([20, 50, 10])
    # image 0: 10/20 = 0.5 vs 30/50 = 0.6 -> class 1; image 1: 5/20 = 0.25, 10/50 = 0.2,
    # 5/10 = 0.5 -> class 2; image 2: 0.35, 0.14, 0.7 -> class 2
    np.testing.assert_array_equal(decide(counts, membrane, threshold), [1, 2, 2])
    exact_tie = decide(np.array([[1, 1]]), np.array([[4, 2]]), np.array([20, 10]))
    assert exact_tie[0] == 0  # 4/20 == 2/10: lowest index


def test_output_tie_break_in_simulation():
    # two output neurons never spike (theta huge); their final membranes decide
    net = chain(dense("a", 1, [[1, 2]], [0, 0], [4000, 4000]))
    result = simulate(net, np.full((1, 1, 1, 1), 7, np.uint8), 3)
    assert result.counts.tolist() == [[0, 0]]
    assert result.membrane.tolist() == [[21, 42]] and result.classes[0] == 1


def test_xorshift32_sequence_and_poisson_rates():
    # the first states from seed 1, computed by hand: 1 -> 270369 -> 67634689 -> 2647435461
    assert xorshift32(1) == 270369
    assert xorshift32(270369) == 67634689
    assert xorshift32(67634689) == 2647435461
    draws = random_bytes(1, 3, 1)
    assert draws.ravel().tolist() == [270369 >> 24, 67634689 >> 24, 2647435461 >> 24]
    many = random_bytes(12345, 400, 100).astype(int)
    assert abs(many.mean() - 127.5) < 1.0  # uniform top bytes


def test_poisson_input_spikes_follow_pixels():
    # with Poisson input a pixel p spikes when p > top byte; weight 1, theta 1: the input
    # layer's neuron fires exactly when its input spikes (I = s, V never exceeds 1)
    net = chain(dense("a", 1, [[1]], [0], [1]), input_mode="poisson", seed=99,
                max_timesteps=64, timesteps=64)
    for p in (0, 1, 128, 255):
        train = spike_train(net, np.full((1, 1, 1), p, np.uint8), 64)[:, 0]
        expected = (p > random_bytes(99, 64, 1)[:, 0]).astype(int)
        np.testing.assert_array_equal(train, expected)


def test_images_are_checked():
    net = chain(dense("a", 4, [[1]] * 4, [0], [10]), input_shape=(2, 2, 1))
    with pytest.raises(ImageError, match="uint8"):
        simulate(net, np.zeros((1, 2, 2, 1), np.float32))
    with pytest.raises(ImageError, match=r"images\[\.\.\., None\]"):
        simulate(net, np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ImageError, match=r"images\[None\]"):
        simulate(net, np.zeros((2, 2, 1), np.uint8))
    with pytest.raises(ValueError, match="max_timesteps"):
        simulate(net, np.zeros((1, 2, 2, 1), np.uint8), 1000)


def test_running_max_pool_counts_equal_the_window_maximum():
    # same window as the tie test: A = (0,0) pixel 34 (spikes at t = 3, 6), B = (1,1) pixel
    # 50 (t = 2, 4, 6). The window max count after t is 0 1 1 2 2 3: the output spikes
    # whenever that maximum grows: t = 2, 4, 6. (The gate passes A's spike at t = 3 instead.)
    net = _gate_net()
    net.config = SnnConfig(pool="running_max")
    image = np.array([[[34], [0]], [[0], [50]]], dtype=np.uint8)
    np.testing.assert_array_equal(spike_train(net, image, 6, 1)[:, 0], [0, 1, 0, 1, 0, 1])
    # A leader change: A = 67 spikes at t = 2, 3, 5, 6; B = 50 at t = 2, 4, 6. Max counts
    # 0 1 2 2 3 4 -> output spikes at t = 2, 3, 5, 6 and ends with max(N_A, N_B) = 4 spikes.
    image = np.array([[[67], [0]], [[0], [50]]], dtype=np.uint8)
    np.testing.assert_array_equal(spike_train(net, image, 6, 1)[:, 0], [0, 1, 1, 0, 1, 1])
