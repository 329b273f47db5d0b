"""``spikeforge inspect`` and ``spikeforge convert MODEL.json --weights W.h5``."""

from __future__ import annotations

import json

from import_models import build
from keras2_files import write_keras2
from keras_builders import keras_predict, sequential
from spikeforge.cli import main
from spikeforge.netdir import load_int_network
from spikeforge.simulator import simulate


def test_inspect_lists_every_layer_and_how_it_maps(tmp_path, capsys):
    model, functional = build("batchnorm_everywhere")
    files = write_keras2(model, tmp_path, functional=functional)
    assert main(["inspect", str(files.json), "--weights", str(files.weights)]) == 0
    out = capsys.readouterr().out
    assert "model 'test_model' (Keras 2 JSON + H5 weights), input 10 x 10 x 2" in out
    for name in ("bn_in", "c1", "bn1", "r1", "c2", "bn2", "c3", "f", "d1", "bn3", "r4", "out"):
        assert f"\n{name} " in out
    assert "folded exactly into a neighbouring Conv2D/Dense" in out
    assert "IF conv 3x3/1x1 pads 1x1x1x1" in out  # c2: same padding
    assert f"parameters: {model.count_params()}" in out
    assert "converts: 5 IF layers" in out


def test_inspect_says_why_a_model_is_refused(tmp_path, capsys):
    from keras import layers as L

    model = sequential((8, 8, 1), [L.Conv2D(2, 3, activation="relu", name="c1"),
                                   L.BatchNormalization(name="bn_pad"),
                                   L.Conv2D(2, 3, padding="same", name="padded"), L.Flatten(),
                                   L.Dense(2, name="out")])
    files = write_keras2(model, tmp_path)
    assert main(["inspect", str(files.full)]) == 2
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("bn_pad "))
    assert "refused: layer 'bn_pad' (BatchNormalization)" in row
    assert out.rstrip().splitlines()[-1].startswith("refused: layer 'bn_pad'")


def test_inspect_reports_unknown_layers_and_goes_on_mapping(tmp_path, capsys):
    from keras import layers as L

    model = sequential((8, 8, 1), [L.Conv2D(2, 3, name="c1"), L.LeakyReLU(name="lrelu"),
                                   L.Flatten(name="f"), L.Dense(2, name="out")])
    files = write_keras2(model, tmp_path)
    assert main(["inspect", str(files.full)]) == 2
    out = capsys.readouterr().out
    assert "refused: layer 'lrelu' (LeakyReLU) is not supported" in out
    assert "IF dense 72->2" in out  # the layers after it are checked all the same


def test_convert_keras2_json_with_weights(mnist, tmp_path, capsys):
    from keras import layers as L

    model = sequential((28, 28, 1), [
        L.Conv2D(4, 5, strides=2, padding="same", activation="relu", name="c1"),
        L.BatchNormalization(name="bn"), L.Conv2D(6, 3, strides=2, activation="relu", name="c2"),
        L.Flatten(name="f"), L.Dense(10, activation="softmax", name="out")])
    files = write_keras2(model, tmp_path / "model")
    out = tmp_path / "net"
    assert main(["convert", str(files.json), "--weights", str(files.weights), "--dataset",
                 "mnist", "--calibration", "500", "--out", str(out), "--quiet"]) == 0
    net = load_int_network(out)
    assert [layer.name for layer in net.layers] == ["c1", "c2", "out"]
    assert net.layers[0].pads == (1, 2, 1, 2) and net.layers[0].strides == (2, 2)
    conversion = json.loads((out / "conversion.json").read_text())
    assert conversion["weights"] == str(files.weights.resolve())
    assert not (out / "ann.keras").exists()  # only a Keras 3 model file is kept for the ANN
    assert simulate(net, mnist.test_images[:4], 8).counts.shape == (4, 10)
    # the ANN backend runs the Keras 2 files as the numpy ANN: same classes as Keras
    capsys.readouterr()
    assert main(["evaluate", str(out), "--dataset", "mnist", "--backend", "ann", "--limit", "50",
                 "--json", "--quiet"]) == 0
    figures = json.loads(capsys.readouterr().out)
    expected = keras_predict(model, mnist.test_images[:50]).argmax(axis=1)
    assert figures["accuracy"] == float((expected == mnist.test_labels[:50]).mean())
    files.weights.unlink()
    assert main(["evaluate", str(out), "--dataset", "mnist", "--backend", "ann", "--limit", "5",
                 "--quiet"]) == 2
    assert "no longer there" in capsys.readouterr().err
