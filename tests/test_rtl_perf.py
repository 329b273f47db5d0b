"""The throughput figures' event counts (sw/spikeforge/rtl/perf.py) against the golden
model: what each synapse array receives is what the layer before it (or its gate) emits."""

from __future__ import annotations

import numpy as np
import pytest

from netgen import random_images, random_network
from rtl_helpers import with_config
from spikeforge.ir import NeuronLayer, PoolGate
from spikeforge.rtl.hwdesc import describe
from spikeforge.rtl.perf import Throughput, incoming_events, input_events, synapse_cycles
from spikeforge.rtl.plan import StagePlan
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


def _targets(size: int, out: int, kernel: int, stride: int, pad: int) -> np.ndarray:
    """Output coordinates each input coordinate reaches."""
    return np.array([sum(0 <= y + pad - o * stride < kernel for o in range(out))
                     for y in range(size)])


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_synapse_cycles_count_the_busiest_banks_targets(seed):
    net = with_config(random_network(seed), input_mode="analog")
    images = random_images(seed, net, 4)
    steps = min(5, net.config.max_timesteps)
    incoming = incoming_events(net, images, steps)
    events = input_events(net, images, steps)
    # single banks: a cycle per output position an event reaches, but at least one cycle
    # per event (the array takes one per cycle)
    single = describe(net, [StagePlan(banks=(1, 1), tile=(1, 1)) for _ in incoming])
    for hw, counts, n_events, cycles in zip(single, incoming, events,
                                            synapse_cycles(single, incoming, 4), strict=True):
        st = hw.stage
        if st.dense:
            assert cycles == pytest.approx(counts.sum() / 4)
            continue
        (h, w, _), (ho, wo, _) = st.in_shape, st.out_shape
        rows = _targets(h, ho, st.kernel[0], st.strides[0], st.pads[0])
        cols = _targets(w, wo, st.kernel[1], st.strides[1], st.pads[2])
        work = (counts * np.outer(rows, cols)).sum() / 4
        assert cycles == pytest.approx(max(work, n_events))
    # a bank per output position: each takes only its own targets, so the busiest bank
    # has fewer than one event's worth of work in total; the event rate bounds the array
    full = describe(net, [StagePlan(banks=hw.stage.out_shape[:2] if not hw.stage.dense
                                    else (1, 1), tile=(1, 1)) for hw in single])
    for n_events, cycles in zip(events, synapse_cycles(full, incoming, 4), strict=True):
        assert cycles == pytest.approx(n_events)


def test_throughput_ratio_and_images_per_second():
    perf = Throughput(images=4, cycles=40_000, synops=20_000.0, lanes=10)
    assert perf.cycles_per_image == 10_000
    assert perf.ideal_cycles == 2_000
    assert perf.ratio == 5.0
    assert perf.images_per_second(100.0) == 10_000
