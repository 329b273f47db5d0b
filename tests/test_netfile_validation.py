"""Loading a network refuses every kind of damage with a message that names the file, the
field and the fix; what the project itself writes always loads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from spikeforge.cli import main
from spikeforge.ir import Formats, Network, NeuronLayer, PoolGate, SnnConfig
from spikeforge.netdir import load_float_network, load_int_network, write_netdir
from spikeforge.netfile import NetworkFileError, load_network
from spikeforge.quant import quantize

FIX = r"convert the model again \(`spikeforge convert`\)"


def small_networks(seed: int = 0) -> tuple[Network, Network]:
    """A float SNN (6x6x1 images -> conv 3x3 -> 2x2 max-pool gate -> dense, 10 classes)
    and its integer network, as ``spikeforge convert`` would make them."""
    rng = np.random.default_rng(seed)

    def floats(*shape: int, spread: float) -> np.ndarray:
        return rng.normal(0, spread, shape).astype(np.float32)  # Keras' dtype

    layers = [
        NeuronLayer("conv", "conv", (6, 6, 1), (6, 6, 3), floats(3, 3, 1, 3, spread=0.01),
                    floats(3, spread=0.1), np.ones(3), (1, 1), (1, 1, 1, 1), scale=2.5),
        PoolGate("pool", (6, 6, 3), (3, 3, 3), (2, 2), (2, 2)),
        NeuronLayer("dense", "dense", (27,), (10,), floats(27, 10, spread=0.4),
                    floats(10, spread=0.1), np.ones(10), scale=1.25),
    ]
    float_net = Network("small", (6, 6, 1), layers, SnnConfig(timesteps=6, max_timesteps=15))
    formats = Formats(weight_bits=6, bias_bits=12, threshold_bits=10, membrane_bits=16)
    return float_net, quantize(float_net, formats)


def write_keras2_source(path: Path, float_net: Network) -> Path:
    """A Keras 2 full-model H5 of the ANN behind ``small_networks`` (its float weights), as
    the source model conversion.json names: what ``evaluate`` runs as the ANN reference."""
    import h5py

    conv, _pool, dense = float_net.layers
    layers = [
        ("InputLayer", {"name": "image", "batch_input_shape": [None, 6, 6, 1]}, {}),
        ("Conv2D", {"name": "conv", "filters": 3, "kernel_size": [3, 3], "padding": "same",
                    "activation": "relu"}, {"kernel": conv.weights, "bias": conv.bias}),
        ("MaxPooling2D", {"name": "pool", "pool_size": [2, 2]}, {}),
        ("Flatten", {"name": "flatten"}, {}),
        ("Dense", {"name": "dense", "units": 10}, {"kernel": dense.weights, "bias": dense.bias}),
    ]
    arch = {"class_name": "Sequential", "keras_version": "2.13.1", "backend": "tensorflow",
            "config": {"name": "small", "layers": [
                {"class_name": kind, "config": config} for kind, config, _ in layers]}}
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(arch)
        group = h5.create_group("model_weights")
        group.attrs["layer_names"] = [config["name"] for _, config, _ in layers]
        for _, config, variables in layers:
            layer = group.create_group(config["name"])
            names = [f"{config['name']}/{key}:0" for key in variables]
            layer.attrs["weight_names"] = names
            for name, value in zip(names, variables.values(), strict=True):
                layer.create_dataset(name, data=np.asarray(value, np.float32))
    return path


def write_small_netdir(path: Path, seed: int = 0) -> tuple[Network, Network]:
    """What ``spikeforge convert`` writes for ``small_networks(seed)``, the source model
    beside it."""
    float_net, int_net = small_networks(seed)
    source = write_keras2_source(path.parent / f"{path.name}-source.h5", float_net)
    write_netdir(path, int_net, float_net, None, {"model": str(source), "weights": None})
    return float_net, int_net


@pytest.fixture
def netdir(tmp_path) -> Path:
    write_small_netdir(tmp_path / "net")
    return tmp_path / "net"


def edit_json(path: Path, change: Callable[[dict], object]) -> None:
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def edit_npz(path: Path, change: Callable[[dict], object]) -> None:
    with np.load(path) as npz:
        arrays = dict(npz)
    change(arrays)
    np.savez(path, **arrays)


def test_the_project_writes_what_it_loads(netdir):
    float_net, int_net = small_networks()
    loaded = load_int_network(netdir)
    assert loaded.formats == int_net.formats and loaded.config == int_net.config
    for got, want in zip(loaded.neuron_layers, int_net.neuron_layers, strict=True):
        assert got.weights.dtype == np.int64 and np.array_equal(got.weights, want.weights)
    floats = load_float_network(netdir)
    assert floats.formats is None
    for got, want in zip(floats.neuron_layers, float_net.neuron_layers, strict=True):
        assert got.weights.dtype == np.float64 and np.array_equal(got.weights, want.weights)


# (file, what to do to it, what the message must say besides the file and the fix)
JSON_CASES: dict[str, tuple[str, Callable[[dict], object], str]] = {
    "missing formats": ("snn.json", lambda m: m.pop("formats"), r"formats is missing"),
    "missing layers": ("snn.json", lambda m: m.pop("layers"), r"layers is missing"),
    "missing out_shape": (
        "snn.json", lambda m: m["layers"][2].pop("out_shape"), r"layers\[2\]\.out_shape is missing"
    ),
    "missing build_id": ("snn.json", lambda m: m.pop("build_id"), r"build_id is missing"),
    "build_id out of range": (
        "snn.json", lambda m: m.update(build_id=2**32), r"build_id must be in 0\.\.4294967295"
    ),
    "build_id not an int": (
        "snn_float.json", lambda m: m.update(build_id="0x1234"), r"build_id must be an integer"
    ),
    "mismatched build_id": (
        "snn.json",
        lambda m: m.update(build_id=m["build_id"] ^ 1),
        r"build_id 0x[0-9a-f]{8} is not the build id of the network the files describe",
    ),
    "unknown format version": (
        "snn.json", lambda m: m.update(format_version=2), r"format_version must be 1, not 2"
    ),
    "seed not positive": (
        "snn.json", lambda m: m["config"].update(seed=0), r"config is invalid: seed=0 must be"
    ),
    "seed a bool": (
        "snn.json", lambda m: m["config"].update(seed=True), r"config\.seed must be an integer"
    ),
    "T above max": (
        "snn_float.json",
        lambda m: m["config"].update(timesteps=99),
        r"config is invalid: timesteps=99 must be in 1 \.\. max_timesteps=15",
    ),
    "unknown reset mode": (
        "snn.json", lambda m: m["config"].update(reset="leak"), r"config\.reset must be one of"
    ),
    "unknown config field": (
        "snn.json", lambda m: m["config"].update(leak=1), r"config\.leak is not a field"
    ),
    "missing config field": (
        "snn.json", lambda m: m["config"].pop("max_timesteps"), r"config\.max_timesteps is missing"
    ),
    "bad formats": (
        "snn.json",
        lambda m: m["formats"].update(threshold_bits=15),
        r"formats is invalid: threshold_bits=15 must be at most membrane_bits - 2",
    ),
    "formats not an object": (
        "snn.json", lambda m: m.update(formats=[8]), r"formats must be a JSON object"
    ),
    "input_shape a string": (
        "snn.json", lambda m: m.update(input_shape="6x6"), r"input_shape must be a list of 1 to 3"
    ),
    "unknown layer type": (
        "snn.json", lambda m: m["layers"][1].update(type="avg"), r"layers\[1\]\.type must be one of"
    ),
    "unknown layer kind": (
        "snn.json", lambda m: m["layers"][0].update(kind="lstm"), r"layers\[0\]\.kind must be one"
    ),
    "negative pad": (
        "snn.json", lambda m: m["layers"][0].update(pads=[1, -1, 1, 1]), r"layers\[0\]\.pads must"
    ),
    "NaN scale": (
        "snn_float.json",
        lambda m: m["layers"][0].update(scale=float("nan")),
        r"layers\[0\]\.scale must be a finite positive number",
    ),
    "broken chain": (
        "snn.json",
        lambda m: m["layers"][1].update(in_shape=[5, 5, 3]),
        r"layers\[1\]\.in_shape is \[5, 5, 3\], but \[6, 6, 3\] follows",
    ),
    "conv out_shape off": (
        "snn.json",
        lambda m: m["layers"][0].update(strides=[2, 2]),
        r"layers\[0\]\.out_shape is \[6, 6, 3\], but \[3, 3, 3\] follows",
    ),
    "pool out_shape off": (
        "snn.json",
        lambda m: m["layers"][1].update(pool=[3, 3]),
        r"layers\[1\]\.out_shape is \[3, 3, 3\], but \[2, 2, 3\] follows",
    ),
    "ends in a pool gate": (
        "snn.json",
        lambda m: m["layers"].append({**m["layers"][1], "in_shape": [10], "out_shape": [10]}),
        r"layers\[3\] must be a dense neuron layer \(the classes\)",
    ),
    "starts with a pool gate": (
        "snn.json", lambda m: m["layers"].insert(0, m["layers"][1]), r"layers\[0\] must be a neuron"
    ),
    "input of another size": (
        "snn.json",
        lambda m: m.update(input_shape=[7, 6]),
        r"layers\[0\] is a convolution or pool gate after the shape \[7, 6\]",
    ),
    "odd input bits": (
        "snn.json",
        lambda m: m["input_format"].update(bits=12),
        r"input_format is invalid: input bits=12",
    ),
    "input signedness not a bool": (
        "snn_float.json",
        lambda m: m["input_format"].update(signed=0),
        r"input_format\.signed must be true or false, not 0",
    ),
    "Poisson input of 16 bits": (
        "snn.json",
        lambda m: (m["input_format"].update(bits=16), m["config"].update(input_mode="poisson")),
        r"Poisson input draws spikes from uint8 values",
    ),
}


@pytest.mark.parametrize("case", JSON_CASES)
def test_bad_json_is_refused_by_file_field_and_fix(netdir, case):
    name, change, says = JSON_CASES[case]
    edit_json(netdir / name, change)
    load = load_int_network if name == "snn.json" else load_float_network
    with pytest.raises(NetworkFileError, match=rf"{netdir / name}: {says}.*{FIX}"):
        load(netdir)


def _retype(key: str, dtype: str) -> Callable[[dict], None]:
    return lambda arrays: arrays.update({key: arrays[key].astype(dtype)})


NPZ_CASES: dict[str, tuple[str, Callable[[dict], object], str]] = {
    "wrong conv weight shape": (
        "snn.npz",
        lambda a: a.update({"0.weights": np.zeros((3, 3, 1, 4), np.int64)}),
        r"array '0\.weights' has shape \[3, 3, 1, 4\], but \[3, 3, 1, 3\] follows",
    ),
    "wrong dense weight shape": (
        "snn.npz",
        lambda a: a.update({"2.weights": a["2.weights"].T}),
        r"array '2\.weights' has shape \[10, 27\], but \[27, 10\] follows",
    ),
    "conv weights not 4-d": (
        "snn_float.npz",
        lambda a: a.update({"0.weights": a["0.weights"].reshape(9, 3)}),
        r"array '0\.weights' has shape \[9, 3\], but \[kh, kw, 1, 3\] follows",
    ),
    "wrong bias shape": (
        "snn.npz",
        lambda a: a.update({"2.bias": a["2.bias"][:9]}),
        r"array '2\.bias' has shape \[9\], but layers\[2\]\.out_shape has 10 channels",
    ),
    "float weights in the integer network": (
        "snn.npz", _retype("0.weights", "float64"), r"array '0\.weights' has dtype float64, but an"
    ),
    "integer thresholds in the float SNN": (
        "snn_float.npz", _retype("2.threshold", "int64"), r"array '2\.threshold' has dtype int64"
    ),
    "bool bias": ("snn.npz", _retype("0.bias", "bool"), r"array '0\.bias' has dtype bool"),
    "missing array": ("snn.npz", lambda a: a.pop("2.bias"), r"array '2\.bias' is missing"),
    "extra array": (
        "snn.npz", lambda a: a.update({"1.weights": np.ones(3)}), r"array '1\.weights' is not part"
    ),
    "weight outside the formats": (
        "snn.npz",
        lambda a: a["0.weights"].__setitem__((0, 0, 0, 0), 32),
        r"array '0\.weights' has a weight outside -32\.\.31 \(weight_bits=6\)",
    ),
    "zero threshold": (
        "snn.npz",
        lambda a: a["2.threshold"].__setitem__(0, 0),
        r"array '2\.threshold' has a threshold outside 1\.\.1023",
    ),
    "NaN in the float SNN": (
        "snn_float.npz",
        lambda a: a["2.bias"].__setitem__(3, np.nan),
        r"array '2\.bias' holds a NaN or an infinity",
    ),
    "negative float threshold": (
        "snn_float.npz",
        lambda a: a["0.threshold"].__setitem__(0, -1.0),
        r"array '0\.threshold' holds a threshold <= 0",
    ),
}


@pytest.mark.parametrize("case", NPZ_CASES)
def test_bad_arrays_are_refused_by_file_array_and_fix(netdir, case):
    name, change, says = NPZ_CASES[case]
    edit_npz(netdir / name, change)
    load = load_int_network if name == "snn.npz" else load_float_network
    with pytest.raises(NetworkFileError, match=rf"{netdir / name}: {says}.*{FIX}"):
        load(netdir)


def test_integral_float_weights_without_a_build_id_are_refused(netdir):
    """Issue 21: with build_id deleted, float weights used to load (and hls truncated them)."""
    edit_npz(netdir / "snn.npz", _retype("0.weights", "float64"))
    edit_json(netdir / "snn.json", lambda m: m.pop("build_id"))
    with pytest.raises(NetworkFileError, match=rf"snn.json: build_id is missing.*{FIX}"):
        load_int_network(netdir)
    edit_json(netdir / "snn.json", lambda m: m.update(build_id=0))
    with pytest.raises(NetworkFileError, match=r"snn.npz: array '0\.weights' has dtype float64"):
        load_int_network(netdir)


@pytest.mark.parametrize("name", ["snn.npz", "snn_float.npz"])
@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_truncated_npz_is_refused(netdir, name, keep):
    raw = (netdir / name).read_bytes()
    (netdir / name).write_bytes(raw[: int(len(raw) * keep)])
    load = load_int_network if name == "snn.npz" else load_float_network
    with pytest.raises(NetworkFileError, match=rf"{netdir / name}: cannot read the arrays.*{FIX}"):
        load(netdir)


def test_an_npz_that_is_not_a_zip_is_refused(netdir):
    np.save(netdir / "snn.npy", np.zeros(3))
    (netdir / "snn.npy").rename(netdir / "snn.npz")  # np.load would return an array
    with pytest.raises(NetworkFileError, match=r"snn.npz: cannot read the arrays \(BadZipFile"):
        load_int_network(netdir)


@pytest.mark.parametrize("text", ["", '{"format_version": 1', "[1, 2]", "\xff\xfe"])
def test_unreadable_json_is_refused(netdir, text):
    (netdir / "snn.json").write_bytes(text.encode("latin-1"))
    says = r"(cannot read the JSON|the file must be a JSON object)"
    with pytest.raises(NetworkFileError, match=rf"snn.json: {says}.*{FIX}"):
        load_int_network(netdir)


def test_other_integer_and_float_dtypes_load_as_the_same_network(netdir):
    edit_npz(netdir / "snn.npz", _retype("2.weights", "int8"))
    edit_npz(netdir / "snn_float.npz", _retype("2.threshold", "float32"))
    _float_net, int_net = small_networks()
    loaded = load_int_network(netdir)
    assert loaded.layers[2].weights.dtype == np.int64
    assert np.array_equal(loaded.layers[2].weights, int_net.layers[2].weights)
    assert load_float_network(netdir).layers[2].threshold.dtype == np.float64


def write_idx_dataset(directory: Path, count: int = 4, seed: int = 0) -> Path:
    """A tiny MNIST-layout dataset of 6x6 images and labels 0..9 (train = test)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 6, 6), dtype=np.uint8)
    images[rng.random(images.shape) < 0.4] = 0
    directory.mkdir(parents=True, exist_ok=True)
    for prefix in ("train", "t10k"):
        for stem, array in (("images-idx3", images), ("labels-idx1", np.arange(count) % 10)):
            header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
                int(d).to_bytes(4, "big") for d in array.shape
            )
            (directory / f"{prefix}-{stem}-ubyte").write_bytes(
                header + array.astype(np.uint8).tobytes()
            )
    return directory


def test_the_cli_exits_2_with_the_reason(netdir, tmp_path, capsys):
    dataset = write_idx_dataset(tmp_path / "data")
    assert main(["evaluate", str(netdir), "--dataset", str(dataset), "-q"]) == 0
    capsys.readouterr()
    edit_json(netdir / "snn.json", lambda m: m["layers"][2].pop("out_shape"))
    code = main(["evaluate", str(netdir), "--dataset", str(dataset), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "layers[2].out_shape is missing" in err and "convert the model again" in err


def test_load_network_names_a_missing_file(tmp_path):
    _float_net, int_net = small_networks()
    from spikeforge.netfile import save_network

    save_network(int_net, tmp_path / "net")
    (tmp_path / "net.npz").unlink()
    with pytest.raises(NetworkFileError, match=r"net\.npz is missing; run `spikeforge convert`"):
        load_network(tmp_path / "net")


def test_input_formats_round_trip_and_cannot_be_dropped(tmp_path):
    import dataclasses

    from spikeforge.ir import InputFormat
    from spikeforge.netfile import build_id, save_network

    _float_net, pixels = small_networks()
    save_network(pixels, tmp_path / "pixels")
    edit_json(tmp_path / "pixels.json", lambda m: m.pop("input_format"))  # an older file
    assert load_network(tmp_path / "pixels").input_format == InputFormat()
    wide = dataclasses.replace(pixels, input_format=InputFormat(16, True, 1000.0))
    assert build_id(wide) != build_id(pixels)
    save_network(wide, tmp_path / "wide")
    assert load_network(tmp_path / "wide").input_format == InputFormat(16, True, 1000.0)
    edit_json(tmp_path / "wide.json", lambda m: m.pop("input_format"))
    with pytest.raises(NetworkFileError, match=r"wide\.json: build_id 0x[0-9a-f]+ is not the"):
        load_network(tmp_path / "wide")
