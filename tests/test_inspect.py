"""``spikeforge inspect`` tells the whole truth: every layer checked, every refusal named
in one run, and what it says about BatchNorm is what ``convert``'s fold pass does."""

from __future__ import annotations

import pytest

from keras2_files import write_keras2
from keras_builders import sequential
from spikeforge.cli import main
from spikeforge.frontend import UnsupportedLayerError
from spikeforge.frontend.graph import load_graph
from spikeforge.frontend.inspect import inspect_model
from spikeforge.passes.batchnorm import fold_batchnorm
from spikeforge.passes.canonical import drop_dropout


def _layers():
    from keras import layers

    return layers


def _maps(path, weights=None) -> dict[str, str]:
    """What inspect says each layer maps to (the table's last column, unwrapped)."""
    return {row.name: row.maps_to for row in inspect_model(path, weights).rows}


def _inspect(capsys, path, weights=None) -> tuple[int, str]:
    args = ["inspect", str(path)] + (["--weights", str(weights)] if weights else [])
    status = main(args)
    return status, capsys.readouterr().out


def test_two_unsupported_layers_are_both_named_in_one_run(tmp_path, capsys):
    L = _layers()
    model = sequential((10, 10, 1), [
        L.Conv2D(3, 3, name="c1"), L.LeakyReLU(name="lrelu"),
        L.Conv2D(3, 3, dilation_rate=2, activation="relu", name="dilated"),
        L.Conv2D(2, 1, activation="relu", name="c3"), L.Flatten(name="f"),
        L.Dense(2, name="out")])
    files = write_keras2(model, tmp_path)
    status, out = _inspect(capsys, files.full)
    maps = _maps(files.full)
    assert status == 2
    assert "refused: layer 'lrelu' (LeakyReLU) is not supported" in maps["lrelu"]
    assert "refused: layer 'dilated' (Conv2D): dilation_rate=" in maps["dilated"]
    assert "use dilation 1" in maps["dilated"]
    # the layers after the refusals are still checked, with their real shapes
    assert "IF conv 1x1/1x1 pads 0x0x0x0" in maps["c3"]
    assert "IF dense 32->2" in maps["out"]
    verdict = out[out.index("refused: 2 problems:"):].splitlines()
    assert verdict[1].startswith("- layer 'lrelu' (LeakyReLU)")
    assert verdict[2].startswith("- layer 'dilated' (Conv2D)")


def test_a_batchnorm_convert_refuses_is_refused_by_inspect_with_convert_s_words(tmp_path,
                                                                                  capsys):
    L = _layers()
    model = sequential((8, 8, 1), [
        L.Conv2D(2, 3, activation="relu", name="c1"), L.BatchNormalization(name="bn_pad"),
        L.Conv2D(2, 3, padding="same", activation="relu", name="padded"), L.Flatten(name="f"),
        L.Dense(2, name="out")])
    files = write_keras2(model, tmp_path)
    with pytest.raises(UnsupportedLayerError) as convert_error:  # what convert runs
        fold_batchnorm(drop_dropout(load_graph(files.full)))
    status, out = _inspect(capsys, files.full)
    maps = _maps(files.full)
    assert status == 2
    words = " ".join(str(convert_error.value).split())
    assert f"refused: {words}" in maps["bn_pad"]
    assert out.rstrip().splitlines()[-1] == f"refused: {convert_error.value}"
    assert "use padding='valid' in 'padded'" in words


def test_every_batchnorm_refusal_is_named_and_the_others_fold(tmp_path, capsys):
    L = _layers()
    model = sequential((8, 8, 1), [
        L.BatchNormalization(name="bn_in"), L.Conv2D(3, 3, activation="relu", name="c1"),
        L.BatchNormalization(name="bn_pad"),
        L.Conv2D(3, 3, padding="same", activation="relu", name="padded"),
        L.BatchNormalization(name="bn_end"), L.Flatten(name="f"), L.Dense(4, name="d"),
        L.ReLU(name="r"), L.BatchNormalization(name="bn_last")], seed=2)
    files = write_keras2(model, tmp_path)
    status, out = _inspect(capsys, files.full)
    maps = _maps(files.full)
    assert status == 2
    assert "folded exactly into a neighbouring Conv2D/Dense: 'c1' after it" in maps["bn_in"]
    assert "refused: layer 'bn_pad' (BatchNormalization)" in maps["bn_pad"]
    assert "folded exactly into a neighbouring Conv2D/Dense: 'd' after it" in maps["bn_end"]
    assert "refused: layer 'bn_last' (BatchNormalization)" in maps["bn_last"]
    assert "refused: 2 problems:" in out


def test_a_batchnorm_that_folds_says_where(tmp_path, capsys):
    L = _layers()
    model = sequential((9, 9, 2), [
        L.Conv2D(3, 3, name="c1"), L.BatchNormalization(name="bn_after"), L.ReLU(name="r1"),
        L.BatchNormalization(name="bn_before"), L.MaxPooling2D(2, name="mp"),
        L.Conv2D(3, 3, activation="relu", name="c2"), L.Flatten(name="f"),
        L.Dense(2, name="out")], seed=4)
    for layer in model.layers:  # positive scales: the second BN moves past the max-pool
        if layer.name == "bn_before":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([abs(gamma), beta, mean, var])
    path = tmp_path / "bn.keras"
    model.save(path)
    status, out = _inspect(capsys, path)
    maps = _maps(path)
    assert status == 0
    assert ("folded exactly into a neighbouring Conv2D/Dense: 'c1' before it (its weights and "
            "biases)") in maps["bn_after"]
    assert "'c2' after it (its weights per input channel, and biases)" in maps["bn_before"]
    assert out.rstrip().splitlines()[-1].startswith("converts: 3 IF layers")


def test_a_batchnorm_next_to_a_refused_layer_is_not_decided(tmp_path, capsys):
    L = _layers()
    model = sequential((8, 8, 1), [
        L.Conv2D(2, 3, name="c1"), L.BatchNormalization(name="bn"), L.ELU(name="elu"),
        L.Flatten(name="f"), L.Dense(2, name="out")])
    files = write_keras2(model, tmp_path)
    status, out = _inspect(capsys, files.full)
    maps = _maps(files.full)
    assert status == 2
    assert "folded exactly into a neighbouring Conv2D/Dense: 'c1' before it" in maps["bn"]
    model = sequential((8, 8, 1), [
        L.Conv2D(2, 3, activation="relu", name="c1"), L.BatchNormalization(name="bn"),
        L.ELU(name="elu"), L.Flatten(name="f"), L.Dense(2, name="out")])
    files = write_keras2(model, tmp_path / "2")
    status, out = _inspect(capsys, files.full)
    maps = _maps(files.full)
    assert status == 2
    assert "not decided: a layer next to it is refused" in maps["bn"]
    assert out.rstrip().splitlines()[-1].startswith("refused: layer 'elu' (ELU)")


def test_the_input_shape_is_judged_after_the_layers(tmp_path, capsys):
    L = _layers()
    model = sequential((None, None, 1), [
        L.Conv2D(2, 3, name="c1"), L.LeakyReLU(name="lrelu"),
        L.Conv2D(3, 1, activation="relu", name="c2")])
    files = write_keras2(model, tmp_path)
    status, out = _inspect(capsys, files.full)
    maps = _maps(files.full)
    assert status == 2
    assert out.splitlines()[0].endswith("input refused (see the verdict; the layers are "
                                        "checked all the same)")
    assert "refused: layer 'lrelu' (LeakyReLU) is not supported" in maps["lrelu"]
    assert maps["c2"] == ("IF conv 1x1/1x1 pads ?; neuron activation: ReLU (checked without its "
                          "input shape: the model's input shape is refused)")
    lines = out.rstrip().splitlines()
    assert lines[-2].startswith("- layer 'lrelu' (LeakyReLU)")
    assert lines[-1].startswith("- model 'test_model' has input shape (None, None, 1)")


def test_inspect_model_returns_the_rows_and_the_verdict(tmp_path):
    L = _layers()
    model = sequential((6, 6, 1), [L.Conv2D(2, 3, activation="relu", name="c1"),
                                   L.Flatten(name="f"), L.Dense(2, name="out")])
    files = write_keras2(model, tmp_path)
    report = inspect_model(files.json, files.weights)
    assert report.ok and report.input_problem is None
    assert [row.name for row in report.rows] == ["c1", "f", "out"]
    assert report.rows[0].out_shape == (4, 4, 2)
    assert report.verdict.startswith("converts: 2 IF layers")
