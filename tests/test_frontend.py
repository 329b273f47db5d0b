"""The Keras frontend: what it reads equals what Keras computes; what it can't read it refuses
by name."""

from __future__ import annotations

import numpy as np
import pytest

from keras_builders import everything_model, keras_predict, random_images, sequential
from spikeforge import ir
from spikeforge.ann_numpy import predict
from spikeforge.frontend import UnsupportedLayerError
from spikeforge.frontend.keras_model import keras_to_graph


def test_graph_computes_what_keras_computes():
    model = everything_model()
    graph = keras_to_graph(model)
    images = random_images((12, 12, 2), 32)
    np.testing.assert_allclose(predict(graph, images), keras_predict(model, images),
                               rtol=1e-4, atol=1e-5)


def test_reads_layer_settings():
    graph = keras_to_graph(everything_model())
    kinds = [type(layer).__name__ for layer in graph.layers]
    assert kinds[:4] == ["Conv2D", "BatchNorm", "ReLU", "MaxPool"]
    c1 = graph.layers[0]
    assert c1.pads == (1, 1, 1, 1) and c1.kernel.shape == (3, 3, 2, 4)
    c2 = graph.layers[4]
    assert c2.strides == (1, 2) and c2.kernel.shape == (3, 2, 4, 6)
    assert isinstance(graph.layers[-1], ir.Softmax)


def _refused(layers_list, match: str, input_shape=(8, 8, 1)):
    model = sequential(input_shape, layers_list)
    with pytest.raises(UnsupportedLayerError, match=match):
        keras_to_graph(model)


def test_refuses_unknown_layer_types_by_name():
    from keras import layers

    _refused([layers.Conv2D(2, 3, name="c"), layers.GlobalMaxPooling2D(name="gap"),
              layers.Dense(2)], r"'gap' \(GlobalMaxPooling2D\)")
    _refused([layers.Conv2DTranspose(2, 3, name="up"), layers.Flatten(), layers.Dense(2)],
             r"'up' \(Conv2DTranspose\)")


def test_refuses_unsupported_settings_by_name():
    from keras import layers

    _refused([layers.Conv2D(2, 3, activation="tanh", name="c"), layers.Flatten(),
              layers.Dense(2)], r"'c' \(Conv2D\): activation 'tanh'")
    _refused([layers.Conv2D(2, 3, dilation_rate=2, name="dil"), layers.Flatten(),
              layers.Dense(2)], r"'dil' \(Conv2D\): dilation_rate")
    _refused([layers.Conv2D(2, 3), layers.ReLU(negative_slope=0.1, name="leaky"),
              layers.Flatten(), layers.Dense(2)], r"'leaky' \(ReLU\): negative_slope")
    _refused([layers.Conv2D(2, 3), layers.LeakyReLU(name="lrelu"), layers.Flatten(),
              layers.Dense(2)], r"'lrelu' \(LeakyReLU\)")


def test_refuses_branching_graphs():
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 1))
    a = layers.Conv2D(2, 3, name="left")(inputs)
    b = layers.Conv2D(2, 3, name="right")(inputs)
    merged = layers.Add(name="merge")([a, b])
    model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(merged)))
    with pytest.raises(UnsupportedLayerError, match="merge"):
        keras_to_graph(model)
