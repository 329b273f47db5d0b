"""The command line, end to end on a tiny model trained in the test, and its errors."""

from __future__ import annotations

import json

import pytest

from spikeforge.cli import main


def test_convert_writes_the_network_and_report(tiny_net):
    names = sorted(p.name for p in tiny_net.iterdir())
    assert names == [".spikeforge-output", "ann.keras", "conversion.json", "report.json",
                     "report.md", "snn.json", "snn.npz", "snn_float.json", "snn_float.npz"]
    report = json.loads((tiny_net / "report.json").read_text())
    assert [layer["kind"] for layer in report["layers"]] == [
        "conv", "maxpool_gate", "conv", "maxpool_gate", "dense"]
    assert report["config"]["timesteps"] == 16
    conversion = json.loads((tiny_net / "conversion.json").read_text())
    assert conversion["normalization"] == 99.0 and len(conversion["scales"]) == 3


@pytest.mark.parametrize("backend", ["ann", "float", "golden"])
def test_evaluate_json(tiny_net, backend, capsys):
    assert main(["evaluate", str(tiny_net), "--dataset", "mnist", "--backend", backend,
                 "--limit", "200", "--timesteps", "8", "--json", "--quiet"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["backend"] == backend and figures["n"] == 200
    assert 0.5 < figures["accuracy"] <= 1.0  # a 1-epoch CNN still beats chance by far
    if backend == "ann":
        assert figures["timesteps"] is None and figures["spikes_per_image"] is None
    else:
        assert figures["timesteps"] == 8 and figures["spikes_per_image"] > 0


def test_evaluate_uses_the_network_default_t(tiny_net, capsys):
    assert main(["evaluate", str(tiny_net), "--dataset", "mnist", "--limit", "20", "--json",
                 "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["timesteps"] == 16


def test_convert_options_reach_the_network(tiny_model, tmp_path):
    from spikeforge.netdir import load_int_network

    out = tmp_path / "net"
    assert main(["convert", str(tiny_model), "--dataset", "mnist", "--out", str(out),
                 "--calibration", "200", "--reset", "zero", "--input", "poisson", "--seed", "7",
                 "--v-init", "half", "--weight-bits", "6", "--membrane-bits", "20",
                 "--threshold-bits", "12", "--bias-bits", "16", "--norm", "max", "--quiet"]) == 0
    net = load_int_network(out)
    assert (net.config.reset, net.config.input_mode, net.config.seed, net.config.v_init) == (
        "zero", "poisson", 7, "half")
    assert net.formats.weight_bits == 6 and net.formats.membrane_bits == 20
    assert max(abs(int(layer.weights.max())) for layer in net.neuron_layers) <= 31


def test_errors_exit_2_with_the_reason(tiny_net, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing"), "--dataset", "mnist"]) == 2
    assert "spikeforge convert" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing.keras"), "--dataset", "mnist",
                 "--out", str(tmp_path / "o")]) == 2
    assert "missing.keras does not exist" in capsys.readouterr().err
    (tmp_path / "junk.keras").write_bytes(b"junk")
    assert main(["convert", str(tmp_path / "junk.keras"), "--dataset", "mnist",
                 "--out", str(tmp_path / "o")]) == 2
    assert "not a readable Keras archive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert", "m.keras", "--dataset", "mnist", "--out", "o", "--norm", "abc"])
    assert "--norm 'abc'" in capsys.readouterr().err


def test_unsupported_model_is_refused_by_layer_name(tmp_path, capsys):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3, name="conv"),
                              layers.LeakyReLU(name="leaky"), layers.Flatten(),
                              layers.Dense(10)])
    path = tmp_path / "leaky.keras"
    model.save(path)
    assert main(["convert", str(path), "--dataset", "mnist", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 2
    assert "'leaky' (LeakyReLU)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_model_and_dataset_shapes_must_match(tmp_path, capsys):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Flatten(), layers.Dense(10)])
    path = tmp_path / "rgb.keras"
    model.save(path)
    assert main(["convert", str(path), "--dataset", "mnist", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the dataset's inputs have shape (28, 28, 1), model input (32, 32, 3)" in err
