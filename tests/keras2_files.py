"""Keras 2 (tf.keras) and QKeras model files, written from Keras 3 models with h5py.

The layout is the one tf-keras 2.x and QKeras 0.9 write (compared against files saved by
tf-keras 2.21 and QKeras 0.9.0):

* ``model.to_json()``: ``{"class_name": "Sequential"|"Functional", "config": {...},
  "keras_version": "2.x", "backend": "tensorflow"}``; layer configs with ``"dtype":
  "float32"``, InputLayer ``batch_input_shape``, BatchNormalization ``axis: [rank]``;
  Functional layers with ``inbound_nodes: [[[parent, 0, 0, {}]]]``; very old Keras 2 wrote
  a Sequential's config as a bare list of layers;
* ``model.save_weights('w.h5')``: root attributes ``layer_names``, ``backend``,
  ``keras_version``; per layer a group with attribute ``weight_names``
  (``['conv/kernel:0', 'conv/bias:0']``) and the datasets at those paths;
* ``model.save('m.h5')``: the same under ``model_weights`` and the JSON in the file's
  ``model_config`` attribute;
* QKeras: ``QConv2D``/``QDense`` configs with ``kernel_quantizer``/``bias_quantizer``
  dicts (``{"class_name": "quantized_bits", "config": {...}}``) or strings, and
  ``QActivation`` with ``"activation": "quantized_relu(4,0)"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

KERAS_VERSION = "2.13.1"


@dataclass
class Keras2Files:
    json: Path
    weights: Path
    full: Path


def quantized_relu_spec(levels: int, cap: float) -> str:
    """The ``quantized_relu(bits, integer)`` string whose levels and cap these are."""
    bits = int(levels + 1).bit_length() - 1
    if 2**bits - 1 != levels:
        raise ValueError(f"{levels} levels is not 2**bits - 1")
    integer = bits + int(np.log2(cap / levels))
    if levels * 2.0 ** (integer - bits) != cap:
        raise ValueError(f"cap {cap} is not {levels} * 2**(integer - bits)")
    return f"quantized_relu({bits},{integer})"


def _layer_entry(layer: Any, overrides: dict[str, dict[str, Any]], module: bool
                 ) -> dict[str, Any]:
    class_name = type(layer).__name__
    config = dict(layer.get_config())
    config["dtype"] = "float32"
    if class_name == "InputLayer":
        config = {"batch_input_shape": [None, *config["batch_shape"][1:]], "dtype": "float32",
                  "sparse": False, "ragged": False, "name": layer.name}
    if class_name == "BatchNormalization":
        rank = len(layer.input.shape) - 1
        config["axis"] = [rank if config["axis"] == -1 else config["axis"]]
    if class_name == "ClipFloor":  # written as the QKeras activation it equals
        cap = float(np.asarray(layer.get_weights()[0]))
        class_name = "QActivation"
        config = {"name": layer.name, "trainable": True, "dtype": "float32",
                  "activation": quantized_relu_spec(config["levels"], cap)}
    override = dict(overrides.get(layer.name, {}))
    class_name = override.pop("class_name", class_name)
    config.update(override)
    entry: dict[str, Any] = {"class_name": class_name, "config": config}
    if module:
        entry = {"module": "keras.layers", **entry, "registered_name": None}
    return entry


def _inbound(layer: Any) -> list[Any]:
    """Keras 2 ``inbound_nodes``: per call of the layer, ``[[parent, node, tensor, {}]]``."""
    return [[[parent.operation.name, 0, 0, {}] for parent in node.parent_nodes]
            for node in layer._inbound_nodes if node.parent_nodes]


def architecture(model: Any, *, functional: bool = False, bare_list: bool = False,
                 overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Keras 2 ``model.to_json()`` dict of a Keras 3 model; ``overrides`` maps a layer
    name to config entries to set, and optionally its ``class_name`` (``QConv2D``, ...)."""
    overrides = overrides or {}
    module = not bare_list  # old Keras 2 (bare-list Sequential) had no "module" keys
    layers = [_layer_entry(layer, overrides, module) for layer in model.layers]
    input_name = model.inputs[0]._keras_history.operation.name
    if functional:  # model.layers starts with the InputLayer
        entries = [entry | {"name": layer.name, "inbound_nodes": _inbound(layer)}
                   for layer, entry in zip(model.layers, layers, strict=True)]
        config = {"name": model.name, "trainable": True, "layers": entries,
                  "input_layers": [[input_name, 0, 0]],
                  "output_layers": [[model.layers[-1].name, 0, 0]]}
        return {"class_name": "Functional", "config": config,
                "keras_version": KERAS_VERSION, "backend": "tensorflow"}
    shape = [None, *model.inputs[0].shape[1:]]
    if bare_list:  # no InputLayer; the first layer carries batch_input_shape
        layers[0]["config"]["batch_input_shape"] = shape
        return {"class_name": "Sequential", "config": layers, "keras_version": "2.2.4",
                "backend": "tensorflow"}
    input_entry = {"module": "keras.layers", "class_name": "InputLayer", "config": {
        "batch_input_shape": shape, "dtype": "float32", "sparse": False, "ragged": False,
        "name": input_name}, "registered_name": None}
    return {"class_name": "Sequential", "config": {"name": model.name,
                                                   "layers": [input_entry, *layers]},
            "keras_version": KERAS_VERSION, "backend": "tensorflow"}


def _write_weight_groups(group: h5py.Group, model: Any) -> None:
    names = [layer.name for layer in model.layers]  # a Functional's starts with its input
    group.attrs["layer_names"] = np.array(names, dtype=object)
    group.attrs["backend"], group.attrs["keras_version"] = "tensorflow", KERAS_VERSION
    for name in names:
        layer_group = group.create_group(name)
        weight_names = []
        layer = model.get_layer(name)
        if type(layer).__name__ != "ClipFloor":  # QActivation has no weights
            for variable, value in zip(layer.weights, layer.get_weights(), strict=True):
                path = f"{name}/{variable.name}:0"
                layer_group.create_dataset(path, data=np.asarray(value, np.float32))
                weight_names.append(path)
        layer_group.attrs["weight_names"] = (np.array(weight_names, dtype=object)
                                             if weight_names else np.array([]))
    group.create_group("top_level_model_weights").attrs["weight_names"] = np.array([])


def write_keras2(model: Any, directory: Path, *, functional: bool = False,
                 bare_list: bool = False, overrides: dict[str, dict[str, Any]] | None = None
                 ) -> Keras2Files:
    """``model.to_json()``, ``save_weights`` and ``save`` of ``model`` as Keras 2 wrote them."""
    directory.mkdir(parents=True, exist_ok=True)
    arch = json.dumps(architecture(model, functional=functional, bare_list=bare_list,
                                   overrides=overrides))
    files = Keras2Files(directory / "model.json", directory / "model_weights.h5",
                        directory / "model_full.h5")
    files.json.write_text(arch)
    with h5py.File(files.weights, "w") as h5:
        _write_weight_groups(h5, model)
    with h5py.File(files.full, "w") as h5:
        h5.attrs["model_config"] = arch
        h5.attrs["backend"], h5.attrs["keras_version"] = "tensorflow", KERAS_VERSION
        _write_weight_groups(h5.create_group("model_weights"), model)
    return files
