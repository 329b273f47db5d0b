"""QONNX as Brevitas writes it: quantized weights applied, QuantReLU as the clip-floor
activation, refusals of what cannot map, and a trained Brevitas network whose SNN at
T = 2^b - 1 with the half-threshold start gives the quantized network's classes, through
golden, HLS csim and RTL."""

from __future__ import annotations

import numpy as np
import pytest

from cli_e2e import assert_hls_csim_equal, assert_rtl_equal
from rtl_helpers import rtl_root
from spikeforge import ir
from spikeforge.ann_numpy import predict
from spikeforge.cli import main
from spikeforge.errors import UnsupportedLayerError
from spikeforge.frontend.graph import load_graph
from spikeforge.frontend.inspect import inspect_model
from torch_models import brevitas_cnn, export_brevitas, nhwc, torch_output


@pytest.fixture(scope="module")
def brevitas_file(tmp_path_factory):
    model, shape = brevitas_cnn(4)
    path = export_brevitas(model, shape, tmp_path_factory.mktemp("qonnx") / "q.onnx")
    return model, shape, path


def test_quantized_network_computes_what_brevitas_computes(brevitas_file):
    model, shape, path = brevitas_file
    x = np.random.default_rng(2).random((32, *shape[1:]), np.float32)
    graph = load_graph(path)
    np.testing.assert_allclose(predict(graph, nhwc(x)), torch_output(model, x),
                               rtol=1e-4, atol=1e-5)


def test_quant_relu_is_the_clip_floor_and_weights_are_on_their_grid(brevitas_file):
    model, _, path = brevitas_file
    graph = load_graph(path)
    relus = [la.spec for la in graph.layers if isinstance(la, ir.ReLU) and la.spec.levels]
    scales = [float(m.act_quant.scale()) for m in model if hasattr(m, "act_quant")
              and m.act_quant.is_quant_enabled]
    assert [r.levels for r in relus] == [15, 15]
    np.testing.assert_allclose([r.cap for r in relus], [15 * s for s in scales], rtol=1e-6)
    conv = next(la for la in graph.layers if isinstance(la, ir.Conv2D))
    scale = float(model[0].quant_weight().scale)
    steps = conv.kernel / scale
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-4)  # on the 4-bit grid
    assert np.abs(np.round(steps)).max() <= 7
    report = inspect_model(path)
    assert report.ok and report.source.startswith("QONNX")
    assert "clip-floor, 15 levels" in report.rows[2].maps_to


@pytest.mark.parametrize("kind,pattern", [
    ("signed", r"\(Quant\): a signed 4-bit activation quantizer .*QuantReLU"),
    ("input", r"\(Quant\): a quantizer on the model's input .*remove the input QuantIdentity"),
])
def test_brevitas_refusals(tmp_path, kind, pattern):
    model, shape = brevitas_cnn(4, signed_act=kind == "signed", input_quant=kind == "input")
    path = export_brevitas(model, shape, tmp_path / f"{kind}.onnx", dynamo=False)
    with pytest.raises(UnsupportedLayerError, match=pattern):
        load_graph(path)


def _handmade(tmp_path, op: str, scale: np.ndarray):
    """x (1, 3, 4, 4) -> Relu -> <op> -> Flatten -> Gemm: a QONNX activation quantizer."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in [
        ("scale", scale), ("zp", 0.0), ("bits", 4.0),
        ("w", np.ones((2, 48))), ("b", np.zeros(2))]]
    quant_inputs = ["r", "scale"] + (["zp", "bits"] if op == "Quant" else [])
    attrs = {"signed": 0, "narrow": 0, "rounding_mode": "ROUND"} if op == "Quant" else {}
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node(op, quant_inputs, ["q"], name="act_quant",
                              domain="qonnx.custom_op.general", **attrs),
             helper.make_node("Flatten", ["q"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w", "b"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(
        nodes, "handmade", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], inits)
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    onnx.save(model, tmp_path / f"{op}.onnx")
    return tmp_path / f"{op}.onnx"


def test_per_channel_activation_scale_and_bipolar_quant_are_refused(tmp_path):
    per_channel = _handmade(tmp_path, "Quant", np.full((1, 3, 1, 1), 0.1))
    with pytest.raises(UnsupportedLayerError, match=r"layer 'act_quant' \(Quant\): per-channel "
                       r"activation scales \(shape \(1, 3, 1, 1\).*QuantReLU"):
        load_graph(per_channel)
    (tmp_path / "scalar").mkdir()
    spec = load_graph(_handmade(tmp_path / "scalar", "Quant", np.float32(0.1))).layers[1].spec
    assert spec.levels == 15 and spec.cap == pytest.approx(1.5)
    bipolar = _handmade(tmp_path, "BipolarQuant", np.float32(1.0))
    with pytest.raises(UnsupportedLayerError, match=r"layer 'act_quant' \(BipolarQuant\): a "
                       r"BipolarQuant \(binary \+-1 activations\) is not supported"):
        load_graph(bipolar)


def test_weight_quant_that_cannot_be_computed_is_refused_on_its_layer(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in [
        ("w", np.ones((2, 4))), ("s", 0.1), ("z", 0.0), ("bits", 2.5)]]
    nodes = [helper.make_node("Quant", ["w", "s", "z", "bits"], ["wq"], name="wquant",
                              domain="qonnx.custom_op.general", signed=1, narrow=0,
                              rounding_mode="ROUND"),
             helper.make_node("Gemm", ["x", "wq"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], inits)
    onnx.save(helper.make_model(graph), tmp_path / "bad.onnx")
    with pytest.raises(UnsupportedLayerError, match=r"layer 'fc' \(Gemm\): input B \('wq', "
                       r"computed by a Quant \(bitwidth \[2.5\].*Brevitas' integer quantizers"):
        load_graph(tmp_path / "bad.onnx")


# --- end to end: a Brevitas 4-bit CNN trained here; SNN at T = 15 with v_init half -----


@pytest.fixture(scope="module")
def brevitas_net(tmp_path_factory):
    import torch
    from torch import nn

    root = tmp_path_factory.mktemp("brevitas_e2e")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (800, 10, 10, 2), dtype=np.uint8)  # pixels: exact input
    y = ((x / 255.0 - 0.5).reshape(800, -1) @ np.random.default_rng(9).normal(size=(200, 3))
         ).argmax(axis=1)
    np.savez(root / "data.npz", x_train=x[:600], y_train=y[:600], x_test=x[600:],
             y_test=y[600:])
    model, shape = brevitas_cnn(4)
    data = torch.from_numpy(np.moveaxis(x[:600] / np.float32(255), -1, 1).copy())
    labels = torch.from_numpy(y[:600])
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(20):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(data), labels).backward()
        optimizer.step()
    model.eval()
    export_brevitas(model, shape, root / "q.onnx")
    net = root / "net"
    assert main(["convert", str(root / "q.onnx"), "--dataset", str(root / "data.npz"),
                 "--out", str(net), "--timesteps", "15", "--v-init", "half", "--quiet"]) == 0
    quantized = torch_output(model, np.moveaxis(x[600:] / np.float32(255), -1, 1).copy())
    return root, net, quantized.argmax(axis=1)


def test_snn_at_t_levels_gives_the_quantized_networks_classes(brevitas_net):
    from spikeforge.netdir import load_int_network
    from spikeforge.simulator import simulate

    root, net, quantized = brevitas_net
    images = np.load(root / "data.npz")["x_test"]
    golden = simulate(load_int_network(net), images).classes
    assert np.mean(golden == quantized) >= 0.95


@pytest.mark.csim
def test_brevitas_net_hls_csim_equals_the_golden_model(brevitas_net, tmp_path, capsys):
    root, net, _ = brevitas_net
    assert_hls_csim_equal(net, root / "data.npz", tmp_path / "hls", capsys, images=30)


def _rtl_dir(tmp_path_factory):
    """The ONNX and QONNX RTL tests' shared build directory (Verilator's library objects
    are compiled once for both)."""
    return rtl_root(tmp_path_factory) / "onnx_e2e"


@pytest.mark.rtl
def test_brevitas_net_rtl_equals_the_golden_model(brevitas_net, tmp_path_factory, capsys):
    root, net, _ = brevitas_net
    assert_rtl_equal(net, root / "data.npz", _rtl_dir(tmp_path_factory), capsys, images=10)
