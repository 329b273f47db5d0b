"""The CLI's error messages name the problem and the fix (exit 2, no traceback, no dump of
Keras internals), and commands that load TensorFlow print none of its C++ log lines."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras2_files import write_keras2
from keras_builders import sequential
from spikeforge.cli import main
from test_datasets import write_idx_dir


def _layers():
    from keras import layers

    return layers


def _tiny(name: str = "c1", filters: int = 2, units: int = 3, extra=()):
    L = _layers()
    return sequential((6, 6, 1), [L.Conv2D(filters, 3, activation="relu", name=name), *extra,
                                  L.Flatten(name="f"), L.Dense(units, name="d")])


def error_of(capsys, argv: list[str]) -> str:
    """The one error line of a command that must exit 2."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip()


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    _tiny(units=10).save(path)  # 10 classes: the labels of write_idx_dir
    return path


# --- 1: a .keras file that is not a readable archive ----------------------------------


@pytest.mark.parametrize("damage", ["empty", "truncated", "corrupt member"])
def test_unreadable_keras_archive(tmp_path, capsys, saved_model, damage):
    raw = bytearray(saved_model.read_bytes())
    if damage == "empty":
        raw = bytearray()
    elif damage == "truncated":
        raw = raw[: len(raw) // 2]
    else:  # a zip whose directory is intact but whose weights are damaged
        raw[len(raw) // 2 : len(raw) // 2 + 64] = b"\xff" * 64
    path = tmp_path / "model.keras"
    path.write_bytes(bytes(raw))
    message = error_of(capsys, ["inspect", str(path)])
    assert message.startswith(f"spikeforge inspect: error: {path} is not a readable Keras archive")
    assert "File not found" not in message
    assert {"empty": "an empty file", "truncated": "truncated or corrupt",
            "corrupt member": "model.weights.h5 inside it is corrupt"}[damage] in message
    assert message.endswith("save the model again with model.save('model.keras')")


def test_zip_that_is_not_a_keras_archive(tmp_path, capsys):
    import zipfile

    path = tmp_path / "notes.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    message = error_of(capsys, ["inspect", str(path)])
    assert "is a zip file but not a Keras archive (no model config.json)" in message
    assert "model.save('notes.keras')" in message


# --- 2: Lambda layers and custom classes -------------------------------------------------


def test_lambda_layer_in_a_keras_archive(tmp_path, capsys):
    L = _layers()
    path = tmp_path / "lambda.keras"
    _tiny(extra=[L.Lambda(lambda x: 2 * x, name="double")]).save(path)
    message = error_of(capsys, ["inspect", str(path)])
    assert "layer 'double' (Lambda): Python code in a Lambda layer is not supported" in message
    assert "remove or replace the Lambda layer 'double' with standard layers" in message
    assert "model.save('model.keras')" not in message and "safe_mode" not in message


def test_lambda_layer_in_a_keras2_model(tmp_path, capsys):
    L = _layers()
    files = write_keras2(_tiny(extra=[L.Lambda(lambda x: 2 * x, name="double")]), tmp_path)
    assert main(["inspect", str(files.json), "--weights", str(files.weights)]) == 2
    out = capsys.readouterr().out
    assert "refused: layer 'double' (Lambda)" in out
    assert "remove or replace the Lambda layer 'double' with standard layers" in out


def _custom_layer(name: str):
    """A custom layer class registered as ``spikeforge_test>name`` (for saving it)."""
    import keras

    cls = type(name, (keras.layers.Layer,), {"call": lambda self, x: x})
    return keras.saving.register_keras_serializable(package="spikeforge_test")(cls)


def test_custom_classes_keras_cannot_find(tmp_path, capsys):
    import keras

    path = tmp_path / "custom.keras"
    _tiny(extra=[_custom_layer("Scale")(name="scale"), _custom_layer("Shift")(name="shift")]
          ).save(path)
    for name in ("Scale", "Shift"):  # forgotten: what a fresh process loading the file sees
        keras.saving.get_custom_objects().pop(f"spikeforge_test>{name}")
    message = error_of(capsys, ["inspect", str(path)])
    assert "uses custom classes Keras cannot find: Scale (layer 'scale'), Shift (layer " \
           "'shift')" in message
    assert "replace them with standard layers" in message
    assert "config=" not in message and "model.save('model.keras')" not in message
    assert len(message.replace(str(tmp_path), "")) < 250  # names the classes, dumps nothing


# --- 3: weights that do not fit the architecture -----------------------------------------


def test_keras2_weights_of_another_shape(tmp_path, capsys):
    files = write_keras2(_tiny(filters=2), tmp_path / "a")
    other = write_keras2(_tiny(filters=5), tmp_path / "b")
    message = error_of(capsys, ["inspect", str(files.json), "--weights", str(other.weights)])
    assert message.endswith(
        "layer 'c1' (Conv2D): the weights file holds 'kernel' of shape (3, 3, 1, 5), the "
        "architecture expects (3, 3, 1, 2); pass the weights file saved with this architecture"
    )


def test_keras2_dense_weights_of_another_shape(tmp_path, capsys):
    files = write_keras2(_tiny(units=3), tmp_path / "a")
    other = write_keras2(_tiny(units=4), tmp_path / "b")
    message = error_of(capsys, ["inspect", str(files.json), "--weights", str(other.weights)])
    assert "layer 'd' (Dense): the weights file holds 'kernel' of shape (32, 4), the " \
           "architecture expects (32, 3)" in message


def test_keras3_weights_of_another_shape(tmp_path, capsys):
    model, wider = _tiny(filters=2), _tiny(filters=64)
    arch = tmp_path / "model.json"
    arch.write_text(model.to_json())
    weights = tmp_path / "wider.weights.h5"
    wider.save_weights(weights)
    message = error_of(capsys, ["inspect", str(arch), "--weights", str(weights)])
    assert "layer 'c1' kernel has shape (3, 3, 1, 64) there, the architecture expects " \
           "(3, 3, 1, 2)" in message
    assert "(the weights of 'd' do not fit either)" in message
    assert "pass the weights file saved with this architecture" in message
    assert "value=" not in message
    assert len(message.replace(str(tmp_path), "")) < 300  # names the problem, dumps nothing


# --- 4, 5: datasets ---------------------------------------------------------------------


def test_missing_dataset_directory(tmp_path, capsys, saved_model):
    message = error_of(capsys, ["convert", str(saved_model), "--dataset", "/no/such/dir",
                                "--out", str(tmp_path / "net")])
    assert "dataset directory /no/such/dir does not exist" in message
    assert "unknown dataset" not in message
    assert "'mnist', 'cifar10:DIR', a directory of MNIST-layout IDX files" in message


def test_evaluate_needs_only_the_test_split(tmp_path, capsys, saved_model):
    full, test_only = tmp_path / "full", tmp_path / "test-only"
    write_idx_dir(full, n_train=40, n_test=7)
    write_idx_dir(test_only, n_train=1, n_test=7, gz=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (test_only / f"{stem}.gz").unlink()
    net = tmp_path / "net"
    assert main(["convert", str(saved_model), "--dataset", str(full), "--out", str(net),
                 "--calibration", "40", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(net), "--dataset", str(test_only), "--quiet"]) == 0
    assert "on 7 inputs" in capsys.readouterr().out

    from spikeforge.cli.common import test_split

    args = argparse.Namespace(net=net, dataset=str(test_only), quiet=True)
    images, labels = test_split(args, 5)
    assert images.shape == (5, 6, 6, 1) and labels.shape == (5,)

    message = error_of(capsys, ["convert", str(saved_model), "--dataset", str(test_only),
                                "--out", str(tmp_path / "net2"), "--quiet"])
    assert "train-images-idx3-ubyte (or train-images-idx3-ubyte.gz) is missing" in message
    assert "the training split (convert and train read it)" in message


# --- 6: TensorFlow's log lines ----------------------------------------------------------


def test_tf_env_silences_tensorflow_unless_asked(monkeypatch):
    from spikeforge import tf_env

    for name in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS"):
        monkeypatch.setenv(name, "unset")  # recorded, so restored after the test
        monkeypatch.delenv(name)
    monkeypatch.setenv("SPIKEFORGE_TF_LOGS", "1")
    importlib.reload(tf_env)
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    monkeypatch.delenv("SPIKEFORGE_TF_LOGS")
    importlib.reload(tf_env)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")  # the user's own choice stands
    importlib.reload(tf_env)
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"


TF_LOG_MARKERS = ("absl::InitializeLog", "cpu_feature_guard", "oneDNN", "TensorFlow binary",
                  "rebuild TensorFlow", "I0000 ", "W0000 ", "E0000 ")


def test_cli_prints_no_tensorflow_logs(saved_model):
    """``spikeforge inspect`` in a fresh process, without the TensorFlow settings of the
    test session (conftest sets TF_CPP_MIN_LOG_LEVEL)."""
    env = {k: v for k, v in os.environ.items() if k not in (
        "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "SPIKEFORGE_TF_LOGS")}
    command = Path(sys.executable).with_name("spikeforge")
    done = subprocess.run([str(command), "inspect", str(saved_model)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "converts: 2 IF layers" in done.stdout
    noise = [line for line in done.stderr.splitlines() if any(m in line for m in TF_LOG_MARKERS)]
    assert noise == []
