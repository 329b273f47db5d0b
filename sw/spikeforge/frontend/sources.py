"""Where models come from: every source yields the same layer records.

* a live Keras 3 model, or a ``.keras`` file loaded by Keras 3;
* a Keras 2 (or QKeras) JSON architecture with its H5 weights file, read with h5py;
* a full-model H5 file (Keras 2, QKeras, or Keras 3's legacy ``model.save('m.h5')``),
  read with h5py;
* a Keras 3 JSON architecture with a Keras 3 ``.weights.h5`` file, loaded by Keras 3 (its
  weights are stored by position, which only Keras knows how to name).

Only Keras 3 models need Keras installed; Keras 2 and QKeras files never need Keras 2 or
QKeras.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFileError
from .h5files import h5_kind, read_model_config, read_weights
from .topology import Architecture, parse_architecture

KERAS_SUFFIXES = (".keras",)
H5_SUFFIXES = (".h5", ".hdf5")
JSON_SUFFIXES = (".json",)


def _with_weights(
    arch: Architecture, weights: dict[str, dict[str, np.ndarray]], source: str
) -> Architecture:
    for layer in arch.layers:
        layer.weights = weights.get(layer.name, {})
    arch.source = source
    return arch


def _variable_name(variable: Any) -> str:
    return str(variable.name).split("/")[-1].split(":")[0]


def records_from_keras(model: Any) -> Architecture:
    """The layer records of a built Keras 3 (or tf.keras) model object."""
    try:
        arch = {"class_name": type(model).__name__, "config": model.get_config()}
    except NotImplementedError as err:
        raise ModelFileError(
            f"model '{model.name}' cannot describe its architecture ({err}); build it as a "
            "Sequential or Functional model"
        ) from err
    parsed = parse_architecture(arch)
    weights = {}
    for layer in parsed.layers:
        keras_layer = model.get_layer(layer.name)
        weights[layer.name] = {
            _variable_name(v): np.asarray(value)
            for v, value in zip(keras_layer.weights, keras_layer.get_weights(), strict=True)
        }
    return _with_weights(parsed, weights, "Keras 3 model")


def load_keras_model(path: Path) -> Any:
    """Load a ``.keras`` (or Keras 3 legacy ``.h5``) model with Keras 3, without compiling."""
    import keras

    from .. import keras_layers  # noqa: F401  (registers ClipFloor for deserialization)

    if not Path(path).is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError, TypeError) as err:
        raise ModelFileError(
            f"{path} is not a Keras model file Keras 3 can load ({err}); save it with "
            "model.save('model.keras')"
        ) from err


def _keras3_json_with_weights(model_path: Path, weights_path: Path) -> Architecture:
    import keras

    from .. import keras_layers  # noqa: F401

    try:
        model = keras.models.model_from_json(model_path.read_text())
        model.load_weights(weights_path)
    except (ValueError, TypeError, KeyError) as err:
        raise ModelFileError(
            f"Keras 3 could not build {model_path} with the weights {weights_path} ({err})"
        ) from err
    arch = records_from_keras(model)
    arch.source = "Keras 3 JSON + .weights.h5"
    return arch


def _json_architecture(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is not a JSON model architecture ({err})") from err


def _version(arch: dict[str, Any]) -> str:
    version = str(arch.get("keras_version", ""))
    keras3 = version.startswith("3") or (not version and "module" in arch)
    return "Keras 3" if keras3 else "Keras 2"


def read_model(path: Path, weights: Path | None = None) -> Architecture:
    """The layer records of the model in ``path`` (and ``weights`` for a JSON architecture)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        if weights is None:
            raise ModelFileError(
                f"{path} is an architecture without weights: pass its weights file with "
                "--weights (the H5 file written by model.save_weights)"
            )
        arch = _json_architecture(path)
        parsed = parse_architecture(arch)
        if h5_kind(weights) == "keras3-weights":
            return _keras3_json_with_weights(path, Path(weights))
        return _with_weights(parsed, read_weights(weights), f"{_version(arch)} JSON + H5 weights")
    if weights is not None:
        raise ModelFileError(
            f"--weights is for JSON architectures; {path.name} already holds its weights"
        )
    if suffix in H5_SUFFIXES:
        arch = read_model_config(path)
        parsed = parse_architecture(arch)
        return _with_weights(parsed, read_weights(path), f"{_version(arch)} full-model H5")
    if suffix in KERAS_SUFFIXES:
        return records_from_keras(load_keras_model(path))
    raise ModelFileError(
        f"{path}: unknown model file type '{suffix}'; spikeforge reads .keras (Keras 3), "
        ".h5 (a full Keras 2/3 model) and .json architectures with --weights FILE.h5"
    )
