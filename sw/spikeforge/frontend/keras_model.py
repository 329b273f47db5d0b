"""Read a Keras 3 model into an :class:`~spikeforge.ir.AnnGraph`.

Only the layer configs and weight arrays are read; nothing is executed. A layer that the
spiking network cannot express is refused with :class:`UnsupportedLayerError`, naming the
layer, its type, the setting and what to change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import ir
from .errors import ModelFileError, UnsupportedLayerError, refuse


def load_keras_model(path: Path) -> Any:
    """Load a .keras/.h5 model file without compiling it."""
    import keras

    if not Path(path).is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError, TypeError) as err:
        raise ModelFileError(
            f"{path} is not a Keras model file Keras 3 can load ({err}); save it with "
            "model.save('model.keras')"
        ) from err


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def _activation_layers(name: str, activation: str, layer_type: str) -> list[ir.AnnLayer]:
    if activation == "linear":
        return []
    if activation == "relu":
        return [ir.ReLU(f"{name}/relu")]
    if activation == "softmax":
        return [ir.Softmax(f"{name}/softmax")]
    raise refuse(
        name,
        layer_type,
        f"activation '{activation}' has no integrate-and-fire equivalent",
        "use 'relu' on hidden layers and 'softmax' or 'linear' on the output",
    )


def _check_channels_last(name: str, layer_type: str, config: dict[str, Any]) -> None:
    if config.get("data_format", "channels_last") != "channels_last":
        raise refuse(name, layer_type, "data_format='channels_first'", "use channels_last")


def _padding(
    name: str, layer_type: str, padding: str, size: tuple[int, int], kernel, strides
) -> ir.Pads:
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return ir.same_pads(size, kernel, strides)
    raise refuse(name, layer_type, f"padding='{padding}'", "use 'valid' or 'same'")


def _conv(layer: Any, config: dict[str, Any], in_shape: ir.Shape) -> list[ir.AnnLayer]:
    name, kind = layer.name, type(layer).__name__
    _check_channels_last(name, kind, config)
    if _pair(config.get("dilation_rate", 1)) != (1, 1):
        raise refuse(name, kind, f"dilation_rate={config['dilation_rate']}", "use dilation 1")
    if config.get("groups", 1) != 1:
        raise refuse(name, kind, f"groups={config['groups']}", "use groups=1")
    weights = layer.get_weights()
    kernel = np.asarray(weights[0], dtype=np.float64)
    bias = np.asarray(weights[1], np.float64) if config["use_bias"] else np.zeros(kernel.shape[-1])
    strides = _pair(config["strides"])
    pads = _padding(name, kind, config["padding"], in_shape[:2], kernel.shape[:2], strides)
    conv = ir.Conv2D(name, kernel, bias, strides, pads)
    return [conv, *_activation_layers(name, config["activation"], kind)]


def _dense(layer: Any, config: dict[str, Any]) -> list[ir.AnnLayer]:
    weights = layer.get_weights()
    matrix = np.asarray(weights[0], dtype=np.float64)
    bias = np.asarray(weights[1], np.float64) if config["use_bias"] else np.zeros(matrix.shape[1])
    dense = ir.Dense(layer.name, matrix, bias)
    return [dense, *_activation_layers(layer.name, config["activation"], "Dense")]


def _pool(layer: Any, config: dict[str, Any], in_shape: ir.Shape) -> list[ir.AnnLayer]:
    name, kind = layer.name, type(layer).__name__
    _check_channels_last(name, kind, config)
    pool = _pair(config["pool_size"])
    strides = _pair(config["strides"] if config.get("strides") is not None else pool)
    pads = _padding(name, kind, config["padding"], in_shape[:2], pool, strides)
    cls = ir.MaxPool if kind == "MaxPooling2D" else ir.AvgPool
    return [cls(name, pool, strides, pads)]


def _batchnorm(layer: Any, config: dict[str, Any], rank: int) -> list[ir.AnnLayer]:
    axis = config["axis"]
    axis = axis[0] if isinstance(axis, list | tuple) and len(axis) == 1 else axis
    if axis not in (-1, rank):
        raise refuse(
            layer.name, "BatchNormalization", f"axis={config['axis']}", "normalize the last axis"
        )
    names = [w.name.split("/")[-1].split(":")[0] for w in layer.weights]
    values = dict(zip(names, layer.get_weights(), strict=True))
    size = len(values["moving_mean"])
    return [
        ir.BatchNorm(
            layer.name,
            gamma=np.asarray(values.get("gamma", np.ones(size)), np.float64),
            beta=np.asarray(values.get("beta", np.zeros(size)), np.float64),
            mean=np.asarray(values["moving_mean"], np.float64),
            var=np.asarray(values["moving_variance"], np.float64),
            epsilon=float(config["epsilon"]),
        )
    ]


def _relu(layer: Any, config: dict[str, Any]) -> list[ir.AnnLayer]:
    if config.get("negative_slope", 0.0) or config.get("threshold", 0.0):
        raise refuse(
            layer.name,
            "ReLU",
            f"negative_slope={config.get('negative_slope')}, threshold={config.get('threshold')}",
            "use a plain ReLU (negative_slope=0, threshold=0)",
        )
    cap = config.get("max_value")
    return [ir.ReLU(layer.name, cap=None if cap is None else float(cap))]


def _read_layer(layer: Any, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    kind = type(layer).__name__
    config = layer.get_config()
    if kind == "InputLayer":
        return []
    if kind == "Conv2D":
        return _conv(layer, config, in_shape)
    if kind == "Dense":
        return _dense(layer, config)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return _pool(layer, config, in_shape)
    if kind == "BatchNormalization":
        return _batchnorm(layer, config, len(in_shape))
    if kind == "ReLU":
        return _relu(layer, config)
    if kind == "Activation":
        return _activation_layers(layer.name, config["activation"], kind)
    if kind == "Flatten":
        return [ir.Flatten(layer.name)]
    if kind == "Dropout":
        return [ir.Dropout(layer.name)]
    if kind == "Softmax":
        return [ir.Softmax(layer.name)]
    raise UnsupportedLayerError(
        f"layer '{layer.name}' ({kind}) is not supported: spikeforge converts Conv2D, Dense, "
        "MaxPooling2D, AveragePooling2D, BatchNormalization, ReLU/Activation, Flatten, "
        "Dropout and Softmax; remove or replace it before converting"
    )


def _single_path_layers(model: Any) -> list[Any]:
    """The model's layers input to output, refusing branches and merges."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for layer in layers:
        inbound = getattr(layer, "_inbound_nodes", [])
        for node in inbound:
            parents = getattr(node, "parent_nodes", None) or []
            if len(parents) > 1:
                raise refuse(
                    layer.name,
                    type(layer).__name__,
                    f"it takes {len(parents)} inputs (a branch merges here)",
                    "spikeforge converts single-path networks only",
                )
    return layers


def keras_to_graph(model: Any) -> ir.AnnGraph:
    """The :class:`AnnGraph` of a built Keras model."""
    input_shape = tuple(model.input_shape[1:])
    if any(d is None for d in input_shape):
        raise UnsupportedLayerError(
            f"model '{model.name}' has input shape {model.input_shape}: give every input "
            "dimension a size (spikeforge needs fixed image shapes)"
        )
    if len(input_shape) != 3:
        raise UnsupportedLayerError(
            f"model '{model.name}' has input shape {model.input_shape}: spikeforge expects "
            "images (height, width, channels)"
        )
    layers: list[ir.AnnLayer] = []
    for layer in _single_path_layers(model):
        in_shape = tuple(layer.input.shape[1:])
        layers.extend(_read_layer(layer, in_shape))
    return ir.AnnGraph(input_shape=input_shape, layers=layers, name=model.name)
