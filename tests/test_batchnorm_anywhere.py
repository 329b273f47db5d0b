"""BatchNormalization folded exactly wherever a linear layer is next to it (issue 22).

Every case builds an ANN graph with random weights and statistics and checks that the
folded graph computes what the unfolded one does (the numpy ANN), at every output position
(the border positions of padded convolutions included); or that the fold is refused with
the layer, its type, the setting and the fix.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikeforge import ir
from spikeforge.ann_numpy import predict
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.frontend import UnsupportedLayerError
from spikeforge.passes.batchnorm import fold_batchnorm, fold_batchnorm_report


def _bn(name, channels, rng, *, offset=True, negative=False):
    gamma = rng.uniform(0.5, 1.5, channels)
    if negative:
        gamma[0] = -gamma[0]
    mean = rng.normal(0, 0.5, channels) if offset else np.zeros(channels)
    beta = rng.normal(0, 0.5, channels) if offset else np.zeros(channels)
    return ir.BatchNorm(name, gamma, beta, mean, rng.uniform(0.3, 2.0, channels), 1e-3)


def _conv(name, rng, cin, cout, k=3, strides=(1, 1), pads=(0, 0, 0, 0)):
    return ir.Conv2D(name, rng.normal(0, 0.4, (k, k, cin, cout)), rng.normal(0, 0.2, cout),
                     strides, pads)


def _dense(name, rng, nin, nout):
    return ir.Dense(name, rng.normal(0, 0.3, (nin, nout)), rng.normal(0, 0.2, nout))


def _images(shape, seed=0, count=24):
    return np.random.default_rng(seed).integers(0, 256, (count, *shape), dtype=np.uint8)


def assert_folds_exactly(graph: ir.AnnGraph, seed: int = 0) -> ir.AnnGraph:
    folded = fold_batchnorm(graph)
    assert not any(isinstance(la, ir.BatchNorm) for la in folded.layers)
    images = _images(graph.input_shape, seed)
    before, after = predict(graph, images), predict(folded, images)
    assert after.shape == before.shape
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-5)
    return folded


def _refusal(graph: ir.AnnGraph) -> str:
    with pytest.raises(UnsupportedLayerError) as err:
        fold_batchnorm(graph)
    return str(err.value)


@pytest.mark.parametrize("seed", range(3))
def test_after_a_linear_layer_folds_backward(seed):
    rng = np.random.default_rng(seed)
    graph = ir.AnnGraph((8, 8, 2), [
        _conv("c1", rng, 2, 3), _bn("bn1", 3, rng), ir.ReLU("r1"),
        ir.Flatten("f"), _dense("d1", rng, 108, 5), _bn("bn2", 5, rng), ir.ReLU("r2"),
        _dense("out", rng, 5, 3)])
    folded = assert_folds_exactly(graph, seed)
    assert [la.name for la in folded.layers] == ["c1", "r1", "f", "d1", "r2", "out"]


@pytest.mark.parametrize("seed", range(3))
def test_before_a_linear_layer_after_a_relu_folds_forward(seed):
    rng = np.random.default_rng(seed)
    graph = ir.AnnGraph((8, 8, 2), [
        _conv("c1", rng, 2, 3), ir.ReLU("r1"), _bn("bn1", 3, rng), _conv("c2", rng, 3, 4),
        ir.ReLU("r2"), _bn("bn2", 4, rng), ir.Flatten("f"), ir.Dropout("drop"),
        _dense("out", rng, 64, 3)])
    report = fold_batchnorm_report(graph)
    assert [(f.bn, f.into, f.how) for f in report.folds] == [
        ("bn1", "c2", "forward"), ("bn2", "out", "forward")]
    assert_folds_exactly(graph, seed)


@pytest.mark.parametrize("first", ["conv", "dense"])
def test_on_the_raw_input_folds_into_the_first_layer(first):
    rng = np.random.default_rng(4)
    head = ([_conv("c1", rng, 3, 4), ir.ReLU("r1"), ir.Flatten("f"), _dense("out", rng, 64, 2)]
            if first == "conv" else [ir.Flatten("f"), _dense("out", rng, 108, 2)])
    graph = ir.AnnGraph((6, 6, 3), [_bn("bn_in", 3, rng), *head])
    folded = assert_folds_exactly(graph)
    # the first layer's weights now carry the per-input-channel scale
    assert not np.allclose(folded.layers[0 if first == "conv" else 1].bias,
                           graph.layers[1 if first == "conv" else 2].bias)


def test_before_a_padded_convolution_without_offset_folds_border_positions_too():
    rng = np.random.default_rng(5)
    graph = ir.AnnGraph((7, 7, 2), [
        _conv("c1", rng, 2, 3), ir.ReLU("r1"), _bn("bn", 3, rng, offset=False),
        _conv("padded", rng, 3, 4, pads=(1, 1, 1, 1))])  # the padded conv's map is the output
    folded = assert_folds_exactly(graph)
    assert folded.layers[-1].pads == (1, 1, 1, 1)


def test_before_a_padded_convolution_whose_padded_taps_miss_the_offset_folds():
    # 'same', stride 2 on 6x6 pads (0, 1, 0, 1): only the last row and column of taps ever
    # read padding; with those zero on the channels that have an offset the fold is exact
    rng = np.random.default_rng(6)
    conv = _conv("padded", rng, 3, 4, strides=(2, 2), pads=(0, 1, 0, 1))
    bn = _bn("bn", 3, rng)
    bn.mean[2], bn.beta[2] = 0.0, 0.0  # channel 2 has no offset, channels 0 and 1 have one
    conv.kernel[2, :, :2, :] = 0.0
    conv.kernel[:, 2, :2, :] = 0.0
    graph = ir.AnnGraph((6, 6, 3), [bn, conv])
    assert_folds_exactly(graph)
    conv.kernel[2, 0, 1, 3] = 0.5  # one padded tap from a channel with an offset
    assert "zero-padded convolution 'padded'" in _refusal(graph)


def test_before_a_padded_convolution_with_an_offset_is_refused_with_the_fix():
    rng = np.random.default_rng(7)
    graph = ir.AnnGraph((8, 8, 1), [
        _conv("c1", rng, 1, 2), ir.ReLU("r1"), _bn("bn_pad", 2, rng),
        _conv("padded", rng, 2, 2, pads=(1, 1, 1, 1)), ir.ReLU("r2"), ir.Flatten("f"),
        _dense("out", rng, 72, 2)])
    message = _refusal(graph)
    assert message.startswith("layer 'bn_pad' (BatchNormalization): folding into the "
                              "zero-padded convolution 'padded' after it (after 'r1')")
    assert "padding zeros the BatchNormalization never normalized" in message
    assert "one bias per output channel" in message
    assert "use padding='valid' in 'padded', or put the BatchNormalization after a convolution" \
        in message


@pytest.mark.parametrize("padded_pool", [False, True])
def test_through_max_pooling_with_positive_scales(padded_pool):
    rng = np.random.default_rng(8)
    pads = (0, 1, 0, 1) if padded_pool else (0, 0, 0, 0)
    graph = ir.AnnGraph((7, 7, 2), [
        _conv("c1", rng, 2, 3), ir.ReLU("r1"), _bn("bn", 3, rng), ir.MaxPool("mp", (2, 2), (2, 2),
                                                                             pads),
        ir.Flatten("f"), _dense("out", rng, (9 if padded_pool else 4) * 3, 2)])
    assert fold_batchnorm_report(graph).folds[0].into == "out"
    assert_folds_exactly(graph)


def test_before_max_pooling_with_a_negative_scale_is_refused():
    rng = np.random.default_rng(9)
    graph = ir.AnnGraph((6, 6, 2), [
        _conv("c1", rng, 2, 3), ir.ReLU("r1"), _bn("bn_neg", 3, rng, negative=True),
        ir.MaxPool("mp", (2, 2), (2, 2)), ir.Flatten("f"), _dense("out", rng, 12, 2)])
    message = _refusal(graph)
    assert message.startswith("layer 'bn_neg' (BatchNormalization): its position (after "
                              "'r1', before the max-pool 'mp', with a negative scale")
    assert "channel(s) [0]" in message and "does not commute with the maximum" in message
    assert "put the BatchNormalization after 'mp'" in message


def test_behind_max_pooling_folds_backward_into_the_convolution():
    rng = np.random.default_rng(10)
    graph = ir.AnnGraph((6, 6, 2), [
        _conv("c1", rng, 2, 3), ir.MaxPool("mp", (2, 2), (2, 2)), _bn("bn", 3, rng),
        ir.ReLU("r1"), ir.Flatten("f"), _dense("out", rng, 12, 2)])
    assert fold_batchnorm_report(graph).folds[0].into == "c1"
    assert_folds_exactly(graph)


def test_through_flatten_reshape_and_dropout():
    rng = np.random.default_rng(11)
    graph = ir.AnnGraph((4, 5, 3), [
        _bn("bn", 3, rng), ir.Dropout("drop"), ir.Flatten("f"), ir.Reshape("r", (20, 3)),
        ir.Reshape("r2", (60,)), _dense("out", rng, 60, 2)])
    assert_folds_exactly(graph)
    # a sequence (L, C) viewed as an image (1, L, C), as a Conv1D input is
    graph = ir.AnnGraph((9, 2), [_bn("bn", 2, rng), ir.Reshape("as_image", (1, 9, 2)),
                                 _conv("c", rng, 2, 3, k=1)])
    assert_folds_exactly(graph)


def test_a_reshape_that_mixes_the_channels_is_refused():
    rng = np.random.default_rng(12)
    graph = ir.AnnGraph((4, 4, 3), [_bn("bn", 3, rng), ir.Reshape("mix", (4, 6, 2)),
                                    _conv("c", rng, 2, 2, k=1)])
    message = _refusal(graph)
    assert "layer 'bn' (BatchNormalization)" in message
    assert "before the Reshape 'mix', which mixes its channels" in message


def test_between_average_pooling_and_relu_folds_into_the_pool():
    rng = np.random.default_rng(13)
    graph = ir.AnnGraph((8, 8, 2), [
        _conv("c1", rng, 2, 3), ir.ReLU("r1"), ir.AvgPool("ap", (2, 2), (2, 2)),
        _bn("bn", 3, rng), ir.ReLU("r2"), _conv("c2", rng, 3, 2, pads=(1, 1, 1, 1)),
        ir.ReLU("r3"), ir.Flatten("f"), _dense("out", rng, 18, 2)])
    folded = assert_folds_exactly(graph)
    assert isinstance(folded.layers[2], ir.Conv2D) and folded.layers[2].name == "ap"
    # the rest of the flow accepts it: the pool's convolution takes the ReLU after it
    state = run_flow(graph, _images((8, 8, 2), 1, 16), ConvertOptions(percentile=None),
                     verify_images=_images((8, 8, 2), 2, 16))
    assert [la.name for la in state.int_net.layers] == ["c1", "ap", "c2", "out"]


def test_through_a_relu_when_the_offset_is_zero():
    rng = np.random.default_rng(14)
    graph = ir.AnnGraph((6, 6, 2), [
        _conv("c1", rng, 2, 3), ir.ReLU("r1"), _bn("bn", 3, rng, offset=False),
        ir.Flatten("f"), ir.ReLU("r2"), _dense("out", rng, 48, 2)])
    assert fold_batchnorm_report(graph).folds[0].into == "c1"
    assert_folds_exactly(graph)


def test_with_nothing_to_fold_into_is_refused():
    rng = np.random.default_rng(15)
    graph = ir.AnnGraph((6,), [_dense("d1", rng, 6, 4), ir.ReLU("r1"), _bn("bn_last", 4, rng),
                               ir.Softmax("sm")])
    message = _refusal(graph)
    assert message.startswith("layer 'bn_last' (BatchNormalization): its position (after "
                              "'r1', before 'sm', with no Conv2D/Dense next to it to fold into)")
    assert "directly after a Conv2D/Dense (before its ReLU) or directly before one" in message


def test_the_report_collects_every_refusal_and_folds_the_rest():
    rng = np.random.default_rng(16)
    graph = ir.AnnGraph((8, 8, 1), [
        _bn("bn_in", 1, rng), _conv("c1", rng, 1, 2), ir.ReLU("r1"), _bn("bn_pad", 2, rng),
        _conv("padded", rng, 2, 2, pads=(1, 1, 1, 1)), ir.ReLU("r2"),
        _bn("bn_neg", 2, rng, negative=True), ir.MaxPool("mp", (2, 2), (2, 2)),
        ir.Flatten("f"), _dense("out", rng, 32, 2)])
    report = fold_batchnorm_report(graph)
    assert [f.bn for f in report.folds] == ["bn_in", "bn_pad", "bn_neg"]
    assert report.folds[0].text() == ("folded exactly into a neighbouring Conv2D/Dense: 'c1' "
                                      "after it (its weights per input channel, and biases)")
    assert [err.layer for err in report.refusals] == ["bn_pad", "bn_neg"]
    assert [la.name for la in report.graph.layers if isinstance(la, ir.BatchNorm)] == [
        "bn_pad", "bn_neg"]


def test_keras_model_with_batchnorm_before_a_linear_layer_equals_keras():
    from keras import layers

    from keras_builders import keras_predict, sequential
    from spikeforge.frontend.keras_model import keras_to_graph

    model = sequential((9, 9, 2), [
        layers.BatchNormalization(name="bn_in"), layers.Conv2D(3, 3, name="c1"),
        layers.ReLU(name="r1"), layers.BatchNormalization(name="bn_mid"),
        layers.AveragePooling2D(2, name="ap"), layers.Flatten(name="f"),
        layers.Dense(3, name="out")], seed=3)
    graph = keras_to_graph(model)
    folded = fold_batchnorm(graph)
    images = _images((9, 9, 2), 3, 16)
    np.testing.assert_allclose(predict(folded, images), keras_predict(model, images),
                               rtol=1e-4, atol=1e-4)
