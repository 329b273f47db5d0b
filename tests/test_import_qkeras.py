"""QKeras models read from their saved configs, without QKeras: quantizers reproduce
QKeras' values, quantized_relu maps onto the clip-floor activation, and the converted
first layer is exact at T = L."""

from __future__ import annotations

import numpy as np
import pytest

from import_models import QUANT, qkeras_style_model
from keras2_files import write_keras2
from keras_builders import keras_predict, random_images
from spikeforge import ir
from spikeforge.ann_numpy import apply_layer, iter_activations, predict
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.frontend import UnsupportedLayerError
from spikeforge.frontend.graph import load_graph
from spikeforge.frontend.layers import activation_layers
from spikeforge.frontend.quantizers import parse_quantizer, quantized_bits, relu_spec
from spikeforge.simulator import simulate

# Written by QKeras 0.9.0 (tf-keras 2.21): get_quantizer(spec)(KERNEL), (BIAS)
KERNEL = np.array([0.001, 0.179, -0.164, -0.534, -0.273, -0.595, 0.036, 0.804, -0.295, -0.372,
                   0.294, 0.214, 0.063, -0.558, -0.018, 0.417, -0.807, -0.275, -1.141, -0.774,
                   -1.105, -0.141, -0.76, 0.163], np.float32).reshape(2, 2, 2, 3)
BIAS = np.array([0.3, -0.8, 1.3, 0.0, 0.03125, -0.09375, 2.6], np.float32)
QKERAS_BITS = {
    "quantized_bits(4,0,alpha=1)": (
        [0.0, 0.125, -0.125, -0.5, -0.25, -0.625, 0.0, 0.75, -0.25, -0.375, 0.25, 0.25, 0.125,
         -0.5, 0.0, 0.375, -0.75, -0.25, -1.0, -0.75, -1.0, -0.125, -0.75, 0.125],
        [0.25, -0.75, 0.875, 0.0, 0.0, -0.125, 0.875]),
    "quantized_bits(4,1,1,alpha=1)": (
        [0.0, 0.25, -0.25, -0.5, -0.25, -0.5, 0.0, 0.75, -0.25, -0.25, 0.25, 0.25, 0.0, -0.5,
         0.0, 0.5, -0.75, -0.25, -1.25, -0.75, -1.0, -0.25, -0.75, 0.25],
        [0.25, -0.75, 1.25, 0.0, 0.0, 0.0, 1.75]),
    "quantized_bits(3,0,keep_negative=False,alpha=1)": (
        [0.0, 0.125, 0.0, 0.0, 0.0, 0.0, 0.0, 0.75, 0.0, 0.0, 0.25, 0.25, 0.125, 0.0, 0.0, 0.375,
         0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.125],
        [0.25, 0.0, 0.875, 0.0, 0.0, 0.0, 0.875]),
    "quantized_bits(1,0,alpha=1)": (
        [1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0,
         -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 1.0],
        [1.0, -1.0, 1.0, 1.0, 1.0, -1.0, 1.0]),
    "quantized_bits(4,0,alpha='auto')": (
        [0.0, 0.2305714190006256, -0.15785714983940125, -0.48900002241134644,
         -0.2305714190006256, -0.631428599357605, 0.0, 0.8069999814033508, -0.3157142996788025,
         -0.32600000500679016, 0.3458571434020996, 0.15785714983940125, 0.0,
         -0.5764285326004028, 0.0, 0.48900002241134644, -0.8069999814033508,
         -0.3157142996788025, -1.1410000324249268, -0.8069999814033508, -1.1050000190734863,
         -0.16300000250339508, -0.8069999814033508, 0.15785714983940125],
        [0.37142854928970337, -0.7428570985794067, 1.4857141971588135, 0.0, 0.0, 0.0,
         2.5999999046325684]),
    "quantized_bits(4,0,alpha='auto_po2')": (
        [0.0, 0.125, -0.125, -0.5, -0.25, -0.625, 0.0, 0.75, -0.25, -0.375, 0.25, 0.25, 0.125,
         -0.5, 0.0, 0.375, -0.75, -0.25, -0.875, -0.75, -0.875, -0.125, -0.75, 0.125],
        [0.25, -1.0, 1.5, 0.0, 0.02734375, -0.09375, 2.5]),
    "quantized_bits(6,2,alpha='auto_po2')": (
        [0.0, 0.1875, -0.15625, -0.53125, -0.28125, -0.59375, 0.03125, 0.8125, -0.28125,
         -0.375, 0.28125, 0.21875, 0.0625, -0.5625, -0.03125, 0.40625, -0.8125, -0.28125,
         -0.96875, -0.78125, -0.96875, -0.15625, -0.75, 0.15625],
        [0.3125, -0.8125, 1.3125, 0.0, 0.03125, -0.125, 1.9375]),
}
RELU_X = np.array([-1.0, 0.0, 0.03, 0.0625, 0.09375, 0.2, 0.5, 0.8125, 0.9, 1.4, 3.0, 5.0],
                  np.float32)
QKERAS_RELU = {
    "quantized_relu(3,0)": [0.0, 0.0, 0.0, 0.0, 0.125, 0.25, 0.5, 0.75, 0.875, 0.875, 0.875,
                            0.875],
    "quantized_relu(4,2)": [0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 3.0, 3.75],
    "quantized_relu(2,1)": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.5, 1.5, 1.5],
}


@pytest.mark.parametrize("spec", QKERAS_BITS)
def test_quantized_bits_equals_qkeras(spec):
    kernel, bias = QKERAS_BITS[spec]
    q = parse_quantizer(spec)
    assert quantized_bits(q, KERNEL).ravel().tolist() == kernel
    assert quantized_bits(q, BIAS).tolist() == bias


@pytest.mark.parametrize("spec", QKERAS_RELU)
def test_quantized_relu_is_the_clip_floor_with_ties_rounded_up(spec):
    """QKeras rounds a value halfway between two levels to the even level; the clip-floor
    (and an integrate-and-fire neuron) rounds it up. Everywhere else they are equal."""
    relu = relu_spec(parse_quantizer(spec))
    ours = apply_layer(ir.ReLU("q", relu), RELU_X[None]).ravel().astype(np.float64)
    qkeras = np.array(QKERAS_RELU[spec])
    scaled = RELU_X.astype(np.float64) * relu.levels / relu.cap
    tie = (scaled - np.floor(scaled) == 0.5) & (scaled < relu.levels)
    assert np.array_equal(ours[~tie], qkeras[~tie])
    assert np.array_equal(ours[tie], qkeras[tie] + relu.cap / relu.levels * (scaled[tie] % 2 < 1))
    assert tie.any() == (spec == "quantized_relu(3,0)")


def test_quantizer_forms():
    assert parse_quantizer("quantized_bits(4,0,1,alpha=1)").config == {
        "bits": 4, "integer": 0, "symmetric": 1, "alpha": 1}
    assert parse_quantizer({"class_name": "quantized_relu", "config": {"bits": 3}}).name == \
        "quantized_relu"
    assert relu_spec(parse_quantizer("quantized_relu(3,1)")) == ir.Relu(cap=1.75, levels=7)
    dense_act = {"class_name": "quantized_relu", "config": {"bits": 4, "integer": 0,
                                                             "use_sigmoid": 0}}
    [relu] = activation_layers("qd", "QDense", dense_act)
    assert relu.name == "qd/relu" and relu.spec == ir.Relu(cap=0.9375, levels=15)


@pytest.fixture(scope="module")
def qmodel():
    return qkeras_style_model()


@pytest.mark.parametrize("source", ["json", "h5"])
def test_qkeras_files_read_as_the_quantized_ann(qmodel, source, tmp_path):
    files = write_keras2(qmodel, tmp_path, overrides=QUANT)
    graph = load_graph(files.json, files.weights) if source == "json" else load_graph(files.full)
    relus = [layer.spec for layer in graph.layers if isinstance(layer, ir.ReLU)]
    assert relus == [ir.Relu(cap=1.75, levels=7), ir.Relu(cap=3.75, levels=15)]
    images = random_images((10, 10, 1), 32, seed=4)
    np.testing.assert_allclose(predict(graph, images), keras_predict(qmodel, images),
                               rtol=1e-5, atol=1e-5)


def test_spikeforge_clip_floor_layer_from_a_keras_file(qmodel, tmp_path):
    qmodel.save(tmp_path / "clip.keras")
    graph = load_graph(tmp_path / "clip.keras")
    assert [la.spec for la in graph.layers if isinstance(la, ir.ReLU)] == [
        ir.Relu(cap=1.75, levels=7), ir.Relu(cap=3.75, levels=15)]
    images = random_images((10, 10, 1), 16, seed=4)
    np.testing.assert_allclose(predict(graph, images), keras_predict(qmodel, images),
                               rtol=1e-5, atol=1e-5)


def test_first_layer_is_exact_at_t_equals_levels(qmodel, tmp_path):
    """Analog input, reset by subtraction, membranes starting at theta/2 and threshold =
    cap: in T = L steps each first-layer neuron emits clip(floor(x L / cap + 1/2), 0, L)
    spikes. The reference is computed in exact integers (weights k/8, biases j/16, pixels
    p/255), so ties are known exactly; only there may float rounding pick either level."""
    files = write_keras2(qmodel, tmp_path, overrides=QUANT)
    graph = load_graph(files.json, files.weights)
    config = ir.SnnConfig(v_init="half", timesteps=7)
    state = run_flow(graph, random_images((10, 10, 1), 64, seed=5),
                     ConvertOptions(config=config))
    assert state.scales[:2] == [1.75, 3.75]  # threshold balancing to the caps
    images = random_images((10, 10, 1), 32, seed=6)
    images[:8] = 0  # blank images: pre-activations are the biases alone
    result = simulate(state.float_net, images, 7, record_layers=True)
    conv = graph.layers[0]
    k = np.rint(conv.kernel * 8).astype(np.int64)
    j = np.rint(conv.bias * 16).astype(np.int64)
    padded = np.pad(images.astype(np.int64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
    n = np.einsum("nhwcij,ijco->nhwo", windows, k)  # x = n / (8 * 255) + j / 16
    # x * L / cap = 4 x, so level = floor(4 x + 1/2) = floor((2 n + 255 j + 510) / 1020)
    numerator = 2 * n + 255 * j + 510
    level = np.clip(numerator // 1020, 0, 7)
    tie = numerator % 1020 == 0
    counts = result.layer_counts[0]
    assert np.array_equal(counts[~tie], level[~tie])
    assert np.all(np.abs(counts[tie] - level[tie]) <= 1)
    assert tie[8:].mean() < 0.01


def test_converted_qkeras_model_follows_the_quantized_ann(qmodel, tmp_path):
    """Deeper layers are exact in expectation: at T = 4 L rates track the quantized ANN."""
    files = write_keras2(qmodel, tmp_path, overrides=QUANT)
    graph = load_graph(files.full)
    config = ir.SnnConfig(v_init="half", timesteps=60)
    state = run_flow(graph, random_images((10, 10, 1), 64, seed=7),
                     ConvertOptions(config=config))
    images = random_images((10, 10, 1), 48, seed=8)
    result = simulate(state.float_net, images, 60, record_layers=True)
    acts = [np.concatenate(p) for p in zip(*iter_activations(state.graph, images), strict=True)]
    neuron_acts = [a for a, la in zip(acts, state.graph.layers, strict=True)
                   if isinstance(la, ir.Conv2D | ir.Dense)]
    for counts, act, scale in zip(result.layer_counts[:2], neuron_acts, state.scales,
                                  strict=False):
        assert np.corrcoef(counts.ravel() / 60, act.ravel() / scale)[0, 1] > 0.97


QKERAS_REFUSALS = [
    ("qa1", {"class_name": "QActivation", "activation": "quantized_relu(3,1,0,0.5)"},
     r"'qa1' \(QActivation\): activation 'quantized_relu\(3,1,0,0.5\)'.*negative_slope=0.5"),
    ("qa1", {"class_name": "QActivation", "activation": "quantized_relu(3,1,use_sigmoid=1)"},
     r"'qa1' \(QActivation\).*use_sigmoid=1"),
    ("qa1", {"class_name": "QActivation", "activation": "quantized_tanh(3)"},
     r"'qa1' \(QActivation\): activation 'quantized_tanh\(3\)' has no integrate-and-fire"),
    ("qc1", {"class_name": "QConv2D", "kernel_quantizer": "binary()"},
     r"'qc1' \(QConv2D\): kernel_quantizer weight quantizer binary"),
    ("qc1", {"class_name": "QConv2D", "kernel_quantizer": "quantized_bits(4,0,qnoise_factor=0.5)"},
     r"'qc1' \(QConv2D\): kernel_quantizer quantized_bits with qnoise_factor=0.5"),
    ("qd", {"class_name": "QDense", "bias_quantizer": "quantized_bits(4,0,alpha='auto',"
            "elements_per_scale=2)"},
     r"'qd' \(QDense\): bias_quantizer quantized_bits with elements_per_scale=2"),
    ("mp", {"class_name": "QAveragePooling2D"}, r"'mp' \(QAveragePooling2D\) is not supported"),
]


@pytest.mark.parametrize(("layer", "override", "match"), QKERAS_REFUSALS,
                         ids=[f"{i}-{case[0]}" for i, case in enumerate(QKERAS_REFUSALS)])
def test_qkeras_refusals_name_the_layer(qmodel, layer, override, match, tmp_path):
    overrides = {**QUANT, layer: {**QUANT.get(layer, {}), **override}}
    files = write_keras2(qmodel, tmp_path, overrides=overrides)
    with pytest.raises(UnsupportedLayerError, match=match):
        load_graph(files.json, files.weights)


def test_quantized_batchnorm_statistics_are_refused(tmp_path):
    from keras import layers as L

    from keras_builders import sequential

    model = sequential((6, 6, 1), [L.Conv2D(2, 3, name="c"), L.BatchNormalization(name="qbn"),
                                   L.ReLU(), L.Flatten(), L.Dense(2)])
    files = write_keras2(model, tmp_path, overrides={"qbn": {
        "class_name": "QBatchNormalization", "gamma_quantizer": "quantized_bits(4,0)"}})
    with pytest.raises(UnsupportedLayerError, match=r"'qbn' \(QBatchNormalization\): quantized"):
        load_graph(files.json, files.weights)
