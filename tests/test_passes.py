"""Each conversion pass keeps what the ANN computes, or refuses with the layer's name."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from keras_builders import everything_model, random_images, sequential
from spikeforge import ir
from spikeforge.ann_numpy import iter_activations, predict
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.frontend import UnsupportedLayerError
from spikeforge.frontend.keras_model import keras_to_graph
from spikeforge.passes.batchnorm import fold_batchnorm
from spikeforge.passes.canonical import (
    avgpool_to_conv,
    check_canonical,
    drop_dropout,
    drop_output_softmax,
    merge_relu,
)
from spikeforge.passes.normalize import activation_scales

IMAGES = random_images((12, 12, 2), 48, seed=3)


def assert_same_outputs(before: ir.AnnGraph, after: ir.AnnGraph, images=IMAGES) -> None:
    np.testing.assert_allclose(predict(after, images), predict(before, images),
                               rtol=1e-4, atol=1e-5)


def test_batchnorm_folding_equals_unfolded_network():
    graph = drop_dropout(keras_to_graph(everything_model(seed=1)))
    folded = fold_batchnorm(graph)
    assert not any(isinstance(layer, ir.BatchNorm) for layer in folded.layers)
    assert_same_outputs(graph, folded)


@pytest.mark.parametrize("seed", range(3))
def test_batchnorm_folds_forward_into_the_next_layer(seed):
    from keras import layers

    # BN on the input, BN after a ReLU before a valid conv, BN after ReLU before Flatten+Dense
    model = sequential((10, 10, 1), [
        layers.BatchNormalization(name="bn_in"),
        layers.Conv2D(3, 3, activation="relu", name="c1"),
        layers.BatchNormalization(name="bn_mid"),
        layers.Conv2D(4, 3, activation="relu", name="c2"),
        layers.BatchNormalization(name="bn_flat"),
        layers.Flatten(),
        layers.Dense(3, name="out"),
    ], seed)
    graph = keras_to_graph(model)
    folded = fold_batchnorm(graph)
    assert [type(la).__name__ for la in folded.layers].count("BatchNorm") == 0
    assert_same_outputs(graph, folded, random_images((10, 10, 1), 32, seed))


def test_batchnorm_before_same_padded_conv_is_refused():
    from keras import layers

    model = sequential((8, 8, 1), [
        layers.Conv2D(2, 3, activation="relu"),
        layers.BatchNormalization(name="bn_pad"),
        layers.Conv2D(2, 3, padding="same", name="padded"),
        layers.Flatten(),
        layers.Dense(2),
    ])
    with pytest.raises(UnsupportedLayerError, match=r"'bn_pad'.*'padded'"):
        fold_batchnorm(keras_to_graph(model))


def test_relu_merges_through_maxpool_and_flatten():
    from keras import layers

    model = sequential((8, 8, 1), [
        layers.Conv2D(3, 3, name="c"), layers.MaxPooling2D(2), layers.ReLU(max_value=2.0),
        layers.Flatten(), layers.Dense(2, name="out"),
    ])
    graph = keras_to_graph(model)
    merged = merge_relu(graph)
    conv = merged.layers[0]
    assert conv.relu == ir.Relu(cap=2.0)
    assert not any(isinstance(layer, ir.ReLU) for layer in merged.layers)
    assert_same_outputs(graph, merged, random_images((8, 8, 1), 16))


def test_average_pooling_becomes_an_equal_convolution():
    from keras import layers

    model = sequential((8, 8, 3), [
        layers.Conv2D(3, 1, activation="relu"), layers.AveragePooling2D(2, name="avg"),
        layers.Flatten(), layers.Dense(2),
    ])
    graph = merge_relu(keras_to_graph(model))
    converted = avgpool_to_conv(graph)
    conv = converted.layers[1]
    assert isinstance(conv, ir.Conv2D) and conv.name == "avg" and conv.relu == ir.Relu()
    assert_same_outputs(graph, converted, random_images((8, 8, 3), 16))


def test_canonical_form_refusals_name_the_layer():
    from keras import layers

    hidden_linear = sequential((6, 6, 1), [layers.Flatten(), layers.Dense(4, name="linear"),
                                           layers.Dense(2)])
    with pytest.raises(UnsupportedLayerError, match=r"'linear' \(Dense\): a hidden layer"):
        check_canonical(merge_relu(keras_to_graph(hidden_linear)))
    mid_softmax = sequential((6, 6, 1), [layers.Flatten(), layers.Dense(4, activation="softmax",
                                         name="sm"), layers.Dense(2)])
    with pytest.raises(UnsupportedLayerError, match="sm/softmax"):
        drop_output_softmax(keras_to_graph(mid_softmax))
    no_flatten = sequential((6, 6, 1), [layers.Conv2D(2, 3, activation="relu"),
                                        layers.Dense(2, name="dense_on_map")])
    with pytest.raises(UnsupportedLayerError, match=r"'dense_on_map'.*Flatten"):
        check_canonical(merge_relu(keras_to_graph(no_flatten)))


def _canonical(graph):
    state = run_flow(graph, IMAGES, ConvertOptions(percentile=None), verify_images=IMAGES[:8])
    return state.graph


def test_flow_verifies_every_graph_step():
    graph = keras_to_graph(everything_model(seed=2))
    canonical = _canonical(graph)
    kinds = {type(layer).__name__ for layer in canonical.layers}
    assert kinds <= {"Conv2D", "Dense", "MaxPool", "Flatten"}


@pytest.mark.parametrize("percentile", [100.0, 99.9, 50.0])
def test_percentile_is_exact(percentile):
    canonical = _canonical(keras_to_graph(everything_model(seed=4)))
    scales = list(activation_scales(canonical, IMAGES, percentile, batch_size=7).values())
    acts = [np.concatenate(parts) for parts in zip(*iter_activations(canonical, IMAGES),
                                                    strict=True)]
    neuron_outputs = [a for a, la in zip(acts, canonical.layers, strict=True)
                      if isinstance(la, ir.Conv2D | ir.Dense)]
    expected = [np.percentile(a[a > 0].astype(np.float64), percentile) for a in neuron_outputs]
    assert scales == pytest.approx(expected, rel=0, abs=0)


def test_normalization_scales_each_layer_output_by_its_lambda():
    """The float SNN's weights, read back as an ANN, compute a / lambda in every layer."""
    canonical = _canonical(keras_to_graph(everything_model(seed=5)))
    options = ConvertOptions(percentile=99.0)
    state = run_flow(canonical, IMAGES, options)
    normalized_layers = []
    neurons = iter(state.float_net.neuron_layers)
    for layer in canonical.layers:
        if isinstance(layer, ir.Conv2D):
            snn = next(neurons)
            weights = snn.weights * (255.0 if layer is canonical.layers[0] else 1.0)
            normalized_layers.append(dataclasses.replace(layer, kernel=weights, bias=snn.bias))
        elif isinstance(layer, ir.Dense):
            snn = next(neurons)
            normalized_layers.append(dataclasses.replace(layer, weights=snn.weights,
                                                         bias=snn.bias))
        else:
            normalized_layers.append(layer)
    normalized = ir.AnnGraph(canonical.input_shape, normalized_layers)
    np.testing.assert_allclose(predict(normalized, IMAGES) * state.scales[-1],
                               predict(canonical, IMAGES), rtol=1e-4, atol=1e-5)
