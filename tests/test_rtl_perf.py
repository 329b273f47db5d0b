"""The throughput figures' event counts (sw/spikeforge/rtl/perf.py) against the golden
model: what each synapse array receives is what the layer before it (or its gate) emits."""

from __future__ import annotations

import numpy as np
import pytest

from netgen import random_images, random_network
from rtl_helpers import with_config
from spikeforge.ir import NeuronLayer, PoolGate
from spikeforge.rtl.perf import Throughput, input_events
from spikeforge.simulator import simulate


@pytest.mark.parametrize("pool", ["gate", "running_max"])
@pytest.mark.parametrize("seed", [0, 2, 4])  # networks with gates and dense pairs
def test_input_events_are_the_spikes_each_layer_receives(seed, pool):
    net = with_config(random_network(seed), input_mode="analog", pool=pool)
    images = random_images(seed, net, 5)
    steps = min(6, net.config.max_timesteps)
    events = input_events(net, images, steps)
    neurons = [layer for layer in net.layers if isinstance(layer, NeuronLayer)]
    assert len(events) == len(neurons)
    # analog input: the first layer takes each nonzero pixel once per image
    assert events[0] == pytest.approx(np.count_nonzero(images) / len(images))
    counts = simulate(net, images, steps, record_layers=True).layer_counts
    for index, layer in enumerate(net.layers[1:], start=1):
        before = net.layers[index - 1]
        if isinstance(layer, NeuronLayer) and isinstance(before, NeuronLayer):
            # no gate between them: every spike of the previous layer is one event
            k = neurons.index(layer)
            assert events[k] == pytest.approx(counts[k - 1].sum() / len(images))
        if isinstance(layer, PoolGate):
            # a gate passes at most one spike per window and step; windows that do not
            # overlap never pass more spikes than they got
            k = neurons.index(next(x for x in net.layers[index:] if isinstance(x, NeuronLayer)))
            assert 0 <= events[k] <= int(np.prod(layer.out_shape)) * steps
            if tuple(layer.pool) == tuple(layer.strides):
                assert events[k] <= counts[k - 1].sum() / len(images)


def test_throughput_ratio_and_images_per_second():
    perf = Throughput(images=4, cycles=40_000, synops=20_000.0, lanes=10)
    assert perf.cycles_per_image == 10_000
    assert perf.ideal_cycles == 2_000
    assert perf.ratio == 5.0
    assert perf.images_per_second(100.0) == 10_000
