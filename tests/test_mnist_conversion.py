"""The converted MNIST network behaves like its ANN (statistical checks, float and golden)."""

from __future__ import annotations

import numpy as np
import pytest

from spikeforge import ir
from spikeforge.ann_numpy import iter_activations
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.frontend.keras_model import keras_to_graph, load_keras_model
from spikeforge.netdir import load_float_network
from spikeforge.simulator import simulate
from spikeforge.train import ann_predict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def images(mnist):
    return mnist.test_images[:300], mnist.test_labels[:300]


def test_float_snn_rates_correlate_with_ann_activations(mnist, mnist_model_path, images):
    """Firing rates approach lambda-normalized ANN activations in every layer (paper eq. 7)."""
    x, _ = images
    graph = keras_to_graph(load_keras_model(mnist_model_path))
    state = run_flow(graph, mnist.train_images[:2000], ConvertOptions())
    timesteps = 128
    result = simulate(state.float_net, x, timesteps, record_layers=True)
    acts = [np.concatenate(parts) for parts in zip(*iter_activations(state.graph, x),
                                                    strict=True)]
    neuron_acts = [a for a, layer in zip(acts, state.graph.layers, strict=True)
                   if isinstance(layer, ir.Conv2D | ir.Dense)]
    for counts, act, scale in zip(result.layer_counts[:-1], neuron_acts, state.scales,
                                  strict=False):
        rate = counts.ravel() / timesteps
        target = np.clip(act.ravel() / scale, 0, 1)
        assert np.corrcoef(rate, target)[0, 1] > 0.95


def test_snn_accuracy_close_to_ann(mnist_net_dir, mnist_model_path, mnist_net, images):
    x, labels = images
    ann = float((ann_predict(load_keras_model(mnist_model_path), x) == labels).mean())
    floating = simulate(load_float_network(mnist_net_dir), x, 64).accuracy(labels)
    golden = simulate(mnist_net, x, 64)
    assert golden.saturation.sum() == 0
    assert abs(floating - ann) <= 0.02 and abs(golden.accuracy(labels) - ann) <= 0.02
    agree = np.mean(golden.classes == simulate(load_float_network(mnist_net_dir), x, 64).classes)
    assert agree > 0.97
