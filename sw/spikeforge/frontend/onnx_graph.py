"""An ONNX model file as layer records (PyTorch's ``torch.onnx.export``, Brevitas' QONNX).

Read with the ``onnx`` package alone (no runtime). Nodes whose inputs are all constants
(initializers, ``Constant`` nodes, the shape arithmetic around a ``view``/``Reshape``, the
``Transpose`` of a weight, a QONNX weight ``Quant``) are evaluated here and folded into the
node that uses them. Every other node is on the data path and becomes one
:class:`LayerRecord` (class name: its op type; config: its attributes and shapes; weights:
its constant inputs, in ONNX layout), which :mod:`.onnx_layers` maps into the IR, so that
``inspect`` lists one row per node. A ``MatMul`` followed by the ``Add`` of a constant is
one record, ``MatMul+Add``.

Shapes are tracked in ONNX layout without the batch axis ((C, H, W), (C, L), (N,)); the
IR's are channels-last ((H, W, C), (L, C), (N,)). A ``Gemm``/``MatMul`` (or a 1-D
BatchNorm) after a ``Flatten`` of a feature map gets the map's (C, H, W) shape as
``flat_from``: its weight rows are permuted from ONNX's (C, H, W) flatten order to the
IR's (H, W, C) one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import ir
from ..errors import UnsupportedLayerError
from .errors import ModelFileError
from .qonnx_quant import QUANT_DOMAIN_OPS, QuantError, quant_values
from .topology import INPUT_KINDS, Architecture, LayerRecord

ONNX_SUFFIXES = (".onnx",)
FOLDING_FIX = "export with torch.onnx.export(..., do_constant_folding=True)"
WEIGHT_QUANT_FIX = ("quantize the weights with Brevitas' integer quantizers (one integer "
                    "bit width, rounding ROUND, ROUND_TO_ZERO, FLOOR or CEIL)")

# the names of each op's inputs (ONNX's own), the first being the data input
INPUT_NAMES: dict[str, tuple[str, ...]] = {
    "Conv": ("X", "W", "B"),
    "Gemm": ("A", "B", "C"),
    "MatMul": ("A", "B"),
    "Add": ("A", "B"),
    "BatchNormalization": ("X", "scale", "B", "input_mean", "input_var"),
    "Clip": ("input", "min", "max"),
    "Reshape": ("data", "shape"),
    "Dropout": ("data", "ratio", "training_mode"),
    "Quant": ("X", "scale", "zeropoint", "bitwidth"),
}
_FLAT_READERS = ("Gemm", "MatMul", "BatchNormalization")  # weights per flattened element


def ir_shape(shape: tuple[int, ...]) -> ir.Shape:
    """An ONNX shape without batch ((C, H, W), (C, L), (N,)) in the IR's channels-last."""
    return tuple(shape[1:]) + tuple(shape[:1]) if len(shape) > 1 else tuple(shape)


def _attributes(node: Any) -> dict[str, Any]:
    import onnx

    values = {}
    for attr in node.attribute:
        value = onnx.helper.get_attribute_value(attr)
        values[attr.name] = value.decode() if isinstance(value, bytes) else value
    return values


def reshape_target(shape: tuple[int, ...], target: np.ndarray, allowzero: int
                   ) -> tuple[int, ...] | None:
    """The shape (without batch) a Reshape to ``target`` (batch first) gives ``shape``."""
    dims = [int(d) for d in np.asarray(target).ravel()[1:]]
    if not allowzero:
        dims = [shape[i] if d == 0 and i < len(shape) else d for i, d in enumerate(dims)]
    size = int(np.prod(shape))
    known = int(np.prod([d for d in dims if d != -1]))
    if dims.count(-1) == 1 and known > 0 and size % known == 0:
        dims = [size // known if d == -1 else d for d in dims]
    if not dims or min(dims) < 1 or int(np.prod(dims)) != size:
        return None
    return tuple(dims)


def _window(size: int, kernel: int, stride: int, before: int, after: int) -> int:
    return ir.conv_output_size(size, kernel, stride, before, after)


def _spatial(attrs: dict[str, Any], shape: tuple[int, ...], kernel: list[int]
             ) -> tuple[int, ...]:
    spatial = shape[1:]
    strides = attrs.get("strides") or [1] * len(spatial)
    if attrs.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
        return tuple(-(-n // s) for n, s in zip(spatial, strides, strict=True))
    pads = attrs.get("pads") or [0] * 2 * len(spatial)
    rank = len(spatial)
    return tuple(_window(n, k, s, pads[i], pads[i + rank])
                 for i, (n, k, s) in enumerate(zip(spatial, kernel, strides, strict=True)))


def next_shape(op: str, attrs: dict[str, Any], weights: dict[str, np.ndarray],
               shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The ONNX shape (without batch) of a data node's output, None where it is unknown."""
    try:
        if op == "Conv":
            w = weights["W"]
            return (int(w.shape[0]), *_spatial(attrs, shape, list(w.shape[2:])))
        if op in ("MaxPool", "AveragePool"):
            return (shape[0], *_spatial(attrs, shape, list(attrs["kernel_shape"])))
        if op == "GlobalAveragePool":
            return (shape[0],) + (1,) * (len(shape) - 1)
        if op == "Gemm":
            return (int(weights["B"].shape[0 if attrs.get("transB") else 1]),)
        if op in ("MatMul", "MatMul+Add"):
            return (int(weights["B"].shape[-1]),)
        if op == "Flatten":
            return (int(np.prod(shape)),) if attrs.get("axis", 1) == 1 else None
        if op == "Reshape":
            return reshape_target(shape, weights["shape"], attrs.get("allowzero", 0))
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    if op in ("Relu", "Clip", "Sigmoid", "Softmax", "Dropout", "Identity", "Quant",
              "BatchNormalization", "LeakyRelu", "Tanh", "Elu", "Selu", "HardSigmoid",
              "HardSwish", "PRelu", "Gelu", "Add", "Mul", "Sub", "Div"):
        return shape
    return None


def _fold(node: Any, op: str, attrs: dict[str, Any], args: list[np.ndarray | None]
          ) -> list[np.ndarray] | None:
    """The outputs of a node whose inputs are all constants, None for an op not folded."""
    from onnx import numpy_helper

    if op == "Constant":
        if "value" in attrs:
            return [numpy_helper.to_array(attrs["value"])]
        for key in ("value_float", "value_int", "value_floats", "value_ints"):
            if key in attrs:
                return [np.asarray(attrs[key])]
        return None
    x = args[0] if args else None
    if x is None:
        return None
    if op in ("Identity", "Cast"):
        return [x]
    if op == "Transpose":
        return [np.transpose(x, attrs.get("perm"))]
    if op == "Unsqueeze":
        axes = attrs.get("axes", args[1] if len(args) > 1 else None)
        return None if axes is None else [np.expand_dims(x, tuple(int(a) for a in axes))]
    if op == "Squeeze":
        axes = attrs.get("axes", args[1] if len(args) > 1 else None)
        return [np.squeeze(x, None if axes is None else tuple(int(a) for a in axes))]
    if op == "Concat":
        return [np.concatenate([np.atleast_1d(a) for a in args], axis=attrs.get("axis", 0))]
    if op == "Gather" and len(args) > 1:
        return [np.take(x, args[1], axis=attrs.get("axis", 0))]
    if op == "Reshape" and len(args) > 1:
        return [x.reshape([int(d) for d in args[1]])]
    if op in QUANT_DOMAIN_OPS and len(args) == 4:
        return [quant_values(x, *args[1:], attrs)]
    return None


def read_onnx(path: Path, lenient: bool = False) -> tuple[Architecture, str | None]:
    """The data-path nodes of the ONNX model in ``path`` as layer records, and why its
    input shape is refused (None when it is not; raised unless ``lenient``)."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except Exception as err:  # protobuf's DecodeError and friends: the file is not ONNX
        raise ModelFileError(f"{path} is not a readable ONNX model ({type(err).__name__}: "
                             f"{err}); export it again with torch.onnx.export") from None
    graph = model.graph
    consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelFileError(
            f"{path} has {len(inputs)} inputs and {len(graph.output)} outputs: spikeforge "
            "converts models with one input and one class output"
        )
    shape, problem = _input_shape(path, inputs[0])
    if problem is not None and not lenient:
        raise UnsupportedLayerError(problem)
    data = {inputs[0].name}
    producers: dict[str, str] = {}  # a tensor nothing here computes -> the op that made it
    records: list[LayerRecord] = []
    path_tensor = inputs[0].name
    current: tuple[int, ...] | None = shape
    flat_from: tuple[int, ...] | None = None
    for index, node in enumerate(graph.node):
        op, attrs = node.op_type, _attributes(node)
        fed = [name for name in node.input if name in data]
        if not fed:
            args = [consts.get(name) if name else None for name in node.input]
            complete = all(a is not None for a, n in zip(args, node.input, strict=True) if n)
            try:
                folded = _fold(node, op, attrs, args) if complete else None
            except QuantError as err:  # a weight quantizer spikeforge cannot compute
                folded, op = None, f"{op} ({err})"
            if folded is None:  # named by the first node nothing here computes
                root = next((producers[n] for n in node.input if n in producers), op)
                producers.update({out: root for out in node.output})
            else:
                consts.update(zip(node.output, folded, strict=False))
            continue
        if op == "Shape" and fed == [path_tensor] and current is not None:
            consts[node.output[0]] = np.asarray((0, *current), np.int64)  # 0: the batch
            continue
        name = node.name or node.output[0] or f"{op}_{index}"
        names = INPUT_NAMES.get(op, ())
        weights, missing = {}, []
        for position, tensor in enumerate(node.input):
            if not tensor or tensor in data:
                continue
            key = names[position] if position < len(names) else f"input{position}"
            if tensor in consts:
                weights[key] = np.asarray(consts[tensor])
            else:
                missing.append(f"input {key} ('{tensor}', computed by a "
                               f"{producers.get(tensor, 'graph input')} node)")
        config: dict[str, Any] = {"onnx": True, "attributes": attrs, "in_shape": current}
        if missing:
            quant = any("a Quant (" in text for text in missing)
            config["refusal"] = (f"{', '.join(missing)}: a weight computed in the graph",
                                 WEIGHT_QUANT_FIX if quant else FOLDING_FIX)
        elif len(fed) > 1:
            config["refusal"] = (f"{len(fed)} data inputs (a branch merges here)",
                                 "spikeforge converts single-path networks only")
        elif fed[0] != path_tensor:
            config["refusal"] = ("an input off the single path from the model input (a "
                                 "branch)", "spikeforge converts single-path networks only")
        if (op == "Add" and records and records[-1].class_name == "MatMul"
                and "refusal" not in config and "refusal" not in records[-1].config
                and "B" in weights and len(node.input) == 2):
            last = records[-1]
            last.class_name = "MatMul+Add"
            last.weights["bias"] = weights["B"]
            last.config["add_node"] = name
            data.update(node.output)
            path_tensor = node.output[0]
            continue
        if op in _FLAT_READERS and flat_from is not None and current is not None \
                and len(current) == 1:
            config["flat_from"] = flat_from
        if op in ("Flatten", "Reshape") and current is not None and len(current) > 1:
            flat_from = current
        elif op in ("Gemm", "MatMul", "Conv"):
            flat_from = None
        out = None if current is None else next_shape(op, attrs, weights, current)
        config["out_shape"] = out
        config["output_shape"] = None if out is None else ir_shape(out)
        config["is_input"] = not records
        config.update(_display(op, attrs, weights, out))
        records.append(LayerRecord(name, op, config, weights))
        data.update(node.output)
        path_tensor, current = node.output[0], out
    if graph.output[0].name != path_tensor and graph.output[0].name not in data:
        raise ModelFileError(f"{path}: the graph output '{graph.output[0].name}' is not "
                             "computed from its input")
    return Architecture(graph.name or Path(path).stem, ir_shape(shape), records,
                        source=_source(model)), problem


def _display(op: str, attrs: dict[str, Any], weights: dict[str, np.ndarray],
             out: tuple[int, ...] | None) -> dict[str, Any]:
    """The settings ``spikeforge inspect`` shows (the keys it reads in Keras configs)."""
    shown: dict[str, Any] = {}
    if op == "Conv" and "W" in weights:
        shown["filters"] = int(weights["W"].shape[0])
        shown["kernel_size"] = [int(k) for k in weights["W"].shape[2:]]
    if op in ("MaxPool", "AveragePool"):
        shown["pool_size"] = list(attrs.get("kernel_shape", []))
    if op in ("Conv", "MaxPool", "AveragePool"):
        shown["strides"] = list(attrs.get("strides") or [])
        shown["padding"] = list(attrs.get("pads") or []) or attrs.get("auto_pad")
    if op in ("Gemm", "MatMul", "MatMul+Add") and out is not None:
        shown["units"] = out[0]
    if op == "Reshape" and out is not None:
        shown["target_shape"] = list(out)
    if op == "Quant" and "bitwidth" in weights:
        shown["bits"] = int(np.asarray(weights["bitwidth"]).ravel()[0])
    return shown


def _input_shape(path: Path, value: Any) -> tuple[tuple[int, ...], str | None]:
    """The model input's ONNX shape without batch (a placeholder for an unknown dimension)
    and why it is refused, if it is."""
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in value.type.tensor_type.shape.dim]
    given = tuple(dims[1:])
    if len(dims) < 2 or len(dims) > 4:
        return (1,), (f"model '{Path(path).stem}' has input shape {tuple(dims)} (batch first): "
                      f"spikeforge reads {INPUT_KINDS}, exported as (N, F), (N, C, L) or "
                      "(N, C, H, W); reshape the data to one of these before the model")
    if any(d is None or d < 1 for d in given):
        return tuple(d or 32 for d in given), (
            f"model '{Path(path).stem}' has input shape {tuple(dims)} (batch first): give "
            "every input dimension but the batch a size when exporting (the hardware streams "
            "a fixed number of input elements)")
    return tuple(int(d) for d in given), None


def _source(model: Any) -> str:
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                default=0)
    quant = any(node.op_type in QUANT_DOMAIN_OPS for node in model.graph.node)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    kind = "QONNX" if quant else "ONNX"
    return f"{kind} opset {opset}" + (f", written by {producer}" if producer else "")
