"""ONNX models as PyTorch writes them: each operator and layout rule computes what
onnxruntime computes, the flatten order before the first Linear layer, refusals per node,
the inspect table, and a PyTorch CNN through golden, HLS csim and RTL."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cli_e2e import assert_hls_csim_equal, assert_rtl_equal
from rtl_helpers import rtl_root
from spikeforge import ir
from spikeforge.ann_numpy import predict
from spikeforge.cli import main
from spikeforge.errors import UnsupportedLayerError
from spikeforge.frontend import ModelFileError
from spikeforge.frontend.graph import load_graph
from spikeforge.frontend.inspect import inspect_model
from torch_models import BUILDERS, export, nhwc, onnx_reference

VARIANTS = [(name, "legacy") for name in BUILDERS] + [
    ("cnn2d", "dynamo"), ("mlp", "dynamo"), ("cnn2d", "no-folding"), ("conv1d", "no-folding"),
    ("forward_view", "dynamic-batch")]


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """Every (builder, export variant) as an ONNX file, with its input shape."""
    root = tmp_path_factory.mktemp("onnx")
    files = {}
    for name, variant in VARIANTS:
        model, shape = BUILDERS[name]()
        files[name, variant] = export(
            model, shape, root / f"{name}-{variant}.onnx", dynamo=variant == "dynamo",
            folding=variant != "no-folding", dynamic_batch=variant == "dynamic-batch"), shape
    return files


@pytest.mark.parametrize("name,variant", VARIANTS, ids=[f"{n}-{v}" for n, v in VARIANTS])
def test_graph_computes_what_onnxruntime_computes(exported, name, variant):
    path, shape = exported[name, variant]
    x = np.random.default_rng(1).normal(size=(16, *shape[1:])).astype(np.float32)
    graph = load_graph(path)
    assert graph.input_shape == nhwc(x).shape[1:]
    np.testing.assert_allclose(predict(graph, nhwc(x)), onnx_reference(path, x),
                               rtol=1e-4, atol=1e-5)


def test_exporters_are_named_and_bn_is_a_layer_without_folding(exported):
    folded = load_graph(exported["cnn2d", "legacy"][0])
    unfolded = load_graph(exported["cnn2d", "no-folding"][0])
    assert not any(isinstance(la, ir.BatchNorm) for la in folded.layers)  # folded by torch
    assert any(isinstance(la, ir.BatchNorm) for la in unfolded.layers)
    report = inspect_model(exported["cnn2d", "dynamo"][0])
    assert report.ok and report.source.startswith("ONNX opset")


def test_weights_as_constant_nodes(exported, tmp_path):
    """The same model with every initializer moved into a Constant node."""
    import onnx
    from onnx import helper

    path, shape = exported["cnn2d", "legacy"]
    model = onnx.load(str(path))
    constants = [helper.make_node("Constant", [], [init.name], name=f"const_{init.name}",
                                  value=init) for init in model.graph.initializer]
    nodes = constants + list(model.graph.node)
    del model.graph.initializer[:]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, tmp_path / "constants.onnx")
    x = np.random.default_rng(3).normal(size=(8, *shape[1:])).astype(np.float32)
    np.testing.assert_allclose(predict(load_graph(tmp_path / "constants.onnx"), nhwc(x)),
                               onnx_reference(path, x), rtol=1e-4, atol=1e-5)


def _flatten_probe(channels_first_conv: bool):
    """x (1, 2, 2, 3) -> [1x1 conv that swaps the two channels] -> Flatten -> Linear(12, 12)
    whose weights are the identity: the class is the flat (C, H, W) index of the largest
    input, which differs from its (H, W, C) index everywhere but at the first element."""
    import torch
    from torch import nn

    layers = []
    if channels_first_conv:
        conv = nn.Conv2d(2, 2, 1, bias=False)
        conv.weight.data = torch.tensor([[[[0.0]], [[1.0]]], [[[1.0]], [[0.0]]]])
        layers.append(conv)
    linear = nn.Linear(12, 12)
    linear.weight.data = torch.eye(12)
    linear.bias.data.zero_()
    return nn.Sequential(*layers, nn.Flatten(), linear).eval()


@pytest.mark.parametrize("conv", [False, True], ids=["flatten-input", "conv-flatten"])
def test_flatten_order_before_the_first_dense_layer(tmp_path, conv):
    path = export(_flatten_probe(conv), (1, 2, 2, 3), tmp_path / "probe.onnx")
    x = np.zeros((12, 2, 2, 3), np.float32)
    for k in range(12):  # one-hot inputs, every position once
        x[k].reshape(-1)[k] = 1.0
    expected = onnx_reference(path, x).argmax(axis=1)
    classes = predict(load_graph(path), nhwc(x)).argmax(axis=1)
    np.testing.assert_array_equal(classes, expected)
    naive = nhwc(x).reshape(12, -1).argmax(axis=1)  # the (H, W, C) order, unpermuted
    assert np.mean(naive == expected) < 0.5  # the test tells the two orders apart


def _refused_model(kind: str):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if kind == "groups":
        return nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Flatten(),
                             nn.Linear(4 * 4 * 4, 2)), "Conv", r"attribute group=2.*use groups=1"
    if kind == "dilation":
        return nn.Sequential(nn.Conv2d(2, 4, 3, dilation=2), nn.Flatten(),
                             nn.Linear(4 * 2 * 2, 2)), "Conv", \
            r"attribute dilations=\[2, 2\].*dilation 1"
    if kind == "leaky":
        return nn.Sequential(nn.Conv2d(2, 4, 3), nn.LeakyReLU(), nn.Flatten(),
                             nn.Linear(4 * 4 * 4, 2)), "LeakyRelu", r"LeakyRelu is not .*use ReLU"
    if kind == "avgpad":
        return nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.AvgPool2d(2, padding=1),
                             nn.Flatten(), nn.Linear(4 * 3 * 3, 2)), "AveragePool", \
            r"attribute count_include_pad=1 with padding.*count_include_pad=False"

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1)
            self.fc = nn.Linear(2 * 6 * 6, 2)

        def forward(self, x):
            y = torch.relu(self.a(x))
            return self.fc(torch.flatten(torch.relu(self.b(y) + y), 1))

    return Residual(), "Add", r"2 data inputs \(a branch merges here\).*single-path"


@pytest.mark.parametrize("kind", ["groups", "dilation", "leaky", "avgpad", "residual"])
def test_refusals_name_op_node_attribute_and_fix(tmp_path, kind):
    model, op, pattern = _refused_model(kind)
    path = export(model.eval(), (1, 2, 6, 6), tmp_path / f"{kind}.onnx")
    with pytest.raises(UnsupportedLayerError, match=rf"layer '[^']+' \({op}\): {pattern}"):
        load_graph(path)


def test_computed_weight_asks_for_constant_folding(tmp_path):
    import torch
    from torch import nn

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(3, 4))

        def forward(self, x):
            return nn.functional.linear(x, self.w * 2.0)

    path = export(Scaled().eval(), (1, 4), tmp_path / "scaled.onnx", folding=False)
    with pytest.raises(UnsupportedLayerError,
                       match=r"\((Gemm|MatMul)\): input B .*computed by a Mul node.*"
                             r"do_constant_folding=True"):
        load_graph(path)


def test_inspect_lists_every_node_and_every_refusal(tmp_path):
    from torch import nn

    model = nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 2 * 2, 3))
    path = export(model.eval(), (1, 2, 6, 6), tmp_path / "two.onnx")
    report = inspect_model(path)
    assert [r.class_name for r in report.rows] == [
        "Conv", "Relu", "MaxPool", "Conv", "Tanh", "Flatten", "Gemm"]
    assert [r.refused for r in report.rows] == [True, False, False, False, True, False, False]
    assert not report.ok and "2 problems" in report.verdict
    assert report.rows[-1].out_shape == (3,) and "IF dense 16->3" in report.rows[-1].maps_to


def test_input_shape_refusal_and_unreadable_file(tmp_path):
    from torch import nn

    path = tmp_path / "dyn.onnx"
    import torch

    torch.onnx.export(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)).eval(),
                      (torch.randn(1, 4),), str(path), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "batch", 1: "features"}})
    with pytest.raises(UnsupportedLayerError, match=r"give every input dimension but the batch"):
        load_graph(path)
    report = inspect_model(path)  # the layers are listed all the same
    assert report.input_problem is not None and [r.class_name for r in report.rows] == [
        "Flatten", "Gemm"]
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=r"not a readable ONNX model"):
        load_graph(tmp_path / "bad.onnx")


def test_cli_reads_onnx_without_tensorflow(exported):
    path = exported["cnn2d", "legacy"][0]
    code = ("import sys; from spikeforge.cli import main; code = main(['inspect', "
            f"{str(path)!r}]); print('TF', 'tensorflow' in sys.modules, code)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "converts: 4 IF layers" in out and out.strip().endswith("TF False 0")


# --- end to end: a small PyTorch CNN trained here, converted, golden = HLS csim = RTL ---


def _separable_images(n: int):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 10, 10, 2)).astype(np.float32)
    projection = np.random.default_rng(9).normal(size=(200, 3))
    return x, (x.reshape(n, -1) @ projection).argmax(axis=1)


@pytest.fixture(scope="module")
def torch_net(tmp_path_factory):
    """A PyTorch CNN (2-channel 10x10 input) trained briefly, exported, converted."""
    import torch
    from torch import nn

    root = tmp_path_factory.mktemp("torch_e2e")
    x, y = _separable_images(1200)
    np.savez(root / "data.npz", x_train=x[:1000], y_train=y[:1000], x_test=x[1000:],
             y_test=y[1000:])
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(6, 8, 3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 3 * 3, 3))
    data = torch.from_numpy(np.moveaxis(x[:1000], -1, 1).copy())
    labels = torch.from_numpy(y[:1000])
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(30):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(data), labels).backward()
        optimizer.step()
    export(model.eval(), (1, 2, 10, 10), root / "model.onnx")
    net = root / "net"
    assert main(["convert", str(root / "model.onnx"), "--dataset", str(root / "data.npz"),
                 "--out", str(net), "--timesteps", "32", "--quiet"]) == 0
    return root, net


def test_converted_torch_net_follows_the_ann(torch_net, capsys):
    root, net = torch_net
    capsys.readouterr()
    assert main(["evaluate", str(net), "--dataset", str(root / "data.npz"), "--json",
                 "--quiet"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["agreement"] > 0.85 and 0 <= figures["accuracy"] <= 1


@pytest.mark.csim
def test_torch_net_hls_csim_equals_the_golden_model(torch_net, tmp_path, capsys):
    root, net = torch_net
    assert_hls_csim_equal(net, root / "data.npz", tmp_path / "hls", capsys, images=30)


def _rtl_dir(tmp_path_factory):
    """The ONNX and QONNX RTL tests' shared build directory (Verilator's library objects
    are compiled once for both)."""
    return rtl_root(tmp_path_factory) / "onnx_e2e"


@pytest.mark.rtl
def test_torch_net_rtl_equals_the_golden_model(torch_net, tmp_path_factory, capsys):
    root, net = torch_net
    assert_rtl_equal(net, root / "data.npz", _rtl_dir(tmp_path_factory), capsys, images=10)
