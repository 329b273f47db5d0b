"""Layer records -> ANN graph layers: the handler table, with the Keras and QKeras layers (HGQ2
layers: hgq_layers.py; ONNX nodes: onnx_layers.py, which add their handlers to the table).

Every source (a live Keras 3 model, Keras 2 JSON + H5, full-model H5, QKeras configs)
yields :class:`LayerRecord` s; :func:`map_layer` turns one into IR layers, given its input
shape. A layer or setting the spiking network cannot express is refused with
:class:`UnsupportedLayerError` naming the layer, its type, the setting and the fix.

Shapes are Keras' own (without the batch axis): (N,) feature vectors, (L, C) sequences and
(H, W, C) images. The IR's windows (convolution, pooling) are 2-D, so a 1-D layer on a
sequence is the H = 1 case between two relabelling reshapes, ``name/as_image`` to
(1, L, C) and ``name/as_sequence`` back to (L', C'); the canonical passes cancel the pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ir
from ..ann_numpy import output_shape
from ..errors import UnsupportedLayerError, refuse
from .errors import ModelFileError
from .quantizers import (
    QuantizerError,
    parse_quantizer,
    quantized_bits,
    relu_spec,
)
from .topology import LayerRecord

Handler = Callable[[LayerRecord, ir.Shape], list[ir.AnnLayer]]
_NO_OPS = ("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
           "ActivityRegularization")
_ACTIVATION_FIX = ("use 'relu' (or a capped ReLU: max_value, 'relu6', QKeras quantized_relu) "
                   "on hidden layers and 'softmax', 'sigmoid' or 'linear' on the output")
TWO_CLASSES = "two_classes"  # the name suffix of a one-unit sigmoid's fixed two-class layer


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def _single(value: Any) -> int:
    """A 1-D layer's size: Keras 3 and Keras 2 save ``[k]``, hand-written configs ``k``."""
    return int(value) if isinstance(value, int) else int(value[0])


def _need_rank(rec: LayerRecord, in_shape: ir.Shape, rank: int, fix: str) -> None:
    """Refuse an input whose rank is not the one the layer reads."""
    if len(in_shape) != rank:
        raise refuse(rec.name, rec.class_name, f"an input of shape {tuple(in_shape)}", fix)


_READS_SEQUENCE = "it reads a sequence (length, channels): use it before the Flatten"
_READS_IMAGE = ("it reads a feature map (height, width, channels): use it before the Flatten "
                "(a one-channel (H, W) input needs a Reshape to (H, W, 1) first)")


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
    if spec == "sigmoid":
        return [ir.Sigmoid(name if standalone else f"{name}/sigmoid")]
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
    if padding == "causal" and rec.class_name in ("Conv1D", "QConv1D"):
        return (0, 0, kernel[1] - 1, 0)  # dilation 1: k - 1 zeros before the sequence
    allowed = "'valid', 'same' or 'causal'" if "1D" in rec.class_name else "'valid' or 'same'"
    raise refuse(rec.name, rec.class_name, f"padding='{padding}'", f"use {allowed}")


def _check_plain_conv(rec: LayerRecord, dilation: Any) -> None:
    """Refuse a dilated or grouped convolution."""
    if dilation != (1, 1):
        raise refuse(rec.name, rec.class_name, f"dilation_rate={rec.config['dilation_rate']}",
                     "use dilation 1")
    if rec.config.get("groups", 1) != 1:
        raise refuse(rec.name, rec.class_name, f"groups={rec.config['groups']}", "use groups=1")


def _as_image(name: str, in_shape: ir.Shape) -> ir.Reshape:
    """A sequence (L, C) relabelled as the one-row image (1, L, C) a 2-D window reads."""
    return ir.Reshape(f"{name}/as_image", (1, *in_shape))


def _as_sequence(name: str, out_shape: ir.Shape) -> ir.Reshape:
    """A one-row map (1, L, C) relabelled as the sequence (L, C) Keras' next layer reads."""
    return ir.Reshape(f"{name}/as_sequence", tuple(out_shape[1:]))


def _conv(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    _check_channels_last(rec)
    _check_plain_conv(rec, _pair(rec.config.get("dilation_rate", 1)))
    _need_rank(rec, in_shape, 3, _READS_IMAGE)
    kernel = _quantized(rec, "kernel")
    size = _pair(rec.config.get("kernel_size", kernel.shape[:2]))
    filters = rec.config.get("filters", kernel.shape[-1])
    _check_shape(rec, "kernel", kernel, (*size, in_shape[2], filters))
    strides = _pair(rec.config.get("strides", 1))
    pads = _padding(rec, in_shape[:2], kernel.shape[:2], strides)
    conv = ir.Conv2D(rec.name, kernel, _bias(rec, kernel.shape[-1]), strides, pads)
    return [conv, *activation_layers(rec.name, rec.class_name, rec.config.get("activation"))]


def _conv1d(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """Conv1D on (L, C): a Conv2D with kernel (1, k), strides (1, s) on the view (1, L, C)."""
    _check_channels_last(rec)
    _check_plain_conv(rec, (1, _single(rec.config.get("dilation_rate", 1))))
    _need_rank(rec, in_shape, 2, _READS_SEQUENCE)
    kernel = _quantized(rec, "kernel")
    size = _single(rec.config.get("kernel_size", kernel.shape[0]))
    filters = rec.config.get("filters", kernel.shape[-1])
    _check_shape(rec, "kernel", kernel, (size, in_shape[1], filters))
    strides = (1, _single(rec.config.get("strides", 1)))
    pads = _padding(rec, (1, in_shape[0]), (1, size), strides)
    conv = ir.Conv2D(rec.name, kernel[None], _bias(rec, filters), strides, pads)
    image = (1, *in_shape)
    return [_as_image(rec.name, in_shape), conv,
            _as_sequence(rec.name, output_shape(conv, image)),
            *activation_layers(rec.name, rec.class_name, rec.config.get("activation"))]


def _dense(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    matrix = _quantized(rec, "kernel")
    inputs = in_shape[0] if len(in_shape) == 1 else in_shape[-1]
    _check_shape(rec, "kernel", matrix, (inputs, rec.config.get("units", matrix.shape[-1])))
    dense = ir.Dense(rec.name, matrix, _bias(rec, matrix.shape[1]))
    return [dense, *activation_layers(rec.name, rec.class_name, rec.config.get("activation"))]


def _pool(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    _check_channels_last(rec)
    _need_rank(rec, in_shape, 3, _READS_IMAGE)
    pool = _pair(rec.config.get("pool_size", 2))
    strides = _pair(rec.config.get("strides") or pool)
    pads = _padding(rec, in_shape[:2], pool, strides)
    cls = ir.MaxPool if rec.class_name == "MaxPooling2D" else ir.AvgPool
    return [cls(rec.name, pool, strides, pads)]


def _pool1d(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """MaxPooling1D/AveragePooling1D on (L, C): pool (1, p), strides (1, s) on (1, L, C)."""
    _check_channels_last(rec)
    _need_rank(rec, in_shape, 2, _READS_SEQUENCE)
    pool = (1, _single(rec.config.get("pool_size", 2)))
    strides = (1, _single(rec.config.get("strides") or pool[1]))
    pads = _padding(rec, (1, in_shape[0]), pool, strides)
    cls = ir.MaxPool if rec.class_name == "MaxPooling1D" else ir.AvgPool
    layer = cls(rec.name, pool, strides, pads)
    return [_as_image(rec.name, in_shape), layer,
            _as_sequence(rec.name, output_shape(layer, (1, *in_shape)))]


def _global_average(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """GlobalAveragePooling1D/2D: an average pool over the whole map, then the vector (C,)
    (with ``keepdims``: (1, C) for a sequence, (1, 1, C) for an image)."""
    _check_channels_last(rec)
    sequence = rec.class_name == "GlobalAveragePooling1D"
    _need_rank(rec, in_shape, 2 if sequence else 3, _READS_SEQUENCE if sequence else _READS_IMAGE)
    layers: list[ir.AnnLayer] = [_as_image(rec.name, in_shape)] if sequence else []
    window = (1, in_shape[0]) if sequence else (in_shape[0], in_shape[1])
    layers.append(ir.AvgPool(rec.name, window, window))
    channels = in_shape[-1]
    if not rec.config.get("keepdims", False):
        layers.append(ir.Flatten(f"{rec.name}/flat"))
    elif sequence:
        layers.append(ir.Reshape(f"{rec.name}/as_sequence", (1, channels)))
    return layers


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
    """A Reshape relabels the elements in row-major order: to a flat vector it is a Flatten,
    to the input's own shape nothing, to any other shape of rank 2 or 3 an ``ir.Reshape``."""
    given = tuple(int(d) for d in rec.config.get("target_shape") or [])
    size = int(np.prod(in_shape))
    known = int(np.prod([d for d in given if d != -1]))
    target = given
    if given.count(-1) == 1 and known > 0 and size % known == 0:
        target = tuple(size // known if d == -1 else d for d in given)
    setting = f"target_shape={given} from {tuple(in_shape)}"
    if not target or min(target) < 1 or int(np.prod(target)) != size:
        raise refuse(rec.name, "Reshape", f"{setting} ({size} elements)",
                     f"give a target shape of {size} elements (at most one -1)")
    if len(target) > 3:
        raise refuse(rec.name, "Reshape", f"{setting} (rank {len(target)})",
                     "reshape to a vector (N,), a sequence (L, C) or an image (H, W, C)")
    if target == tuple(in_shape):
        return []
    if len(target) == 1:
        return [ir.Flatten(rec.name)]
    return [ir.Reshape(rec.name, target)]


def _dropout(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    return [ir.Dropout(rec.name)]


def _lambda(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    raise refuse_lambda(rec.name)


_RECURRENT = ("a recurrent layer (its state carries from step to step; spikeforge builds "
              "feed-forward integrate-and-fire layers)",
              "model the sequence with Conv1D and pooling layers, then Flatten or "
              "GlobalAveragePooling1D and Dense")
_REFUSED: dict[str, tuple[str, str]] = {
    **{name: _RECURRENT for name in ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional",
                                     "ConvLSTM1D", "ConvLSTM2D", "QLSTM", "QGRU",
                                     "QSimpleRNN")},
    "TimeDistributed": ("a layer wrapped in TimeDistributed",
                        "use Conv1D(units, 1) for a Dense applied at every step (the same "
                        "weights), or Flatten and Dense"),
    "Permute": ("Permute (it moves elements: a transpose, not a row-major relabelling)",
                "transpose the data before the model, or train without the Permute "
                "(a Reshape that keeps the element order is supported)"),
    "RepeatVector": ("RepeatVector (it copies elements)",
                     "remove it; spikeforge converts layers that relabel elements "
                     "(Reshape, Flatten) but not ones that copy or move them"),
    "GarNet": ("a GarNet graph layer (aggregation over a set of vertices)",
               "spikeforge converts Conv/Dense feed-forward networks; replace it with Dense "
               "layers on a fixed-size input"),
    "GarNetStack": ("a GarNet graph layer (aggregation over a set of vertices)",
                    "spikeforge converts Conv/Dense feed-forward networks; replace it with "
                    "Dense layers on a fixed-size input"),
}


def _refused(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    setting, fix = _REFUSED[rec.class_name]
    raise refuse(rec.name, rec.class_name, setting, fix)


HANDLERS: dict[str, Handler] = {
    "Conv2D": _conv,
    "QConv2D": _conv,
    "Conv1D": _conv1d,
    "QConv1D": _conv1d,
    "Dense": _dense,
    "QDense": _dense,
    "MaxPooling2D": _pool,
    "AveragePooling2D": _pool,
    "MaxPooling1D": _pool1d,
    "AveragePooling1D": _pool1d,
    "GlobalAveragePooling1D": _global_average,
    "GlobalAveragePooling2D": _global_average,
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
    **{name: _refused for name in _REFUSED},
}
_NOT_LISTED = {"Lambda", *_NO_OPS, *_REFUSED}


def register_handlers(handlers: dict[str, Handler], unlisted: set[str] | frozenset = frozenset()
                      ) -> None:
    """Add another frontend's handlers (ONNX); the names in ``unlisted`` (refused ones)
    stay out of the list of converted layers an unsupported one is told."""
    HANDLERS.update(handlers)
    _NOT_LISTED.update(unlisted)


def map_layer(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """The IR layers of one layer record whose input has ``in_shape``."""
    handler = HANDLERS.get(rec.class_name)
    if handler is None:
        raise UnsupportedLayerError(
            f"layer '{rec.name}' ({rec.class_name}) is not supported: spikeforge converts "
            f"{', '.join(sorted(set(HANDLERS) - _NOT_LISTED))} and the inference no-ops "
            f"{', '.join(_NO_OPS)}; remove or replace it before converting",
            layer=rec.name,
        )
    return handler(rec, in_shape)


def two_classes(sigmoid: ir.Sigmoid) -> list[ir.AnnLayer]:
    """A sigmoid on one unit z (a binary classifier) as two classes: the fixed layer
    z -> (-z, z), then the sigmoid: (1 - p, p) with p = sigmoid(z), class 1 when p > 0.5.
    The canonical passes merge the fixed layer into a linear Dense before it."""
    fixed = ir.Dense(f"{sigmoid.name}/{TWO_CLASSES}", np.array([[-1.0, 1.0]]), np.zeros(2))
    return [fixed, sigmoid]


def is_two_classes(layer: ir.AnnLayer) -> bool:
    """Whether ``layer`` is the fixed layer of :func:`two_classes`."""
    return isinstance(layer, ir.Dense) and layer.name.endswith(f"/{TWO_CLASSES}")


def binary_output(layers: list[ir.AnnLayer], out_shape: ir.Shape) -> list[ir.AnnLayer]:
    """``layers`` (a whole model, output ``out_shape``) with a one-unit sigmoid output read
    as two classes (:func:`two_classes`); any other model unchanged."""
    if layers and type(layers[-1]) is ir.Sigmoid and tuple(out_shape) == (1,):
        return [*layers[:-1], *two_classes(layers[-1])]
    return layers
