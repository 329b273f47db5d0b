"""Every supported Keras setting, read from every source, computes what Keras computes; its
float SNN follows the ANN and its golden model follows the float SNN."""

from __future__ import annotations

import numpy as np
import pytest

from import_models import SETTINGS, build
from keras2_files import write_keras2
from keras_builders import keras_predict, random_images
from spikeforge import ir
from spikeforge.ann_numpy import iter_activations, predict
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.frontend.graph import load_graph
from spikeforge.frontend.keras_model import keras_to_graph
from spikeforge.frontend.sources import read_model
from spikeforge.quant import quantize
from spikeforge.simulator import simulate

SOURCES = ("keras3", "keras3-file", "keras3-legacy-h5", "keras2-json", "keras2-h5")


@pytest.fixture(scope="module")
def models():
    """Each setting's Keras 3 model, built once."""
    return {name: build(name) for name in SETTINGS}


def read(model, functional: bool, source: str, tmp_path):
    if source == "keras3":
        return keras_to_graph(model)
    if source == "keras3-file":
        model.save(tmp_path / "m.keras")
        return load_graph(tmp_path / "m.keras")
    if source == "keras3-legacy-h5":
        model.save(tmp_path / "m.h5")
        return load_graph(tmp_path / "m.h5")
    files = write_keras2(model, tmp_path, functional=functional)
    if source == "keras2-json":
        return load_graph(files.json, files.weights)
    return load_graph(files.full)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("setting", SETTINGS)
def test_graph_computes_what_keras_computes(models, setting, source, tmp_path):
    model, functional = models[setting]
    graph = read(model, functional, source, tmp_path)
    images = random_images(model.input_shape[1:], 24, seed=1)
    np.testing.assert_allclose(predict(graph, images), keras_predict(model, images),
                               rtol=1e-4, atol=1e-5)


def test_sources_are_named(models, tmp_path):
    model, _ = models["same_padding"]
    files = write_keras2(model, tmp_path / "k2")
    assert read_model(files.json, files.weights).source == "Keras 2 JSON + H5 weights"
    assert read_model(files.full).source == "Keras 2 full-model H5"
    model.save(tmp_path / "m.h5")
    assert read_model(tmp_path / "m.h5").source == "Keras 3 full-model H5"


def test_old_keras2_bare_list_sequential(models, tmp_path):
    """Keras < 2.4 wrote a Sequential's config as a bare list, without an InputLayer."""
    model, _ = models["pointwise_1x1"]
    files = write_keras2(model, tmp_path, bare_list=True)
    images = random_images(model.input_shape[1:], 8)
    np.testing.assert_allclose(predict(load_graph(files.json, files.weights), images),
                               keras_predict(model, images), rtol=1e-4, atol=1e-5)


def test_keras3_json_with_keras3_weights_file(models, tmp_path):
    model, _ = models["dropout_reshape_functional"]
    (tmp_path / "m.json").write_text(model.to_json())
    model.save_weights(tmp_path / "m.weights.h5")
    graph = load_graph(tmp_path / "m.json", tmp_path / "m.weights.h5")
    images = random_images(model.input_shape[1:], 8)
    np.testing.assert_allclose(predict(graph, images), keras_predict(model, images),
                               rtol=1e-4, atol=1e-5)


def _rates_follow(counts: list[np.ndarray], acts: list[np.ndarray], scales, steps: int,
                  minimum: float) -> list[float]:
    correlations = []
    for count, act, scale in zip(counts, acts, scales, strict=True):
        rate = count.ravel() / steps
        target = np.clip(act.ravel() / scale, 0, 1)
        if target.std() == 0:
            continue
        correlations.append(float(np.corrcoef(rate, target)[0, 1]))
    assert min(correlations) > minimum, correlations
    return correlations


@pytest.mark.parametrize("setting", SETTINGS)
def test_conversion_follows_the_ann(models, setting, tmp_path):
    """Float SNN rates ~ lambda-normalized ANN activations in every layer; golden counts ~
    float SNN counts (8-bit weights); classes mostly agree."""
    model, functional = models[setting]
    graph = read(model, functional, "keras2-json", tmp_path)
    shape = model.input_shape[1:]
    calibration, images = random_images(shape, 256, seed=2), random_images(shape, 48, seed=3)
    state = run_flow(graph, calibration, ConvertOptions(percentile=99.9), verify_images=images)
    steps = 200
    floating = simulate(state.float_net, images, steps, record_layers=True)
    acts = [np.concatenate(parts) for parts in zip(*iter_activations(state.graph, images),
                                                    strict=True)]
    neuron_acts = [a for a, layer in zip(acts, state.graph.layers, strict=True)
                   if isinstance(layer, ir.Conv2D | ir.Dense)]
    _rates_follow(floating.layer_counts, neuron_acts, state.scales, steps, 0.9)
    net = quantize(state.float_net, ir.Formats())
    exact = simulate(net, images, steps, record_layers=True)
    for fl, gold in zip(floating.layer_counts, exact.layer_counts, strict=True):
        if fl.std() > 0:
            assert np.corrcoef(fl.ravel(), gold.ravel())[0, 1] > 0.95
    assert np.mean(exact.classes == floating.classes) >= 0.8
