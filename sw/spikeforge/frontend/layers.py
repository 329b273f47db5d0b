"""Layer records -> ANN graph layers: the one place that maps Keras and QKeras layers.

Every source (a live Keras 3 model, Keras 2 JSON + H5, full-model H5, QKeras configs)
yields :class:`LayerRecord` s; :func:`map_layer` turns one into IR layers, given its input
shape. A layer or setting the spiking network cannot express is refused with
:class:`UnsupportedLayerError` naming the layer, its type, the setting and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ir
from .errors import ModelFileError, UnsupportedLayerError, refuse
from .quantizers import QuantizerError, parse_quantizer, quantized_bits, relu_spec
from .topology import LayerRecord

Handler = Callable[[LayerRecord, ir.Shape], list[ir.AnnLayer]]
_NO_OPS = ("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
           "ActivityRegularization")
_ACTIVATION_FIX = ("use 'relu' (or a capped ReLU: max_value, 'relu6', QKeras quantized_relu) "
                   "on hidden layers and 'softmax' or 'linear' on the output")


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def _weight(rec: LayerRecord, key: str) -> np.ndarray:
    if key not in rec.weights:
        found = ", ".join(sorted(rec.weights)) or "none"
        raise ModelFileError(
            f"layer '{rec.name}' ({rec.class_name}) has no '{key}' weight (found: {found}); "
            "is the weights file the one saved with this architecture?"
        )
    return np.asarray(rec.weights[key], dtype=np.float64)


def _check_shape(rec: LayerRecord, key: str, values: np.ndarray, expected: tuple) -> None:
    """Refuse a weight whose shape is not the one the layer's config implies."""
    if tuple(values.shape) != tuple(expected):
        raise ModelFileError(
            f"layer '{rec.name}' ({rec.class_name}): the weights file holds '{key}' of shape "
            f"{tuple(values.shape)}, the architecture expects {tuple(expected)}; pass the "
            "weights file saved with this architecture"
        )


def refuse_lambda(name: str) -> UnsupportedLayerError:
    """The refusal of a Lambda layer (Python code, which has no spiking equivalent)."""
    return refuse(name, "Lambda", "Python code in a Lambda layer",
                  f"remove or replace the Lambda layer '{name}' with standard layers "
                  "(Conv2D, Dense, pooling, ReLU, Flatten, ...) and save the model again")


def _quantized(rec: LayerRecord, key: str) -> np.ndarray:
    """Weight ``key``, through the layer's ``<key>_quantizer`` when it has one (QKeras)."""
    values = _weight(rec, key)
    try:
        quantizer = parse_quantizer(rec.config.get(f"{key}_quantizer"))
        return values if quantizer is None else quantized_bits(quantizer, values)
    except QuantizerError as err:
        raise refuse(rec.name, rec.class_name, f"{key}_quantizer {err}",
                     "use quantized_bits(bits, integer, alpha=1) (or alpha='auto_po2')") from None


def _bias(rec: LayerRecord, units: int) -> np.ndarray:
    if not rec.config.get("use_bias", True):
        return np.zeros(units)
    bias = _quantized(rec, "bias")
    _check_shape(rec, "bias", bias, (units,))
    return bias


def activation_layers(
    name: str, layer_type: str, spec: Any, standalone: bool = False
) -> list[ir.AnnLayer]:
    """IR layers for an activation given as a Keras name, a QKeras string or a dict; named
    ``name`` for an activation layer, ``name/relu`` for a Conv/Dense ``activation=``."""
    if spec is None or spec == "linear":
        return []
    if spec == "softmax":
        return [ir.Softmax(name if standalone else f"{name}/softmax")]
    text = spec if isinstance(spec, str) else str(spec.get("class_name", spec))
    try:
        quantizer = parse_quantizer(spec)
        assert quantizer is not None
        relu = relu_spec(quantizer)
    except QuantizerError as err:
        raise refuse(name, layer_type,
                     f"activation '{text}' has no integrate-and-fire equivalent ({err})",
                     _ACTIVATION_FIX) from None
    return [ir.ReLU(name if standalone else f"{name}/relu", relu)]


def _check_channels_last(rec: LayerRecord) -> None:
    if rec.config.get("data_format") not in (None, "channels_last"):
        raise refuse(rec.name, rec.class_name, f"data_format='{rec.config['data_format']}'",
                     "use channels_last")


def _padding(rec: LayerRecord, size: tuple[int, int], kernel, strides) -> ir.Pads:
    padding = str(rec.config.get("padding", "valid")).lower()
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return ir.same_pads(size, kernel, strides)
    raise refuse(rec.name, rec.class_name, f"padding='{padding}'", "use 'valid' or 'same'")


def _conv(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    _check_channels_last(rec)
    if _pair(rec.config.get("dilation_rate", 1)) != (1, 1):
        raise refuse(rec.name, rec.class_name, f"dilation_rate={rec.config['dilation_rate']}",
                     "use dilation 1")
    if rec.config.get("groups", 1) != 1:
        raise refuse(rec.name, rec.class_name, f"groups={rec.config['groups']}", "use groups=1")
    if len(in_shape) != 3:
        raise refuse(rec.name, rec.class_name, f"an input of shape {in_shape}",
                     "put every Conv2D before the Flatten")
    kernel = _quantized(rec, "kernel")
    size = _pair(rec.config.get("kernel_size", kernel.shape[:2]))
    filters = rec.config.get("filters", kernel.shape[-1])
    _check_shape(rec, "kernel", kernel, (*size, in_shape[2], filters))
    strides = _pair(rec.config.get("strides", 1))
    pads = _padding(rec, in_shape[:2], kernel.shape[:2], strides)
    conv = ir.Conv2D(rec.name, kernel, _bias(rec, kernel.shape[-1]), strides, pads)
    return [conv, *activation_layers(rec.name, rec.class_name, rec.config.get("activation"))]


def _dense(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    matrix = _quantized(rec, "kernel")
    inputs = in_shape[0] if len(in_shape) == 1 else in_shape[-1]
    _check_shape(rec, "kernel", matrix, (inputs, rec.config.get("units", matrix.shape[-1])))
    dense = ir.Dense(rec.name, matrix, _bias(rec, matrix.shape[1]))
    return [dense, *activation_layers(rec.name, rec.class_name, rec.config.get("activation"))]


def _pool(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    _check_channels_last(rec)
    pool = _pair(rec.config.get("pool_size", 2))
    strides = _pair(rec.config.get("strides") or pool)
    pads = _padding(rec, in_shape[:2], pool, strides)
    cls = ir.MaxPool if rec.class_name == "MaxPooling2D" else ir.AvgPool
    return [cls(rec.name, pool, strides, pads)]


def _batchnorm(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    quantizers = [k for k, v in rec.config.items() if k.endswith("_quantizer") and v is not None]
    if quantizers:
        raise refuse(rec.name, rec.class_name, f"quantized statistics ({', '.join(quantizers)})",
                     "use a float BatchNormalization (it is folded into a neighbouring layer)")
    axis = rec.config.get("axis", -1)
    axis = axis[0] if isinstance(axis, list | tuple) and len(axis) == 1 else axis
    if axis not in (-1, len(in_shape)):
        raise refuse(rec.name, rec.class_name, f"axis={rec.config.get('axis')}",
                     "normalize the last (channel) axis")
    keys = ["moving_mean", "moving_variance"]
    keys += ["gamma"] * bool(rec.config.get("scale", True))
    keys += ["beta"] * bool(rec.config.get("center", True))
    stats = {key: _weight(rec, key) for key in keys}
    for key, values in stats.items():
        _check_shape(rec, key, values, (in_shape[-1],))
    mean = stats["moving_mean"]
    return [ir.BatchNorm(rec.name, gamma=stats.get("gamma", np.ones_like(mean)),
                         beta=stats.get("beta", np.zeros_like(mean)), mean=mean,
                         var=stats["moving_variance"],
                         epsilon=float(rec.config.get("epsilon", 1e-3)))]


def _relu(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    slope = rec.config.get("negative_slope", rec.config.get("alpha", 0.0)) or 0.0
    threshold = rec.config.get("threshold", 0.0) or 0.0
    if slope or threshold:
        raise refuse(rec.name, rec.class_name,
                     f"negative_slope={slope}, threshold={threshold}",
                     "use a plain ReLU (negative_slope=0, threshold=0)")
    cap = rec.config.get("max_value")
    return [ir.ReLU(rec.name, ir.Relu(cap=None if cap is None else float(cap)))]


def _clip_floor(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """spikeforge.keras_layers.ClipFloor: threshold lambda (at least 1e-3), L levels."""
    cap = max(float(_weight(rec, "threshold")), 1e-3)
    return [ir.ReLU(rec.name, ir.Relu(cap=cap, levels=int(rec.config["levels"])))]


def _activation(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    return activation_layers(rec.name, rec.class_name, rec.config.get("activation"), True)


def _softmax(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    axis = rec.config.get("axis", -1)
    if axis not in (-1, len(in_shape), [-1], [len(in_shape)]):
        raise refuse(rec.name, "Softmax", f"axis={axis}", "use the last axis")
    return [ir.Softmax(rec.name)]


def _flatten(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    _check_channels_last(rec)
    return [ir.Flatten(rec.name)]


def _reshape(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    target = [int(d) for d in rec.config.get("target_shape", [])]
    size = int(np.prod(in_shape))
    if tuple(target) == tuple(in_shape):
        return []
    if len(target) == 1 and target[0] in (-1, size):
        return [ir.Flatten(rec.name)]
    raise refuse(rec.name, "Reshape", f"target_shape={tuple(target)} from {tuple(in_shape)}",
                 "only reshaping to a flat vector ((-1,), as Flatten does) is supported")


def _dropout(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    return [ir.Dropout(rec.name)]


def _lambda(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    raise refuse_lambda(rec.name)


HANDLERS: dict[str, Handler] = {
    "Conv2D": _conv,
    "QConv2D": _conv,
    "Dense": _dense,
    "QDense": _dense,
    "MaxPooling2D": _pool,
    "AveragePooling2D": _pool,
    "BatchNormalization": _batchnorm,
    "QBatchNormalization": _batchnorm,
    "ReLU": _relu,
    "ClipFloor": _clip_floor,
    "Activation": _activation,
    "QActivation": _activation,
    "Softmax": _softmax,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Lambda": _lambda,
    **{name: _dropout for name in _NO_OPS},
}


def map_layer(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """The IR layers of one layer record whose input has ``in_shape``."""
    handler = HANDLERS.get(rec.class_name)
    if handler is None:
        raise UnsupportedLayerError(
            f"layer '{rec.name}' ({rec.class_name}) is not supported: spikeforge converts "
            f"{', '.join(sorted(set(HANDLERS) - {'Lambda', *_NO_OPS}))} and the inference no-ops "
            f"{', '.join(_NO_OPS)}; remove or replace it before converting",
            layer=rec.name,
        )
    return handler(rec, in_shape)
