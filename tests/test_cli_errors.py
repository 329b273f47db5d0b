"""Expected failures end in exit 2 with the problem and the fix, never in a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from spikeforge.cli import main
from test_datasets import write_idx_dir


@pytest.mark.parametrize("backend", ["golden", "float"])
def test_evaluate_refuses_timesteps_above_the_network_maximum(tiny_net, capsys, backend):
    assert main(["evaluate", str(tiny_net), "--dataset", "mnist", "--backend", backend,
                 "--timesteps", "256", "--limit", "5", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--timesteps 256" in err and "1 .. 255" in err and "--max-timesteps" in err


def test_evaluate_refuses_labels_outside_the_network_classes(tiny_net, tmp_path, capsys):
    data = tmp_path / "idx"
    arrays = write_idx_dir(data, n_train=4, n_test=6, side=28)
    labels = arrays["t10k-labels-idx1-ubyte"]
    labels[2] = 12
    (data / "t10k-labels-idx1-ubyte").write_bytes(
        bytes([0, 0, 8, 1]) + len(labels).to_bytes(4, "big") + labels.astype(np.uint8).tobytes()
    )
    assert main(["evaluate", str(tiny_net), "--dataset", str(data), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "(e.g. 12) are outside 0 .. 9" in err and "the dataset the network was trained" in err


def padded_average_model():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((7, 7, 1)),
        layers.Conv2D(2, 3, activation="relu", name="conv"),
        layers.AveragePooling2D(2, strides=2, padding="same", name="ap"),
        layers.Flatten(),
        layers.Dense(3, name="out"),
    ])


def test_a_padded_average_pool_is_refused_by_convert_as_by_inspect(tmp_path, capsys):
    path = tmp_path / "ap.keras"
    padded_average_model().save(path)
    data = tmp_path / "idx"
    write_idx_dir(data, n_train=8, n_test=4, side=7)
    assert main(["inspect", str(path)]) == 2
    inspected = capsys.readouterr().out
    assert main(["convert", str(path), "--dataset", str(data), "--out", str(tmp_path / "net"),
                 "--quiet"]) == 2
    converted = capsys.readouterr().err
    for err in (inspected, converted):
        assert "'ap'" in err and "padding='same'" in err and "use padding='valid'" in err
    assert not (tmp_path / "net").exists()


def test_the_numpy_ann_averages_border_windows_as_keras_does(rng):
    from spikeforge.ann_numpy import predict
    from spikeforge.frontend.keras_model import keras_to_graph

    model = padded_average_model()
    images = rng.integers(0, 256, (5, 7, 7, 1), dtype=np.uint8)
    expected = model.predict(images.astype(np.float32) / 255.0, verbose=0)
    got = predict(keras_to_graph(model), images)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_a_file_system_refusal_is_an_error_not_a_traceback(tiny_net, capsys):
    assert main(["package", str(tiny_net), "--no-bitstream", "--out", "/proc/sf-bundle",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--out /proc/sf-bundle: cannot create a directory beside it" in err
    assert "choose a writable location" in err


def copy_net(tiny_net, tmp_path):
    import shutil

    net = tmp_path / "net"
    shutil.copytree(tiny_net, net)
    return net


def test_swapped_integer_and_float_files_are_refused(tiny_net, tmp_path, capsys):
    net = copy_net(tiny_net, tmp_path)
    for suffix in (".json", ".npz"):
        (net / f"snn{suffix}").write_bytes((net / f"snn_float{suffix}").read_bytes())
    assert main(["evaluate", str(net), "--dataset", "mnist", "--limit", "5", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "snn.json holds the float network, not the integer one" in err
    assert "convert the model again" in err


def test_a_broken_conversion_record_costs_the_agreement_not_the_run(tiny_net, tmp_path, capsys):
    import json

    net = copy_net(tiny_net, tmp_path)
    (net / "ann.keras").unlink()  # the ANN then comes from the recorded source model
    record = json.loads((net / "conversion.json").read_text())
    del record["model"]
    (net / "conversion.json").write_text(json.dumps(record))
    args = ["evaluate", str(net), "--dataset", "mnist", "--limit", "5", "--quiet", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["agreement"] is None
    assert "agreement with the ANN not measured" in captured.err
    assert "field 'model' is missing" in captured.err
    assert main([*args, "--backend", "ann"]) == 2
    assert "field 'model' is missing or not a str; convert the model again" in (
        capsys.readouterr().err)


@pytest.mark.parametrize("manifest", ["{not json", '{"bundle_version": 1}', "[1, 2]"])
def test_a_corrupt_bundle_manifest_is_refused(tiny_net, tmp_path, manifest):
    from spikeforge.driver.bundle import Bundle
    from spikeforge.driver.errors import DriverError

    out = tmp_path / "bundle"
    assert main(["package", str(tiny_net), "--no-bitstream", "--out", str(out), "-q"]) == 0
    (out / "manifest.json").write_text(manifest)
    with pytest.raises(DriverError, match=r"package (it|the bundle) again"):
        Bundle.open(out)
