"""Models beyond (H, W, C) images: feature vectors (N,), sequences (L, C) with Conv1D and 1-D
pooling, 2-D images (H, W) with a Reshape, global average pooling, relabelling Reshapes and
sigmoid outputs. Each is read from a Keras 3 ``.keras`` file, Keras 3 JSON + weights and
Keras 2 JSON + H5 / full H5: the numpy ANN computes what Keras computes; the converted
network runs in the golden model and its classes follow the ANN's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from import_models import functional
from keras2_files import write_keras2
from keras_builders import sequential
from spikeforge import ir
from spikeforge.ann_numpy import predict
from spikeforge.flow import GRAPH_STEPS, ConversionState, ConvertOptions, run_flow
from spikeforge.frontend.graph import load_graph
from spikeforge.frontend.keras_model import keras_to_graph
from spikeforge.simulator import simulate

SOURCES = ("keras3-file", "keras3-json", "keras2-json", "keras2-h5")


def _models() -> dict[str, Callable[[], Any]]:
    from keras import layers as L

    return {
        "vector_mlp": lambda: sequential((20,), [
            L.BatchNormalization(name="bn_in"), L.Dense(16, activation="relu", name="d1"),
            L.Dropout(0.3, name="drop"), L.Dense(12, name="d2"), L.BatchNormalization(name="bn2"),
            L.ReLU(name="r2"), L.Dense(3, activation="softmax", name="out")]),
        "vector_binary_sigmoid": lambda: sequential((10,), [
            L.Dense(8, activation="relu", name="d1"), L.Dense(1, activation="sigmoid",
                                                              name="out")]),
        "vector_binary_sigmoid_layer": lambda: functional((12,), [
            L.Dense(8, name="d1"), L.ReLU(name="r1"), L.Dense(1, name="out"),
            L.BatchNormalization(name="bn_out"), L.Activation("sigmoid", name="prob")]),
        "vector_multilabel_sigmoid": lambda: sequential((10,), [
            L.Dense(8, activation="relu", name="d1"), L.Dense(4, name="out"),
            L.Activation("sigmoid", name="prob")]),
        "sequence_conv1d_pools": lambda: sequential((32, 2), [
            L.Conv1D(4, 5, strides=2, padding="same", activation="relu", name="c1"),
            L.MaxPooling1D(2, name="p1"), L.Conv1D(6, 3, name="c2"),
            L.BatchNormalization(name="bn2"), L.ReLU(name="r2"),
            L.AveragePooling1D(2, name="avg"), L.Flatten(name="flat"),
            L.Dense(3, activation="softmax", name="out")]),
        "sequence_causal_gap": lambda: functional((24, 3), [
            L.Conv1D(4, 3, padding="causal", activation="relu", name="c1"),
            L.MaxPooling1D(3, strides=2, padding="same", name="p1"),
            L.Conv1D(5, 2, activation="relu", name="c2"),
            L.GlobalAveragePooling1D(name="gap"), L.Dense(3, name="out")]),
        "sequence_gap_keepdims": lambda: sequential((16, 2), [
            L.Conv1D(4, 3, activation="relu", name="c1"),
            L.GlobalAveragePooling1D(keepdims=True, name="gap"), L.Flatten(name="flat"),
            L.Dense(3, name="out")]),
        "image_2d_input": lambda: sequential((10, 9), [
            L.Reshape((10, 9, 1), name="channel"), L.Conv2D(4, 3, activation="relu", name="c1"),
            L.MaxPooling2D(2, name="p1"), L.GlobalAveragePooling2D(name="gap"),
            L.Dense(3, activation="softmax", name="out")]),
        "image_gap_keepdims": lambda: sequential((8, 8, 2), [
            L.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            L.GlobalAveragePooling2D(keepdims=True, name="gap"), L.Flatten(name="flat"),
            L.Dense(3, name="out")]),
        "vector_as_sequence": lambda: sequential((48,), [
            L.Reshape((12, 4), name="as_seq"), L.Conv1D(4, 3, activation="relu", name="c1"),
            L.MaxPooling1D(2, name="p1"), L.Flatten(name="flat"), L.Dense(3, name="out")]),
        "vector_as_image": lambda: sequential((48,), [
            L.Reshape((4, -1, 3), name="as_img"), L.Conv2D(4, 2, activation="relu", name="c1"),
            L.Reshape((-1,), name="flat"), L.Dense(3, name="out")]),
    }


MODELS = tuple(_models())
IMAGES = ("image_2d_input", "image_gap_keepdims")


def balance(model, x: np.ndarray) -> None:
    """Centre and scale the output layer 'out' (and a BatchNormalization 'bn_out' after it)
    on ``x``, so that the classes of a model with random weights spread over the inputs."""
    import keras

    out = model.get_layer("out")
    features = keras.Model(model.inputs, out.input).predict(ir.ann_view(x), verbose=0)
    kernel, _ = out.get_weights()
    logits = features @ kernel
    scale = logits.std(axis=0) + 1e-6
    out.set_weights([kernel / scale, -np.median(logits / scale, axis=0)])
    if "bn_out" in [layer.name for layer in model.layers]:
        bn = model.get_layer("bn_out")
        normalized = keras.Model(model.inputs, bn.output).predict(ir.ann_view(x), verbose=0)
        gamma, beta, mean, var = bn.get_weights()
        bn.set_weights([gamma, beta - np.median(normalized, axis=0), mean, var])


@pytest.fixture(scope="module")
def models():
    built = {}
    for name, build in _models().items():
        built[name] = build()
        balance(built[name], data(name, built[name], 512, seed=2))
    return built


def data(name: str, model, count: int, seed: int) -> np.ndarray:
    """uint8 pixels for image models, real values for the others; each input with a gain
    and an offset per channel of its own, so that global averages differ between inputs."""
    shape = model.input_shape[1:]
    rng = np.random.default_rng(seed)
    channels = (count, *[1] * (len(shape) - 1), shape[-1])
    if name in IMAGES:
        pixels = rng.uniform(0, 1, (count, *shape)) * rng.uniform(0, 1, channels)
        return np.round(255 * pixels).astype(np.uint8)
    values = rng.normal(0, 1, (count, *shape)) * rng.uniform(0.2, 2, channels)
    return (values + rng.normal(0, 1, channels)).astype(np.float32)


def is_functional(model) -> bool:
    return type(model).__name__ != "Sequential"


def read(model, source: str, tmp_path) -> ir.AnnGraph:
    if source == "keras3-file":
        model.save(tmp_path / "m.keras")
        return load_graph(tmp_path / "m.keras")
    if source == "keras3-json":
        (tmp_path / "m.json").write_text(model.to_json())
        model.save_weights(tmp_path / "m.weights.h5")
        return load_graph(tmp_path / "m.json", tmp_path / "m.weights.h5")
    files = write_keras2(model, tmp_path, functional=is_functional(model))
    if source == "keras2-json":
        return load_graph(files.json, files.weights)
    return load_graph(files.full)


def keras_outputs(model, x: np.ndarray) -> np.ndarray:
    """What Keras computes, a one-unit sigmoid p as the two classes (1 - p, p)."""
    out = np.asarray(model.predict(ir.ann_view(x), verbose=0))
    return np.concatenate([1 - out, out], axis=1) if out.shape[1] == 1 else out


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", MODELS)
def test_graph_computes_what_keras_computes(models, name, source, tmp_path):
    model = models[name]
    graph = read(model, source, tmp_path)
    assert graph.input_shape == tuple(model.input_shape[1:])
    x = data(name, model, 32, seed=1)
    np.testing.assert_allclose(predict(graph, x), keras_outputs(model, x), rtol=1e-4, atol=2e-6)


def canonical(graph: ir.AnnGraph) -> ir.AnnGraph:
    state = ConversionState(graph=graph, calibration=None)
    for _name, step in GRAPH_STEPS:
        state = step(state, ConvertOptions())
    return state.graph


@pytest.mark.parametrize("name", MODELS)
def test_converted_network_follows_the_ann(models, name, tmp_path):
    """Through the whole flow (each graph step verified on 32 inputs), then the golden model
    at T = 64 on the input integers: its classes are the ANN's on most inputs (the outputs of
    these random models are balanced over the inputs, so near-ties are common)."""
    model = models[name]
    graph = read(model, "keras2-json", tmp_path)
    calibration, x = data(name, model, 512, seed=2), data(name, model, 200, seed=3)
    state = run_flow(graph, calibration, ConvertOptions(), verify_images=x[:32])
    net = state.int_net
    assert net.input_shape == tuple(model.input_shape[1:])
    assert net.input_format.is_pixels == (name in IMAGES)
    expected = predict(graph, x).argmax(axis=1)
    assert len(np.unique(expected)) > 1, "a test model whose ANN gives one class tests nothing"
    result = simulate(net, net.input_format.encode(x), 64)
    agreement = float(np.mean(result.classes == expected))
    assert agreement >= 0.8, agreement  # measured 0.85 .. 0.985 (random weights, near-ties)


# --- what the reading and the passes make of them ------------------------------------------


def kinds(graph: ir.AnnGraph) -> list[str]:
    return [type(layer).__name__ for layer in graph.layers]


def test_conv1d_is_a_one_row_conv2d(models):
    graph = keras_to_graph(models["sequence_conv1d_pools"])
    assert kinds(graph)[:6] == ["Reshape", "Conv2D", "Reshape", "ReLU", "Reshape", "MaxPool"]
    c1 = graph.layers[1]
    assert c1.kernel.shape == (1, 5, 2, 4) and c1.strides == (1, 2)
    assert c1.pads == (0, 0, 1, 2)  # 'same', stride 2 on 32: TensorFlow's split
    assert graph.layers[0].target == (1, 32, 2) and graph.layers[2].target == (16, 4)
    # the passes cancel every reshape pair: one view of the input, then 2-D layers only
    assert kinds(canonical(graph)) == ["Reshape", "Conv2D", "MaxPool", "Conv2D", "Conv2D",
                                       "Flatten", "Dense"]


def test_causal_padding_pads_the_start():
    from keras import layers as L

    graph = keras_to_graph(sequential((12, 1), [L.Conv1D(2, 4, padding="causal", name="c"),
                                                L.Flatten(), L.Dense(2)]))
    assert graph.layers[1].pads == (0, 0, 3, 0)


def test_global_average_pooling_is_an_average_over_the_whole_map(models):
    graph = keras_to_graph(models["image_2d_input"])
    gap = next(layer for layer in graph.layers if layer.name == "gap")
    assert isinstance(gap, ir.AvgPool) and gap.pool == gap.strides == (4, 3)
    final = canonical(graph)
    conv = next(layer for layer in final.layers if layer.name == "gap")
    assert isinstance(conv, ir.Conv2D) and conv.kernel.shape == (4, 3, 4, 4)
    assert final.layers[-1].weights.shape == (4, 3)  # the Dense reads (C,)


def test_one_unit_sigmoid_is_two_classes(models):
    graph = keras_to_graph(models["vector_binary_sigmoid"])
    assert kinds(graph)[-2:] == ["Dense", "Sigmoid"] and graph.layers[-2].name.endswith(
        "/two_classes")
    final = canonical(graph)
    out = final.layers[-1]
    assert kinds(final) == ["Dense", "Dense"] and out.name == "out"
    weights, bias = models["vector_binary_sigmoid"].get_layer("out").get_weights()
    np.testing.assert_allclose(out.weights, np.concatenate([-weights, weights], axis=1))
    np.testing.assert_allclose(out.bias, np.concatenate([-bias, bias]))


def test_multilabel_sigmoid_is_dropped(models):
    graph = keras_to_graph(models["vector_multilabel_sigmoid"])
    assert isinstance(graph.layers[-1], ir.Sigmoid)
    assert kinds(canonical(graph)) == ["Dense", "Dense"]


def test_one_unit_sigmoid_of_a_graph_built_without_the_frontend():
    """``spikeforge inspect`` maps layers itself: the pass reads the sigmoid the same way."""
    rng = np.random.default_rng(0)
    graph = ir.AnnGraph((5,), [ir.Dense("d", rng.normal(size=(5, 4)), np.zeros(4), ir.Relu()),
                               ir.Dense("out", rng.normal(size=(4, 1)), np.ones(1)),
                               ir.Sigmoid("out/sigmoid")])
    final = canonical(graph)
    assert final.layers[-1].weights.shape == (4, 2)
    np.testing.assert_allclose(final.layers[-1].bias, [-1.0, 1.0])
