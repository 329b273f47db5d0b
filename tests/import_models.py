"""Small Keras 3 models, one per supported import setting, with random weights.

Each builder returns ``(model, functional)``; :mod:`keras2_files` writes the same model as
Keras 2 / QKeras files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from keras_builders import randomize_batchnorm, sequential


def _functional(input_shape, layer_list, name="functional", input_name="input", seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape, name=input_name)
    x = inputs
    for layer in layer_list:
        x = layer(x)
    model = keras.Model(inputs, x, name=name)
    randomize_batchnorm(model, seed)
    return model


def positive_batchnorm(model, seed: int = 0) -> None:
    """Give every BatchNormalization a positive scale (so that it commutes with max-pool)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = (np.asarray(w) for w in layer.get_weights())
            layer.set_weights([np.abs(gamma) + 0.2, beta, mean, var + rng.uniform(0, 1, var.shape)])


def _setting(name: str) -> Callable[[], tuple[Any, bool]]:
    from keras import layers as L

    def head(units: int = 3) -> list[Any]:
        return [L.Flatten(name="flat"), L.Dense(units, activation="softmax", name="out")]

    builders: dict[str, Callable[[], tuple[Any, bool]]] = {
        "same_padding": lambda: (sequential((10, 10, 2), [
            L.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            L.Conv2D(4, 3, padding="same", activation="relu", name="c2"), *head()]), False),
        "same_stride2_odd_input": lambda: (sequential((11, 11, 1), [
            L.Conv2D(5, 3, strides=2, padding="same", activation="relu", name="c1"),
            L.Conv2D(4, 4, strides=2, padding="same", activation="relu", name="c2"), *head()]),
            False),
        "valid_nonsquare_strided": lambda: (sequential((12, 10, 2), [
            L.Conv2D(4, (3, 2), strides=(2, 1), name="c1"), L.Activation("relu", name="a1"),
            L.Conv2D(3, (1, 3), strides=(1, 2), activation="relu", name="c2"), *head()]),
            False),
        "pointwise_1x1": lambda: (sequential((8, 8, 3), [
            L.Conv2D(4, 1, activation="relu", name="c1"),
            L.Conv2D(4, 3, activation="relu", name="c2"), *head()]), False),
        "no_bias": lambda: (sequential((9, 9, 1), [
            L.Conv2D(4, 3, use_bias=False, activation="relu", name="c1"), L.Flatten(name="f"),
            L.Dense(6, use_bias=False, activation="relu", name="d1"),
            L.Dense(3, use_bias=False, name="out")]), False),
        "relu_layers_and_caps": lambda: (sequential((10, 10, 1), [
            L.Conv2D(4, 3, name="c1"), L.ReLU(max_value=1.5, name="r1"),
            L.Conv2D(4, 3, activation="relu6", name="c2"), L.Flatten(name="f"),
            L.Dense(5, name="d1"), L.ReLU(name="r3"), L.Dense(3, name="out")]), False),
        "maxpool_same_strided": lambda: (sequential((11, 11, 1), [
            L.Conv2D(4, 3, activation="relu", name="c1"),
            L.MaxPooling2D(3, strides=2, padding="same", name="p1"),
            L.Conv2D(4, 2, activation="relu", name="c2"), *head()]), False),
        "avgpool_valid": lambda: (sequential((10, 10, 1), [
            L.Conv2D(4, 3, activation="relu", name="c1"),
            L.AveragePooling2D(2, name="avg"), *head()]), False),
        "batchnorm_everywhere": lambda: (sequential((10, 10, 2), [
            L.BatchNormalization(name="bn_in"), L.Conv2D(4, 3, name="c1"),
            L.BatchNormalization(name="bn1"), L.ReLU(name="r1"),
            L.Conv2D(4, 3, padding="same", activation="relu", name="c2"),
            L.BatchNormalization(name="bn2"), L.Conv2D(4, 3, activation="relu", name="c3"),
            L.Flatten(name="f"), L.Dense(6, name="d1"), L.BatchNormalization(name="bn3"),
            L.ReLU(name="r4"), L.Dense(3, name="out")]), False),
        "batchnorm_before_maxpool": lambda: (_positive(sequential((10, 10, 1), [
            L.Conv2D(4, 3, activation="relu", name="c1"), L.BatchNormalization(name="bn1"),
            L.MaxPooling2D(2, name="p1"), L.Conv2D(4, 3, activation="relu", name="c2"),
            *head()])), False),
        "dropout_reshape_functional": lambda: (_functional((9, 9, 2), [
            L.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c1"),
            L.Dropout(0.3, name="drop"), L.Reshape((-1,), name="to_flat"),
            L.Dense(5, activation="relu", name="d1"), L.Dense(3, name="out"),
            L.Softmax(name="sm")]), True),
    }
    return builders[name]


def _positive(model):
    positive_batchnorm(model)
    return model


SETTINGS = (
    "same_padding",
    "same_stride2_odd_input",
    "valid_nonsquare_strided",
    "pointwise_1x1",
    "no_bias",
    "relu_layers_and_caps",
    "maxpool_same_strided",
    "avgpool_valid",
    "batchnorm_everywhere",
    "batchnorm_before_maxpool",
    "dropout_reshape_functional",
)


def build(name: str) -> tuple[Any, bool]:
    """The Keras 3 model of setting ``name`` and whether it is functional."""
    return _setting(name)()


def functional(input_shape, layer_list, **kwargs):
    return _functional(input_shape, layer_list, **kwargs)


def qkeras_style_model(seed: int = 0):
    """A Keras 3 model equal to a QKeras one: weights on the quantized_bits grids below,
    ClipFloor activations with the caps of quantized_relu(3,1) and (4,2)."""
    import keras
    from keras import layers as L

    from spikeforge.keras_layers import ClipFloor

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((10, 10, 1), name="image"),
        L.Conv2D(4, 3, padding="same", name="qc1"), ClipFloor(7, 1.75, name="qa1"),
        L.MaxPooling2D(2, name="mp"),
        L.Conv2D(6, 3, name="qc2"), ClipFloor(15, 3.75, name="qa2"),
        L.Flatten(name="f"), L.Dense(3, name="qd")], name="qkeras_style")
    rng = np.random.default_rng(seed)
    for name in ("qc1", "qc2", "qd"):
        kernel, bias = model.get_layer(name).get_weights()
        model.get_layer(name).set_weights([rng.integers(-8, 8, kernel.shape) / 8,  # (4,0)
                                           rng.integers(-8, 8, bias.shape) / 16])  # (6,1)
    return model


QUANT = {name: {"class_name": cls, "kernel_quantizer": kernel,
                "bias_quantizer": "quantized_bits(6,1,alpha=1)"}
         for name, cls, kernel in [
             ("qc1", "QConv2D", {"class_name": "quantized_bits", "config": {
                 "bits": 4, "integer": 0, "symmetric": 0, "alpha": 1, "keep_negative": True,
                 "use_stochastic_rounding": False, "qnoise_factor": 1.0}}),
             ("qc2", "QConv2D", "quantized_bits(4,0,0,alpha=1)"),
             ("qd", "QDense", "quantized_bits(4,0,alpha=1)")]}
