"""Quantized models in Keras 3 ``.keras`` files, read without QKeras or HGQ2 (issue 22).

Neither library is installed here: each test writes the archive itself (config.json as
Keras 3 serializes it, with the ``module``/``registered_name`` fields, and model.weights.h5
in Keras 3's ``layers/<snake_case class>/vars/<i>`` layout) and compares the graph
spikeforge reads against values computed by hand from the quantizers' definitions.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from spikeforge import ir
from spikeforge.ann_numpy import predict
from spikeforge.cli import main
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.frontend import UnsupportedLayerError
from spikeforge.frontend.graph import load_graph
from spikeforge.frontend.h5files import snake_case

RNG = np.random.default_rng(22)

# --- writing a Keras 3 archive -----------------------------------------------------------


def _entry(module, class_name, config, registered=None):
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": registered}


def _input(shape):
    return _entry("keras.layers", "InputLayer", {"batch_shape": [None, *shape],
                                                 "dtype": "float32", "name": "input_layer"})


def write_archive(path: Path, layers: list[dict], variables: dict[str, dict[str, list]],
                  names: bool = True, model_class: str = "Sequential") -> Path:
    """A .keras archive of a Sequential model: ``variables`` maps a layer name to its
    variables by path inside the layer ('' for its own, 'kq/quantizer' for a sub-layer's).
    Groups are named as Keras 3 names them; ``names`` records each layer's name on its
    ``vars`` group as recent Keras 3 versions do (older ones do not)."""
    config = {"module": "keras", "class_name": model_class, "registered_name": None,
              "config": {"name": "qmodel", "trainable": True, "layers": layers}}
    with h5py.File(path.with_suffix(".h5"), "w") as h5:
        counts: dict[str, int] = {}
        for entry in layers:
            if entry["class_name"] == "InputLayer":
                continue
            base = snake_case(entry["class_name"])
            counts[base] = counts.get(base, -1) + 1
            group_name = base if counts[base] == 0 else f"{base}_{counts[base]}"
            own = {"": []} if names else {}  # recent Keras names a layer's group even if empty
            for sub, values in {**own, **variables.get(entry["config"]["name"], {})}.items():
                group = h5.require_group("/".join(p for p in ("layers", group_name, sub, "vars")
                                                  if p))
                if names:
                    group.attrs["name"] = entry["config"]["name"] + (f"_{sub}" if sub else "")
                for index, value in enumerate(values):
                    group[str(index)] = value
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.14.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.write(path.with_suffix(".h5"), "model.weights.h5")
    return path


# --- QKeras (its Keras 3 port): quantizers as QKeras defines them -----------------------


def _qbits(bits, integer, alpha=1, symmetric=0, keep_negative=True):
    return {"module": "qkeras.quantizers", "class_name": "quantized_bits",
            "config": {"bits": bits, "integer": integer, "symmetric": symmetric,
                       "alpha": alpha, "keep_negative": keep_negative,
                       "use_stochastic_rounding": False, "qnoise_factor": 1.0,
                       "post_training_scale": None},
            "registered_name": "qkeras>quantized_bits"}


def _qrelu(bits, integer):
    return {"module": "qkeras.quantizers", "class_name": "quantized_relu",
            "config": {"bits": bits, "integer": integer, "use_sigmoid": 0,
                       "negative_slope": 0.0, "use_stochastic_rounding": False,
                       "relu_upper_bound": None, "qnoise_factor": 1.0},
            "registered_name": "qkeras>quantized_relu"}


def hand_quantized_bits(x, bits, integer, symmetric=0):
    """QKeras' quantized_bits(bits, integer, symmetric, alpha=1): a signed grid of step
    2^integer / 2^(bits - 1), rounded half to even (tf.round)."""
    m = 2.0 ** (bits - 1)
    steps = np.clip(np.round(np.asarray(x, np.float32) * m / 2.0**integer), -m + symmetric, m - 1)
    return steps * 2.0**integer / m


def _conv_entry(name, filters, kernel, padding, kq, bq, use_bias=True):
    return _entry("qkeras.qconvolutional", "QConv2D", {
        "name": name, "filters": filters, "kernel_size": [kernel, kernel], "strides": [1, 1],
        "padding": padding, "data_format": "channels_last", "dilation_rate": [1, 1],
        "groups": 1, "activation": "linear", "use_bias": use_bias, "kernel_quantizer": kq,
        "bias_quantizer": bq}, "qkeras>QConv2D")


def qkeras_model(tmp_path: Path, names: bool = True):
    """conv 3x3 'same' (dict quantizers), quantized_relu(3,1), max-pool, conv 3x3 without
    bias (string quantizer), QBatchNormalization without quantizers, quantized_relu(4,2)
    (string), flatten, dense, softmax."""
    k1, b1 = RNG.normal(0, 0.4, (3, 3, 1, 4)), RNG.normal(0, 0.5, 4)
    k2 = RNG.normal(0, 0.3, (3, 3, 4, 3))
    gamma, beta = RNG.uniform(0.5, 1.5, 3), RNG.normal(0, 0.3, 3)
    mean, var = RNG.normal(0, 0.3, 3), RNG.uniform(0.5, 2.0, 3)
    kd, bd = RNG.normal(0, 0.5, (12, 3)), RNG.normal(0, 1.0, 3)
    layers = [
        _input((8, 8, 1)),
        _conv_entry("c1", 4, 3, "same", _qbits(4, 0), _qbits(6, 2)),
        _entry("qkeras.qlayers", "QActivation", {"name": "a1", "activation": _qrelu(3, 1)},
               "qkeras>QActivation"),
        _entry("keras.layers", "MaxPooling2D", {"name": "mp", "pool_size": [2, 2],
                                                "strides": [2, 2], "padding": "valid",
                                                "data_format": "channels_last"}),
        _conv_entry("c2", 3, 3, "valid", "quantized_bits(4,0,1,alpha=1)", None, use_bias=False),
        _entry("qkeras.qnormalization", "QBatchNormalization", {
            "name": "bn", "axis": -1, "epsilon": 1e-3, "center": True, "scale": True,
            "beta_quantizer": None, "gamma_quantizer": None, "mean_quantizer": None,
            "variance_quantizer": None, "inverse_quantizer": None},
            "qkeras>QBatchNormalization"),
        _entry("qkeras.qlayers", "QActivation", {"name": "a2",
                                                 "activation": "quantized_relu(4,2)"},
               "qkeras>QActivation"),
        _entry("keras.layers", "Flatten", {"name": "f", "data_format": "channels_last"}),
        _entry("qkeras.qlayers", "QDense", {
            "name": "out", "units": 3, "activation": "linear", "use_bias": True,
            "kernel_quantizer": _qbits(5, 1), "bias_quantizer": _qbits(8, 3)},
            "qkeras>QDense"),
        _entry("keras.layers", "Activation", {"name": "sm", "activation": "softmax"}),
    ]
    variables = {"c1": {"": [k1, b1]}, "c2": {"": [k2]}, "bn": {"": [gamma, beta, mean, var]},
                 "out": {"": [kd, bd]}}
    path = write_archive(tmp_path / ("named.keras" if names else "positional.keras"),
                         layers, variables, names)
    raw = {"k1": k1, "b1": b1, "k2": k2, "bn": (gamma, beta, mean, var), "kd": kd, "bd": bd}
    return path, raw


def _conv(x, kernel, bias, pad):
    """A plain convolution, stride 1, zero padding ``pad`` on every side."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    kh, kw = kernel.shape[:2]
    h, w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = sum(np.einsum("nhwc,co->nhwo", x[:, i:i + h, j:j + w], kernel[i, j])
              for i in range(kh) for j in range(kw))
    return out + bias


def _qkeras_relu(x, bits, integer):
    m, m_i = 2.0**bits, 2.0**integer
    return m_i / m * np.clip(np.round(x * m / m_i), 0, m - 1)


def hand_forward(raw, x):
    """The QKeras model, computed by hand from the quantizers' definitions."""
    y = _conv(x, hand_quantized_bits(raw["k1"], 4, 0), hand_quantized_bits(raw["b1"], 6, 2), 1)
    y = _qkeras_relu(y, 3, 1)
    y = y.reshape(len(y), 4, 2, 4, 2, 4).max(axis=(2, 4))
    y = _conv(y, hand_quantized_bits(raw["k2"], 4, 0, symmetric=1), 0.0, 0)
    gamma, beta, mean, var = raw["bn"]
    y = _qkeras_relu((y - mean) / np.sqrt(var + 1e-3) * gamma + beta, 4, 2)
    return y.reshape(len(y), -1) @ hand_quantized_bits(raw["kd"], 5, 1) + hand_quantized_bits(
        raw["bd"], 8, 3)


@pytest.mark.parametrize("names", [True, False], ids=["named-groups", "positional-groups"])
def test_qkeras_archive_reads_as_the_hand_computed_quantized_model(tmp_path, names):
    path, raw = qkeras_model(tmp_path, names)
    graph = load_graph(path)
    layers = {layer.name: layer for layer in graph.layers}
    np.testing.assert_array_equal(layers["c1"].kernel, hand_quantized_bits(raw["k1"], 4, 0))
    np.testing.assert_array_equal(layers["c1"].bias, hand_quantized_bits(raw["b1"], 6, 2))
    assert layers["c1"].pads == (1, 1, 1, 1)
    np.testing.assert_array_equal(layers["c2"].kernel,
                                  hand_quantized_bits(raw["k2"], 4, 0, symmetric=1))
    assert layers["a1"].spec == ir.Relu(cap=1.75, levels=7)  # 7 * 2^(1 - 3)
    assert layers["a2"].spec == ir.Relu(cap=3.75, levels=15)
    np.testing.assert_array_equal(layers["out"].weights, hand_quantized_bits(raw["kd"], 5, 1))
    np.testing.assert_array_equal(layers["bn"].var, raw["bn"][3])
    # float inputs: no activation lands exactly halfway between two levels (QKeras rounds
    # such ties to even, the clip-floor up)
    x = RNG.uniform(0, 1, (16, 8, 8, 1)).astype(np.float32)
    logits = predict(graph, x)  # the softmax is the last layer
    expected = hand_forward(raw, x.astype(np.float64))
    e = np.exp(expected - expected.max(axis=1, keepdims=True))
    np.testing.assert_allclose(logits, e / e.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-5)


def test_qkeras_archive_converts(tmp_path):
    path, _raw = qkeras_model(tmp_path)
    graph = load_graph(path)
    x = RNG.uniform(0, 1, (8, 8, 8, 1)).astype(np.float32)
    state = run_flow(graph, x, ConvertOptions(percentile=None), verify_images=x)
    assert [layer.name for layer in state.int_net.neuron_layers] == ["c1", "c2", "out"]


def test_qkeras_archive_inspects_without_qkeras(tmp_path, capsys):
    path, _raw = qkeras_model(tmp_path)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(Keras 3 .keras with QKeras layers (read without QKeras))" in out.splitlines()[0]
    assert "clip-floor, 7 levels up to 1.75" in out
    assert "converts: 3 IF layers" in out


@pytest.mark.parametrize("quantizer, name", [
    ({"module": "qkeras.quantizers", "class_name": "binary",
      "config": {"use_01": False, "alpha": 1}, "registered_name": "qkeras>binary"}, "binary"),
    ("ternary(alpha=1)", "ternary"),
    ("stochastic_binary()", "stochastic_binary"),
])
def test_binary_and_ternary_weight_quantizers_are_refused_by_name(tmp_path, quantizer, name):
    layers = [_input((6,)), _entry("qkeras.qlayers", "QDense", {
        "name": "qd", "units": 2, "activation": "linear", "use_bias": False,
        "kernel_quantizer": quantizer, "bias_quantizer": None}, "qkeras>QDense")]
    path = write_archive(tmp_path / "b.keras", layers, {"qd": {"": [RNG.normal(0, 1, (6, 2))]}})
    with pytest.raises(UnsupportedLayerError) as err:
        load_graph(path)
    assert str(err.value).startswith(f"layer 'qd' (QDense): kernel_quantizer weight quantizer "
                                     f"{name}")
    assert "use quantized_bits(bits, integer, alpha=1)" in str(err.value)


def test_quantized_batchnorm_statistics_are_refused(tmp_path):
    layers = [_input((6,)), _entry("qkeras.qlayers", "QDense", {
        "name": "d", "units": 2, "activation": "linear", "use_bias": False,
        "kernel_quantizer": None, "bias_quantizer": None}, "qkeras>QDense"),
        _entry("qkeras.qnormalization", "QBatchNormalization", {
            "name": "qbn", "axis": -1, "epsilon": 1e-3, "center": True, "scale": True,
            "beta_quantizer": "quantized_po2(5)", "gamma_quantizer": None,
            "mean_quantizer": "quantized_po2(5)", "variance_quantizer": None},
            "qkeras>QBatchNormalization")]
    stats = [np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)]
    path = write_archive(tmp_path / "q.keras", layers,
                         {"d": {"": [RNG.normal(0, 1, (6, 2))]}, "qbn": {"": stats}})
    with pytest.raises(UnsupportedLayerError, match=r"layer 'qbn' \(QBatchNormalization\): "
                       r"quantized statistics \(beta_quantizer, mean_quantizer\)"):
        load_graph(path)


def test_other_custom_classes_in_a_quantized_archive_are_refused_by_name(tmp_path):
    layers = [_input((6,)), _entry("my_project.layers", "Scale", {"name": "scale"},
                                   "my_project>Scale"),
              _entry("qkeras.qlayers", "QDense", {
                  "name": "d", "units": 2, "activation": "linear", "use_bias": False,
                  "kernel_quantizer": None, "bias_quantizer": None}, "qkeras>QDense")]
    path = write_archive(tmp_path / "c.keras", layers, {"d": {"": [RNG.normal(0, 1, (6, 2))]}})
    with pytest.raises(UnsupportedLayerError, match=r"layer 'scale' \(Scale\) is not supported"):
        load_graph(path)


def test_the_reader_follows_keras_own_layout(tmp_path):
    """A model saved by Keras 3 itself, read the way a quantized archive is (an extra
    QKeras QActivation('relu') entry sends it there), with and without recorded names."""
    import keras
    from keras import layers as L

    from keras_builders import sequential
    from spikeforge.frontend.keras_model import keras_to_graph

    model = sequential((9, 9, 2), [
        L.Conv2D(3, 3, name="c1"), L.BatchNormalization(name="bn1"), L.ReLU(name="r1"),
        L.MaxPooling2D(2, name="mp"), L.Conv2D(4, 2, activation="relu", name="c2"),
        L.BatchNormalization(name="bn2"), L.Flatten(name="f"), L.Dense(5, name="d1"),
        L.Dense(3, name="d2")], seed=5)
    saved = tmp_path / "keras.keras"
    model.save(saved)
    with zipfile.ZipFile(saved) as archive:
        config = json.loads(archive.read("config.json"))
        data = archive.read("model.weights.h5")
    config["config"]["layers"].insert(5, _entry("qkeras.qlayers", "QActivation", {
        "name": "qa", "activation": "relu"}, "qkeras>QActivation"))
    x = RNG.uniform(0, 1, (6, 9, 9, 2)).astype(np.float32)
    expected = predict(keras_to_graph(model), x)
    for names in (True, False):
        weights = tmp_path / f"w{names}.h5"
        weights.write_bytes(data)
        if not names:
            with h5py.File(weights, "a") as h5:
                named: list = []
                h5.visititems(lambda _n, item, found=named: found.append(item)
                              if "name" in item.attrs else None)
                for item in named:
                    del item.attrs["name"]
        path = tmp_path / f"patched{names}.keras"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
            archive.writestr("config.json", json.dumps(config))
            archive.write(weights, "model.weights.h5")
        graph = load_graph(path)
        assert [la.name for la in graph.layers][:5] == ["c1", "bn1", "r1", "mp", "qa"]
        np.testing.assert_allclose(predict(graph, x), expected, rtol=1e-6, atol=1e-6)


# --- HGQ2 --------------------------------------------------------------------------------


def _hgq_conf(q_type="kbi", place="weight", **settings):
    config = {"q_type": q_type, "place": place, "scaler": None, "qnoise_factor": None,
              "affine": None, "k0": True, "round_mode": "RND", "overflow_mode": "SAT_SYM",
              "homogeneous_axis": [], "heterogeneous_axis": None, "bw_mapper": None,
              "trainable": True, "is_weight": place == "weight",
              **({"b0": 8, "i0": 2} if q_type == "kbi" else {"i0": 2, "f0": 6}), **settings}
    return {"module": "hgq.quantizer.config", "class_name": "QuantizerConfig",
            "config": config, "registered_name": "hgq>QuantizerConfig"}


def _hgq_layer(class_name, config):
    module = {"QDense": "hgq.layers.core.dense", "QConv2D": "hgq.layers.conv",
              "Quantizer": "hgq.quantizer.quantizer"}[class_name]
    base = {"enable_ebops": False, "enable_oq": False, "enable_iq": False, "oq_conf": None,
            "iq_conf": None}
    return _entry(module, class_name, {**base, **config}, f"hgq>{class_name}")


def hand_fixed(x, k, i, f, rounding="RND", symmetric=False):
    """An HGQ2 fixed-point quantizer by hand: saturate to [-k 2^i, 2^i - 2^-f] (symmetric:
    [-k (2^i - 2^-f), ...]), round x 2^f (RND: ties up; RND_CONV: ties to even)."""
    x = np.asarray(x, np.float64)
    top = 2.0**i - 2.0**-f
    bottom = -k * top if symmetric else -k * 2.0**i
    x = np.clip(x, bottom, top) * 2.0**f
    steps = np.floor(x + 0.5) if rounding == "RND" else np.round(x)
    return np.where(k + i + f > 0, steps / 2.0**f, 0.0)


def hgq_model(tmp_path: Path, act_conf=None, act_vars=None, first_iq=False, kernel_conf=None):
    """QConv2D (per-weight KBI kernel bit widths, KIF bias), Quantizer (KIF, k=0, i=1,
    f=2), Flatten, QDense (KIF kernel, KBI bias with WRAP)."""
    k1 = RNG.normal(0, 0.6, (3, 3, 1, 2)).astype(np.float32)
    b1 = RNG.normal(0, 0.6, 2).astype(np.float32)
    kb = RNG.integers(2, 6, k1.shape).astype(np.float32)  # bits b per weight
    ki = RNG.integers(0, 2, k1.shape).astype(np.float32)  # integer bits i per weight
    kd = RNG.normal(0, 0.6, (8, 3)).astype(np.float32)
    bd = RNG.normal(0, 2.0, 3).astype(np.float32)
    ones = np.ones
    act_conf = act_conf or _hgq_conf("kif", "datalane", k0=False, i0=1, f0=2,
                                     overflow_mode="SAT", homogeneous_axis=[0, 1, 2, 3])
    layers = [
        _input((4, 4, 1)),
        _hgq_layer("QConv2D", {
            "name": "c1", "filters": 2, "kernel_size": [3, 3], "strides": [1, 1],
            "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
            "groups": 1, "activation": "relu", "use_bias": True,
            "enable_iq": first_iq, "iq_conf": _hgq_conf("kif", "datalane") if first_iq else None,
            "kq_conf": kernel_conf or _hgq_conf("kbi", "weight", b0=4, i0=1),
            "bq_conf": _hgq_conf("kif", "bias", i0=2, f0=3, overflow_mode="SAT")}),
        _hgq_layer("Quantizer", {"name": "act", "config": act_conf}),
        _entry("keras.layers", "Flatten", {"name": "f", "data_format": "channels_last"}),
        _hgq_layer("QDense", {
            "name": "d", "units": 3, "activation": "linear", "use_bias": True,
            "kq_conf": _hgq_conf("kif", "weight", i0=1, f0=3, overflow_mode="SAT"),
            "bq_conf": _hgq_conf("kbi", "bias", b0=5, i0=1, overflow_mode="WRAP")}),
    ]
    u8 = np.uint8
    variables = {
        # KBI: b, i (trainable), k (uint8); KIF SAT: i, f, k; KBI WRAP: b, k, i, decay
        "c1": {"": [k1, b1],
               **({} if kernel_conf else {"kq/quantizer": [kb, ki, ones(k1.shape, u8)]}),
               "bq/quantizer": [np.full(2, 2.0, np.float32), np.full(2, 3.0, np.float32),
                                ones(2, u8)]},
        "act": {"quantizer": act_vars if act_vars is not None else
                [np.ones((1, 1, 1, 1), np.float32), np.full((1, 1, 1, 1), 2.0, np.float32),
                 np.zeros((1, 1, 1, 1), u8)]},
        "d": {"": [kd, bd, np.float32(0), np.uint32(0)],
              "kq/quantizer": [np.full(kd.shape, 1.0, np.float32),
                               np.full(kd.shape, 3.0, np.float32), ones(kd.shape, u8)],
              "bq/quantizer": [np.full(3, 5.0, np.float32), ones(3, u8),
                               np.full(3, 1.0, np.float32), np.float32(0.01)]},
    }
    path = write_archive(tmp_path / "hgq.keras", layers, variables)
    return path, dict(k1=k1, b1=b1, kb=kb, ki=ki, kd=kd, bd=bd)


def _functional(layers):
    """Keras 3 Functional wiring of a chain of layer entries (for write_archive)."""
    previous = None
    for entry in layers:
        name = entry["config"]["name"]
        if previous is not None:
            entry["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__", "config": {
                "shape": [None], "dtype": "float32", "keras_history": [previous, 0, 0]}}],
                "kwargs": {}}]
        previous = name
    return {"layers": layers, "input_layers": [[layers[0]["config"]["name"], 0, 0]],
            "output_layers": [[previous, 0, 0]]}


def _as_functional(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["class_name"] = "Functional"
    config["config"].update(_functional(config["config"]["layers"]))
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_hgq2_archive_reads_as_the_hand_computed_quantized_model(tmp_path, functional):
    path, raw = hgq_model(tmp_path)
    if functional:
        _as_functional(path)
    graph = load_graph(path)
    layers = {layer.name: layer for layer in graph.layers}
    # per-weight bit widths: f = b - i
    np.testing.assert_array_equal(layers["c1"].kernel, hand_fixed(
        raw["k1"], 1, raw["ki"], raw["kb"] - raw["ki"], symmetric=True))
    np.testing.assert_array_equal(layers["c1"].bias, hand_fixed(raw["b1"], 1, 2, 3))
    assert layers["act"].spec == ir.Relu(cap=1.75, levels=7)  # k=0, i=1, f=2
    np.testing.assert_array_equal(layers["d"].weights, hand_fixed(raw["kd"], 1, 1, 3))
    # KBI bias, WRAP: rounded to f = b - i = 4 bits, then wrapped into [-2, 2)
    wrapped = np.mod(np.floor(raw["bd"].astype(np.float64) * 16 + 0.5) / 16 + 2, 4) - 2
    np.testing.assert_array_equal(layers["d"].bias, wrapped)
    x = RNG.uniform(0, 1, (12, 4, 4, 1)).astype(np.float32)
    y = _conv(x.astype(np.float64), layers["c1"].kernel, layers["c1"].bias, 0)
    y = hand_fixed(np.maximum(y, 0), 0, 1, 2)
    expected = y.reshape(len(y), -1) @ layers["d"].weights + layers["d"].bias
    np.testing.assert_allclose(predict(graph, x), expected, rtol=1e-5, atol=1e-5)


def test_hgq2_qkeras_layer_quantized_bits_excludes_the_sign_bit(tmp_path):
    shim = {"module": "qkeras.quantizers.quantized_bits", "class_name": "quantized_bits",
            "config": {"bits": 4, "integer": 1, "symmetric": False, "keep_negative": True,
                       "alpha": 1.0, "use_stochastic_rounding": False, "scale_axis": [],
                       "qnoise_factor": None, "use_variables": False},
            "registered_name": "hgq/qkeras>quantized_bits"}
    path, raw = hgq_model(tmp_path, kernel_conf=shim)
    kernel = next(la for la in load_graph(path).layers if la.name == "c1").kernel
    # 4 bits besides the sign, 1 of them integer: step 1/8 on [-2, 2 - 1/8], ties to even
    np.testing.assert_array_equal(kernel, hand_fixed(raw["k1"], 1, 1, 3, "RND_CONV"))


@pytest.mark.parametrize("case, words", [
    ("per_element", "bit widths that differ between elements"),
    ("signed", "keeping negative values (k=1"),
    ("wrap", "wrap around to small ones, where a neuron saturates"),
    ("float", "a floating-point (minifloat) quantizer, q_type='float'"),
    ("first_iq", "an input quantizer (iq) on the model's input"),
])
def test_hgq2_refusals_name_the_layer_and_the_setting(tmp_path, case, words):
    act_conf, act_vars, kernel_conf = None, None, None
    first_iq = case == "first_iq"
    if case == "per_element":
        act_vars = [np.ones((1, 2, 2, 2), np.float32),
                    RNG.integers(1, 4, (1, 2, 2, 2)).astype(np.float32),
                    np.zeros((1, 2, 2, 2), np.uint8)]
    if case == "signed":
        act_vars = [np.ones((1, 1, 1, 1), np.float32), np.full((1, 1, 1, 1), 2.0, np.float32),
                    np.ones((1, 1, 1, 1), np.uint8)]
    if case == "wrap":
        act_conf = _hgq_conf("kif", "datalane", k0=False, i0=1, f0=2, overflow_mode="WRAP")
        act_vars = [np.full((1, 1, 1, 1), 2.0, np.float32), np.zeros((1, 1, 1, 1), np.uint8),
                    np.ones((1, 1, 1, 1), np.float32), np.float32(0.01)]
    if case == "float":
        kernel_conf = _hgq_conf("float", "weight", m0=2, e0=4, e00=0)
    path, _raw = hgq_model(tmp_path, act_conf, act_vars, first_iq, kernel_conf)
    with pytest.raises(UnsupportedLayerError) as err:
        load_graph(path)
    layer = "act" if case in ("per_element", "signed", "wrap") else "c1"
    message = str(err.value)
    assert message.startswith(f"layer '{layer}' (hgq>")
    assert words in message


def test_hgq2_archive_inspects_without_hgq2(tmp_path, capsys):
    path, _raw = hgq_model(tmp_path)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(Keras 3 .keras with HGQ2 layers (read without HGQ2))" in out.splitlines()[0]
    assert "act    hgq>Quantizer  fixed<k=0, i=1, f=2, RND, SAT>" in out
    assert "clip-floor, 7 levels up to 1.75" in out
    assert "parameters: 47" in out  # kernels and biases; not the bit widths


def test_keras_itself_cannot_run_the_archive_and_says_why(tmp_path):
    from spikeforge.frontend import ModelFileError
    from spikeforge.frontend.sources import load_keras_model

    path, _raw = qkeras_model(tmp_path)
    with pytest.raises(ModelFileError, match=r"has QKeras layers, which Keras runs only with "
                       r"QKeras installed and imported; spikeforge reads the model without "
                       r"QKeras \(inspect, convert\)"):
        load_keras_model(path)


def test_a_quantized_archive_converts_and_its_ann_runs_without_the_library(tmp_path, capsys):
    import json

    from spikeforge.cli import main

    path, _raw = qkeras_model(tmp_path)
    data = tmp_path / "data.npz"
    images = RNG.integers(0, 256, (40, 8, 8, 1)).astype(np.uint8)
    np.savez(data, x_train=images, x_test=images[:10], y_train=RNG.integers(0, 3, 40),
             y_test=RNG.integers(0, 3, 10))
    net = tmp_path / "net"
    assert main(["convert", str(path), "--dataset", str(data), "--out", str(net), "-q"]) == 0
    assert not (net / "ann.keras").exists()  # Keras cannot run it without QKeras
    capsys.readouterr()
    assert main(["evaluate", str(net), "--dataset", str(data), "--backend", "ann", "--json",
                 "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 10
