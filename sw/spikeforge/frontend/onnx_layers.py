"""ONNX node records -> IR layers: the handlers :func:`.layers.map_layer` uses for them.

The records come from :mod:`.onnx_graph` (class name: the op type; weights in ONNX layout,
NCHW). Each handler takes the node's input shape in the IR's channels-last layout and
returns IR layers: kernels (Cout, Cin, kh, kw) become (kh, kw, Cin, Cout), ONNX pads
(begins, then ends) the IR's (top, bottom, left, right), 1-D windows the one-row 2-D case
between two relabelling reshapes, and the weight rows of a Gemm/MatMul after a Flatten of
a feature map are put in the IR's (H, W, C) flatten order. A setting that cannot map is
refused with the op type, the node name, the attribute or input and the fix.

Op types that are also Keras class names (Flatten, Dropout, Softmax, Reshape,
BatchNormalization) share a handler: ONNX records (``config['onnx']``) take the ONNX path,
Keras layers the Keras handler as before.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

import numpy as np

from .. import ir
from ..ann_numpy import output_shape
from ..errors import refuse
from .errors import ModelFileError
from .layers import HANDLERS, Handler, register_handlers
from .onnx_graph import ir_shape, reshape_target
from .qonnx_quant import QuantError, quant_relu
from .topology import LayerRecord

_SEQUENCE = "(length, channels) sequence"
_QUANT_FIX = ("quantize activations with Brevitas' QuantReLU (unsigned, one per-tensor "
              "scale, zero point 0, rounding ROUND)")


def _attr(rec: LayerRecord, key: str, default: Any = None) -> Any:
    return rec.config.get("attributes", {}).get(key, default)


def _weight(rec: LayerRecord, key: str) -> np.ndarray:
    if key not in rec.weights:
        raise refuse(rec.name, rec.class_name, f"input {key} is missing or not a constant",
                     "export with torch.onnx.export(..., do_constant_folding=True)")
    return np.asarray(rec.weights[key], np.float64)


def _onnx(handler: Handler) -> Handler:
    """``handler`` after the refusals the reader found (a branch, a computed weight)."""

    @wraps(handler)
    def checked(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
        if "refusal" in rec.config:
            setting, fix = rec.config["refusal"]
            raise refuse(rec.name, rec.class_name, setting, fix)
        return handler(rec, in_shape)

    return checked


def _check_plain(rec: LayerRecord, spatial: int) -> None:
    if _attr(rec, "group", 1) != 1:
        raise refuse(rec.name, rec.class_name, f"attribute group={_attr(rec, 'group')}",
                     "use groups=1 (depthwise and grouped convolutions are not supported)")
    dilations = list(_attr(rec, "dilations") or [1] * spatial)
    if any(d != 1 for d in dilations):
        raise refuse(rec.name, rec.class_name, f"attribute dilations={dilations}",
                     "use dilation 1")
    if _attr(rec, "ceil_mode", 0):
        raise refuse(rec.name, rec.class_name, "attribute ceil_mode=1",
                     "use ceil_mode=False (pad explicitly instead)")
    if _attr(rec, "storage_order", 0):
        raise refuse(rec.name, rec.class_name, "attribute storage_order=1", "use the default 0")


def _pads(rec: LayerRecord, size: tuple[int, int], kernel: tuple[int, int],
          strides: tuple[int, int], spatial: int) -> ir.Pads:
    """The IR's (top, bottom, left, right) pads of a window on the (H, W) map ``size``."""
    auto = _attr(rec, "auto_pad", "NOTSET")
    if auto == "SAME_UPPER":
        return ir.same_pads(size, kernel, strides)
    if auto not in ("NOTSET", "VALID"):
        raise refuse(rec.name, rec.class_name, f"attribute auto_pad={auto}",
                     "export with explicit pads (PyTorch's padding=...)")
    pads = list(_attr(rec, "pads") or [0] * 2 * spatial) if auto == "NOTSET" else [0] * 4
    if spatial == 1:
        return (0, 0, int(pads[0]), int(pads[1]))
    return (int(pads[0]), int(pads[2]), int(pads[1]), int(pads[3]))


def _need_rank(rec: LayerRecord, in_shape: ir.Shape, ranks: tuple[int, ...]) -> int:
    if len(in_shape) not in ranks:
        kinds = " or ".join({1: "a vector", 2: f"a {_SEQUENCE}",
                             3: "a (height, width, channels) feature map"}[r] for r in ranks)
        raise refuse(rec.name, rec.class_name, f"an input of shape {tuple(in_shape)}",
                     f"it reads {kinds}")
    return len(in_shape) - 1  # the number of spatial axes


def _as_image(rec: LayerRecord, in_shape: ir.Shape) -> ir.Reshape:
    return ir.Reshape(f"{rec.name}/as_image", (1, *in_shape))


def _as_sequence(rec: LayerRecord, layer: ir.AnnLayer, in_shape: ir.Shape) -> ir.Reshape:
    return ir.Reshape(f"{rec.name}/as_sequence", tuple(output_shape(layer, (1, *in_shape))[1:]))


def _windowed(rec: LayerRecord, in_shape: ir.Shape, spatial: int,
              layer: ir.AnnLayer) -> list[ir.AnnLayer]:
    """``layer`` on a 2-D map, or on a sequence between the two relabelling reshapes."""
    if spatial == 2:
        return [layer]
    return [_as_image(rec, in_shape), layer, _as_sequence(rec, layer, in_shape)]


def _conv(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    w = _weight(rec, "W")
    spatial = _need_rank(rec, in_shape, (2, 3))
    _check_plain(rec, spatial)
    if w.ndim != spatial + 2 or w.shape[1] != in_shape[-1]:
        raise ModelFileError(f"node '{rec.name}' (Conv): weight W of shape {w.shape} does not "
                             f"fit an input of {in_shape[-1]} channels")
    kernel = w.transpose(2, 3, 1, 0) if spatial == 2 else w.transpose(2, 1, 0)[None]
    bias = _weight(rec, "B") if "B" in rec.weights else np.zeros(w.shape[0])
    strides = tuple(int(s) for s in (_attr(rec, "strides") or [1] * spatial))
    strides2 = (1, strides[0]) if spatial == 1 else (strides[0], strides[1])
    size = (1, in_shape[0]) if spatial == 1 else (in_shape[0], in_shape[1])
    pads = _pads(rec, size, kernel.shape[:2], strides2, spatial)
    return _windowed(rec, in_shape, spatial, ir.Conv2D(rec.name, kernel, bias, strides2, pads))


def _pool(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    spatial = _need_rank(rec, in_shape, (2, 3))
    _check_plain(rec, spatial)
    kernel = [int(k) for k in _attr(rec, "kernel_shape")]
    strides = [int(s) for s in (_attr(rec, "strides") or [1] * spatial)]
    pool = (1, kernel[0]) if spatial == 1 else (kernel[0], kernel[1])
    strides2 = (1, strides[0]) if spatial == 1 else (strides[0], strides[1])
    size = (1, in_shape[0]) if spatial == 1 else (in_shape[0], in_shape[1])
    pads = _pads(rec, size, pool, strides2, spatial)
    if rec.class_name == "MaxPool":
        return _windowed(rec, in_shape, spatial, ir.MaxPool(rec.name, pool, strides2, pads))
    if any(pads) and _attr(rec, "count_include_pad", 0):
        raise refuse(rec.name, rec.class_name, "attribute count_include_pad=1 with padding",
                     "use AvgPool(..., count_include_pad=False) (a padded border window "
                     "averages its real cells) or no padding")
    return _windowed(rec, in_shape, spatial, ir.AvgPool(rec.name, pool, strides2, pads))


def _global_average(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    spatial = _need_rank(rec, in_shape, (2, 3))
    window = (1, in_shape[0]) if spatial == 1 else (in_shape[0], in_shape[1])
    return _windowed(rec, in_shape, spatial, ir.AvgPool(rec.name, window, window))


def _flat_order(rec: LayerRecord, values: np.ndarray) -> np.ndarray:
    """``values`` (rows per flattened element, ONNX's (C, H, W) order) in the IR's order."""
    source = rec.config.get("flat_from")
    if source is None:
        return values
    order = np.arange(int(np.prod(source))).reshape(source)
    return values[np.moveaxis(order, 0, -1).ravel()]


def _dense_layer(rec: LayerRecord, in_shape: ir.Shape, weights: np.ndarray,
                 bias: np.ndarray) -> list[ir.AnnLayer]:
    _need_rank(rec, in_shape, (1,))
    if weights.ndim != 2 or weights.shape[0] != in_shape[0]:
        raise refuse(rec.name, rec.class_name,
                     f"a weight of shape {weights.shape} on {in_shape[0]} inputs",
                     "use a 2-D weight (a Linear layer after a Flatten)")
    bias = np.broadcast_to(bias, (weights.shape[1],)).astype(np.float64)
    return [ir.Dense(rec.name, _flat_order(rec, weights), bias.copy())]


def _gemm(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    if _attr(rec, "transA", 0):
        raise refuse(rec.name, "Gemm", "attribute transA=1", "use Gemm with transA=0 "
                     "(PyTorch's Linear)")
    b = _weight(rec, "B")
    weights = (b.T if _attr(rec, "transB", 0) else b) * float(_attr(rec, "alpha", 1.0))
    bias = (_weight(rec, "C") * float(_attr(rec, "beta", 1.0)) if "C" in rec.weights
            else np.zeros(1)).reshape(-1)
    return _dense_layer(rec, in_shape, weights, bias)


def _matmul(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    bias = _weight(rec, "bias").reshape(-1) if "bias" in rec.weights else np.zeros(1)
    return _dense_layer(rec, in_shape, _weight(rec, "B"), bias)


def _batchnorm(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    if _attr(rec, "training_mode", 0):
        raise refuse(rec.name, rec.class_name, "attribute training_mode=1",
                     "export the model in eval mode (model.eval())")
    stats = [_weight(rec, key).reshape(-1) for key in ("scale", "B", "input_mean", "input_var")]
    stats = [_flat_order(rec, s) if len(in_shape) == 1 else s for s in stats]
    return [ir.BatchNorm(rec.name, *stats, epsilon=float(_attr(rec, "epsilon", 1e-5)))]


def _relu(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    return [ir.ReLU(rec.name, ir.Relu())]


def _bound(rec: LayerRecord, key: str) -> float | None:
    if key in rec.weights:
        return float(np.asarray(rec.weights[key]).ravel()[0])
    value = _attr(rec, key)
    return None if value is None else float(value)


def _clip(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    low, high = _bound(rec, "min"), _bound(rec, "max")
    if low != 0.0 or (high is not None and not high > 0):
        raise refuse(rec.name, "Clip", f"min={low}, max={high}",
                     "clip to [0, max] with max > 0 (a ReLU or ReLU6, torch.clamp(x, 0, m))")
    return [ir.ReLU(rec.name, ir.Relu(cap=high))]


def _quant(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    if rec.config.get("is_input"):
        raise refuse(rec.name, "Quant", "a quantizer on the model's input",
                     "remove the input QuantIdentity: spikeforge chooses the input integers "
                     "from the calibration data (8- or 16-bit input formats)")
    try:
        return [ir.ReLU(rec.name, quant_relu(rec.weights, rec.config["attributes"]))]
    except QuantError as err:
        raise refuse(rec.name, "Quant", str(err), _QUANT_FIX) from None
    except KeyError as err:
        raise refuse(rec.name, "Quant", f"input {err} is not a constant",
                     "export with brevitas.export.export_qonnx") from None


def _softmax(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    axis = _attr(rec, "axis", -1)
    if len(in_shape) != 1 or axis not in (-1, 1):
        raise refuse(rec.name, "Softmax", f"attribute axis={axis} on shape {tuple(in_shape)}",
                     "apply the softmax to the class vector of the last layer (dim=1)")
    return [ir.Softmax(rec.name)]


def _sigmoid(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    return [ir.Sigmoid(rec.name)]


def _flatten(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    if _attr(rec, "axis", 1) != 1:
        raise refuse(rec.name, "Flatten", f"attribute axis={_attr(rec, 'axis')}",
                     "flatten everything but the batch (torch.flatten(x, 1), nn.Flatten())")
    return [] if len(in_shape) == 1 else [ir.Flatten(rec.name)]


def _reshape(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """A Reshape that only relabels: to the batch of vectors (a flatten), to the same
    shape, or a vector to a map whose channels-first and channels-last orders agree."""
    given = _weight(rec, "shape").astype(np.int64)
    source = rec.config.get("in_shape") or ()
    target = reshape_target(tuple(source), given, _attr(rec, "allowzero", 0))
    setting = f"input shape={given.tolist()} on (N, {', '.join(map(str, source))})"
    if target is None or len(target) > 3:
        raise refuse(rec.name, "Reshape", setting,
                     "reshape to (N, -1) (x.flatten(1) or x.view(x.size(0), -1))")
    if tuple(target) == tuple(source):
        return []
    if len(target) == 1:
        return [ir.Flatten(rec.name)]
    if len(source) == 1 and (target[0] == 1 or int(np.prod(target[1:])) == 1):
        return [ir.Reshape(rec.name, ir_shape(target))]
    raise refuse(rec.name, "Reshape", setting + " (it moves elements between the "
                 "channels-first and the channels-last order)",
                 "reshape to (N, -1) before the Linear layers, or reshape the data before "
                 "the model")


def _dropout(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    return [ir.Dropout(rec.name)]


def _identity(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    return []


_REFUSED = {
    "Add": ("an Add of two tensors or of a constant not after a MatMul (a residual "
            "connection or a separate bias)", "use single-path networks with biases inside "
            "Conv/Linear layers"),
    "Concat": ("a Concat (a branch merges here)", "spikeforge converts single-path networks"),
    "LeakyRelu": ("LeakyRelu", "use ReLU"),
    "PRelu": ("PRelu", "use ReLU"),
    "Tanh": ("Tanh (no integrate-and-fire equivalent)", "use ReLU"),
    "Elu": ("Elu (no integrate-and-fire equivalent)", "use ReLU"),
    "Selu": ("Selu (no integrate-and-fire equivalent)", "use ReLU"),
    "Gelu": ("Gelu (no integrate-and-fire equivalent)", "use ReLU"),
    "HardSigmoid": ("HardSigmoid (no integrate-and-fire equivalent)", "use ReLU"),
    "HardSwish": ("HardSwish (no integrate-and-fire equivalent)", "use ReLU"),
    "Mul": ("a Mul on the data path", "fold the scaling into the weights before exporting"),
    "Div": ("a Div on the data path", "fold the scaling into the weights before exporting"),
    "Sub": ("a Sub on the data path", "normalize the data before the model"),
    "Transpose": ("a Transpose on the data path (it moves elements)",
                  "flatten with nn.Flatten() and keep the data channels-first"),
    "Pad": ("a separate Pad node", "pad inside the convolution (padding=...)"),
    "ConvTranspose": ("a transposed convolution", "use Conv and pooling layers"),
    "Resize": ("a Resize (upsampling)", "use Conv and pooling layers"),
    "GlobalMaxPool": ("GlobalMaxPool", "use GlobalAveragePool (nn.AdaptiveAvgPool2d(1))"),
    "LogSoftmax": ("LogSoftmax", "end with Softmax or with the Linear layer's logits"),
    "BipolarQuant": ("a BipolarQuant (binary +-1 activations)",
                     "quantize activations with Brevitas' QuantReLU"),
    "Trunc": ("a QONNX Trunc (average pooling with truncation)",
              "use Brevitas' float pooling (nn.AvgPool2d) or MaxPool"),
    "QuantizeLinear": ("an ONNX QDQ QuantizeLinear", "export with "
                       "brevitas.export.export_qonnx (QONNX Quant nodes)"),
    "DequantizeLinear": ("an ONNX QDQ DequantizeLinear", "export with "
                         "brevitas.export.export_qonnx (QONNX Quant nodes)"),
}


def _refused(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    setting, fix = _REFUSED[rec.class_name]
    raise refuse(rec.name, rec.class_name, setting, fix)


def _shared(onnx_handler: Handler, keras_handler: Handler | None) -> Handler:
    """One handler for an op type that is also a Keras class name."""

    def handler(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
        if rec.config.get("onnx") or keras_handler is None:
            return onnx_handler(rec, in_shape)
        return keras_handler(rec, in_shape)

    return handler


ONNX_HANDLERS: dict[str, Handler] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "MatMul+Add": _matmul,
    "Relu": _relu,
    "Clip": _clip,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "GlobalAveragePool": _global_average,
    "BatchNormalization": _batchnorm,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Dropout": _dropout,
    "Identity": _identity,
    "Softmax": _softmax,
    "Sigmoid": _sigmoid,
    "Quant": _quant,
    **{op: _refused for op in _REFUSED},
}


def register() -> None:
    """Add the ONNX handlers to :data:`.layers.HANDLERS` (once); the refused op types stay
    out of the list of converted layers that :func:`.layers.map_layer` gives."""
    added: dict[str, Handler] = {}
    for op, handler in ONNX_HANDLERS.items():
        current = HANDLERS.get(op)
        if getattr(current, "onnx", False):
            continue
        shared = _shared(_onnx(handler), current)
        shared.onnx = True  # type: ignore[attr-defined]
        added[op] = shared
    register_handlers(added, set(_REFUSED))


register()
