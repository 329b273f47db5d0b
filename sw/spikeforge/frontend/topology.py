"""A Keras model architecture (the JSON config dict) as one path of layers, input first.

Reads every config layout spikeforge meets, without Keras: Keras 2 (``tf.keras``,
including QKeras models) and Keras 3, Sequential (the old bare list of layers too) and
Functional (``Model``) graphs, whose ``inbound_nodes`` are lists of
``[name, node, tensor, kwargs]`` in Keras 2 and ``{"args": [keras tensors]}`` in Keras 3.
A graph that branches, merges, shares a layer or nests a model is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ir
from ..errors import UnsupportedLayerError, refuse
from .errors import ModelFileError

_MODEL_CLASSES = ("Sequential", "Functional", "Model")


@dataclass
class LayerRecord:
    """One layer as every source gives it: class name, config dict, weights by variable
    name (``kernel``, ``bias``, ``gamma``, ``moving_mean``, ...)."""

    name: str
    class_name: str
    config: dict[str, Any]
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Architecture:
    name: str
    input_shape: ir.Shape  # without the batch axis
    layers: list[LayerRecord]  # input to output, InputLayer left out
    source: str = "Keras model"  # what was read, for messages and ``spikeforge inspect``


def _layer_config(entry: dict[str, Any]) -> LayerRecord:
    config = entry.get("config") or {}
    name = config.get("name") or entry.get("name")
    class_name = entry.get("class_name")
    if not isinstance(name, str) or not isinstance(class_name, str):
        raise ModelFileError(f"a layer entry without a name or class_name: {str(entry)[:200]}")
    return LayerRecord(name, class_name, config)


def _shape_of(config: dict[str, Any]) -> list[Any] | None:
    for key in ("batch_input_shape", "batch_shape"):
        if config.get(key) is not None:
            return list(config[key])[1:]
    return None


INPUT_KINDS = ("feature vectors (N,), sequences (length, channels), images (height, width, "
               "channels) and one-channel images (height, width)")


def _fixed_shape(model: str, shape: list[Any]) -> ir.Shape:
    """The model's input shape without the batch axis: (N,), (L, C) or (H, W), (H, W, C).

    A 2-D input is a sequence or a one-channel image; the layers after it say which
    (a Conv1D reads (L, C), a Reshape to (H, W, 1) makes an image)."""
    if any(d is None for d in shape):
        raise UnsupportedLayerError(
            f"model '{model}' has input shape {tuple(shape)}: give every input dimension a "
            "size (the hardware streams a fixed number of input elements)"
        )
    if not 1 <= len(shape) <= 3:
        raise UnsupportedLayerError(
            f"model '{model}' has input shape {tuple(shape)}: spikeforge reads {INPUT_KINDS}; "
            "reshape the data to one of these before the model"
        )
    return tuple(int(d) for d in shape)


def _refuse_nested(layer: LayerRecord) -> None:
    if layer.class_name in _MODEL_CLASSES:
        raise refuse(
            layer.name,
            layer.class_name,
            "a model nested inside the model",
            "rebuild it as one flat Sequential or Functional model of layers",
        )


def _sequential(name: str, config: Any) -> Architecture:
    entries = config if isinstance(config, list) else config.get("layers", [])
    layers = [_layer_config(entry) for entry in entries]
    shape = None
    if layers and layers[0].class_name == "InputLayer":
        shape = _shape_of(layers.pop(0).config)
    elif layers:
        shape = _shape_of(layers[0].config)
    if shape is None and isinstance(config, dict) and config.get("build_input_shape"):
        shape = list(config["build_input_shape"])[1:]
    if shape is None:
        raise UnsupportedLayerError(
            f"model '{name}' does not record its input shape: build it with an Input layer "
            "(keras.Input(shape), shape (N,), (L, C) or (H, W, C)) before saving"
        )
    for layer in layers:
        _refuse_nested(layer)
    return Architecture(name, _fixed_shape(name, shape), layers)


def _histories(value: Any) -> list[str]:
    """Names of the layers whose outputs a Keras 3 call argument refers to."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value["config"]["keras_history"][0]]
        return [name for item in value.values() for name in _histories(item)]
    if isinstance(value, list | tuple):
        return [name for item in value for name in _histories(item)]
    return []


def _parents(entry: dict[str, Any]) -> tuple[int, list[str]]:
    """(how many times the layer is called, the layers feeding its first call)."""
    nodes = entry.get("inbound_nodes") or []
    if not nodes:
        return 0, []
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3
        return len(nodes), _histories(node.get("args", [])) + _histories(node.get("kwargs", {}))
    return len(nodes), [inbound[0] for inbound in node]  # Keras 2: [[name, node, index, kw]]


def _endpoints(value: Any) -> list[str]:
    """Layer names in ``input_layers``/``output_layers`` ([n, 0, 0] or [[n, 0, 0], ...])."""
    if value and isinstance(value[0], str):
        return [value[0]]
    return [item[0] for item in value or []]


def _functional(name: str, config: dict[str, Any]) -> Architecture:
    entries = {_layer_config(e).name: e for e in config.get("layers", [])}
    inputs = _endpoints(config.get("input_layers"))
    outputs = _endpoints(config.get("output_layers"))
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedLayerError(
            f"model '{name}' has {len(inputs)} inputs and {len(outputs)} outputs: spikeforge "
            "converts models with one input and one class output; feed several inputs as one "
            "(concatenate the features, or stack them as channels) and keep one output"
        )
    path: list[LayerRecord] = []
    current = outputs[0]
    while current != inputs[0]:
        if current not in entries:
            raise ModelFileError(f"model '{name}': layer '{current}' is used but not defined")
        layer = _layer_config(entries[current])
        _refuse_nested(layer)
        calls, parents = _parents(entries[current])
        if calls > 1:
            raise refuse(layer.name, layer.class_name, f"a layer shared by {calls} calls",
                         "spikeforge converts single-path networks: give each call its own layer")
        if len(parents) != 1:
            raise refuse(
                layer.name,
                layer.class_name,
                f"it takes {len(parents)} inputs (a branch merges here)",
                "spikeforge converts single-path networks only",
            )
        path.append(layer)
        current = parents[0]
    input_layer = _layer_config(entries[inputs[0]])
    shape = _shape_of(input_layer.config)
    if shape is None:
        raise ModelFileError(f"model '{name}': input layer '{input_layer.name}' has no shape")
    used = {layer.name for layer in path} | {input_layer.name}
    unused = [n for n in entries if n not in used]
    if unused:
        raise refuse(
            unused[0],
            _layer_config(entries[unused[0]]).class_name,
            "a layer off the path from the input to the output (a branch)",
            "spikeforge converts single-path networks only",
        )
    return Architecture(name, _fixed_shape(name, shape), path[::-1])


def parse_architecture(arch: dict[str, Any]) -> Architecture:
    """The single path of layers of a model's JSON architecture (``model.to_json()``)."""
    if not isinstance(arch, dict) or "class_name" not in arch:
        raise ModelFileError("not a Keras model architecture: no top-level 'class_name'")
    class_name, config = arch["class_name"], arch.get("config") or {}
    name = config.get("name", "model") if isinstance(config, dict) else "model"
    if class_name == "Sequential":
        return _sequential(name, config)
    if class_name in ("Functional", "Model"):
        return _functional(name, config)
    raise UnsupportedLayerError(
        f"model '{name}' is a {class_name}: spikeforge reads Sequential and Functional "
        "models (a subclassed model has no architecture to read; rebuild it functionally)"
    )
