"""The models FPGA users have, end to end through the command line: a feature-vector MLP with
BatchNorm on signed features, a Conv1D sequence classifier, and a 2-D image input with a
Reshape, each trained here on learnable generated data saved as .npz, converted, evaluated,
and run through HLS C-simulation and the RTL core with 0 mismatches against the golden
model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_e2e import assert_hls_csim_equal, assert_rtl_equal
from spikeforge.cli import main


def _separable(rng, n: int, shape: tuple[int, ...], classes: int):
    """Inputs whose class is the argmax of a fixed random projection (learnable)."""
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    projection = np.random.default_rng(99).normal(size=(int(np.prod(shape)), classes))
    return x, (x.reshape(n, -1) @ projection).argmax(axis=1)


def _mlp(keras, layers):
    return keras.Sequential([
        keras.Input((16,)),
        layers.BatchNormalization(name="bn_in"),
        layers.Dense(32, name="fc1"), layers.BatchNormalization(name="bn1"),
        layers.ReLU(name="relu1"), layers.Dropout(0.1),
        layers.Dense(16, activation="relu", name="fc2"),
        layers.Dense(5, activation="softmax", name="out"),
    ])


def _conv1d(keras, layers):
    return keras.Sequential([
        keras.Input((24, 2)),
        layers.Conv1D(6, 3, padding="same", activation="relu", name="c1"),
        layers.MaxPooling1D(2, name="p1"),
        layers.Conv1D(8, 3, strides=2, activation="relu", name="c2"),
        layers.Flatten(), layers.Dense(4, activation="softmax", name="out"),
    ])


def _image2d(keras, layers):
    return keras.Sequential([
        keras.Input((10, 10)),
        layers.Reshape((10, 10, 1)),
        layers.Conv2D(4, 3, activation="relu", name="c1"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(3, activation="softmax", name="out"),
    ])


KINDS = {  # name: (builder, input shape, classes, uint8 data)
    "mlp": (_mlp, (16,), 5, False),
    "conv1d": (_conv1d, (24, 2), 4, False),
    "image2d": (_image2d, (10, 10), 3, True),
}


@pytest.fixture(scope="module", params=sorted(KINDS))
def converted(request, tmp_path_factory):
    import keras
    from keras import layers

    builder, shape, classes, pixels = KINDS[request.param]
    rng = np.random.default_rng(0)
    x, y = _separable(rng, 1200, shape, classes)
    if pixels:
        x = np.clip(x * 60 + 128, 0, 255).astype(np.uint8)
    root = tmp_path_factory.mktemp(request.param)
    np.savez(root / "data.npz", x_train=x[:1000], y_train=y[:1000], x_test=x[1000:],
             y_test=y[1000:])
    keras.utils.set_random_seed(0)
    model = builder(keras, layers)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:1000] / (255.0 if pixels else 1.0), y[:1000], epochs=15, verbose=0)
    model.save(root / "model.keras")
    net = root / "net"
    assert main(["convert", str(root / "model.keras"), "--dataset", str(root / "data.npz"),
                 "--out", str(net), "--timesteps", "32", "--quiet"]) == 0
    return request.param, root, net


def test_the_network_takes_the_data_as_it_is_kept(converted, capsys):
    name, root, net = converted
    snn = json.loads((net / "snn.json").read_text())
    pixels = KINDS[name][3]
    assert snn["input_shape"] == list(KINDS[name][1])
    assert snn["input_format"]["bits"] == 8
    assert snn["input_format"]["signed"] is (not pixels)
    capsys.readouterr()
    assert main(["evaluate", str(net), "--dataset", str(root / "data.npz"), "--json",
                 "--quiet"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["agreement"] > 0.85 and 0 <= figures["accuracy"] <= 1


@pytest.mark.csim
def test_hls_csim_equals_the_golden_model(converted, tmp_path, capsys):
    _, root, net = converted
    assert_hls_csim_equal(net, root / "data.npz", tmp_path / "hls", capsys, images=40)


@pytest.mark.rtl
def test_rtl_equals_the_golden_model(converted, tmp_path, capsys):
    _, root, net = converted
    assert_rtl_equal(net, root / "data.npz", tmp_path / "rtl", capsys, images=12)
