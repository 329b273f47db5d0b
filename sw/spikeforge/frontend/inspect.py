"""What each layer of a model becomes in the spiking network, before any conversion work.

:func:`inspect_model` maps every layer record, runs the graph passes (no data needed) and
returns one row per layer: its settings, parameter count, output shape and what it maps
to, or why it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import ir
from ..ann_numpy import output_shape
from .errors import UnsupportedLayerError
from .layers import map_layer
from .quantizers import QuantizerError, parse_quantizer
from .sources import read_model
from .topology import Architecture, LayerRecord


@dataclass
class LayerRow:
    name: str
    class_name: str
    settings: str
    params: int
    out_shape: ir.Shape | None
    maps_to: str
    refused: bool = False


@dataclass
class Inspection:
    name: str
    source: str
    input_shape: ir.Shape
    rows: list[LayerRow]
    verdict: str
    ok: bool


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "x".join(map(str, value))
    return str(value)


_DEFAULTS = {"symmetric": 0, "alpha": None, "keep_negative": True, "use_sigmoid": 0,
             "negative_slope": 0.0, "qnoise_factor": 1.0}


def _quantizer_text(spec: Any) -> str:
    """A QKeras quantizer in its short form, ``quantized_bits(4,0,alpha=1)``."""
    try:
        q = parse_quantizer(spec)
    except QuantizerError:
        return str(spec)
    if q is None or not q.config:
        return str(spec) if q is None else q.name
    args = [str(q.config.get("bits", 8)), str(q.config.get("integer", 0))]
    args += [f"{k}={q.config[k]!r}" for k, default in _DEFAULTS.items()
             if k in q.config and q.config[k] != default]
    return f"{q.name}({','.join(args)})"


def settings_of(rec: LayerRecord) -> str:
    """A short summary of the settings that matter for conversion."""
    c = rec.config
    parts: list[str] = []
    if "filters" in c:
        parts.append(f"{c['filters']} filters {_fmt(c.get('kernel_size'))}")
    if "units" in c:
        parts.append(f"{c['units']} units")
    if "pool_size" in c:
        parts.append(f"pool {_fmt(c['pool_size'])}")
    if "strides" in c and c.get("strides") is not None:
        parts.append(f"strides {_fmt(c['strides'])}")
    for key in ("padding", "activation", "max_value", "target_shape", "rate", "levels"):
        if c.get(key) is not None and c.get(key) != "linear":
            value = c[key]
            parts.append(f"{key} {_quantizer_text(value) if key == 'activation' else _fmt(value)}")
    if c.get("use_bias") is False:
        parts.append("no bias")
    for key in ("kernel_quantizer", "bias_quantizer"):
        if c.get(key) is not None:
            parts.append(f"{key.split('_')[0]} {_quantizer_text(c[key])}")
    return ", ".join(parts)


def _relu_text(relu: ir.Relu | None) -> str:
    if relu is None:
        return "linear"
    if relu.levels is not None:
        return f"clip-floor, {relu.levels} levels up to {relu.cap:g} (threshold = cap)"
    return "ReLU" if relu.cap is None else f"ReLU capped at {relu.cap:g} (threshold = cap)"


def _describe(layers: list[ir.AnnLayer], shape: ir.Shape) -> str:
    texts = []
    for layer in layers:
        if isinstance(layer, ir.Conv2D):
            kh, kw = layer.kernel.shape[:2]
            texts.append(f"IF conv {kh}x{kw}/{_fmt(layer.strides)} pads {_fmt(layer.pads)}")
        elif isinstance(layer, ir.Dense):
            texts.append(f"IF dense {layer.weights.shape[0]}->{layer.weights.shape[1]}")
        elif isinstance(layer, ir.MaxPool):
            texts.append("max-pool gate (passes the most active input's spikes)")
        elif isinstance(layer, ir.AvgPool):
            texts.append("fixed-weight IF conv (average)")
        elif isinstance(layer, ir.BatchNorm):
            texts.append("folded exactly into a neighbouring Conv2D/Dense")
        elif isinstance(layer, ir.ReLU):
            texts.append(f"neuron activation: {_relu_text(layer.spec)}")
        elif isinstance(layer, ir.Flatten):
            texts.append("row-major flatten (no neurons)")
        elif isinstance(layer, ir.Dropout):
            texts.append("dropped (identity at inference)")
        elif isinstance(layer, ir.Softmax):
            texts.append("dropped: the class is the neuron that spikes most")
    return "; ".join(texts) if texts else "nothing (identity)"


def _params(rec: LayerRecord) -> int:
    return int(sum(np.asarray(w).size for w in rec.weights.values()))


def _map_rows(arch: Architecture) -> tuple[list[LayerRow], list[ir.AnnLayer], str | None]:
    rows: list[LayerRow] = []
    graph_layers: list[ir.AnnLayer] = []
    shape: ir.Shape | None = tuple(arch.input_shape)
    refusal = None
    for rec in arch.layers:
        row = LayerRow(rec.name, rec.class_name, settings_of(rec), _params(rec), None, "")
        rows.append(row)
        if shape is None:
            row.maps_to = "not checked (an earlier layer is refused)"
            continue
        try:
            mapped = map_layer(rec, shape)
        except UnsupportedLayerError as err:
            row.maps_to, row.refused, refusal, shape = f"refused: {err}", True, str(err), None
            continue
        for layer in mapped:
            shape = output_shape(layer, shape)
        row.out_shape, row.maps_to = shape, _describe(mapped, shape)
        graph_layers.extend(mapped)
    return rows, graph_layers, refusal


def _graph_verdict(graph: ir.AnnGraph, rows: list[LayerRow]) -> tuple[str, bool]:
    from ..flow import GRAPH_STEPS, ConversionState, ConvertOptions

    state = ConversionState(graph=graph, calibration=np.zeros((0, *graph.input_shape), np.uint8))
    try:
        for _name, step in GRAPH_STEPS:
            state = step(state, ConvertOptions())
    except UnsupportedLayerError as err:
        culprit = (err.layer or "").split("/")[0]
        for row in rows:
            if row.name == culprit:
                row.maps_to, row.refused = f"refused: {err}", True
        return f"refused: {err}", False
    neurons = [la for la in state.graph.layers if isinstance(la, ir.Conv2D | ir.Dense)]
    gates = [la for la in state.graph.layers if isinstance(la, ir.MaxPool)]
    shapes = [s for s, la in zip(_shapes(state.graph), state.graph.layers, strict=True)
              if isinstance(la, ir.Conv2D | ir.Dense)]
    count = sum(int(np.prod(s)) for s in shapes)
    return (f"converts: {len(neurons)} IF layers ({count} neurons), {len(gates)} max-pool "
            f"gates, {shapes[-1][0]} output classes"), True


def _shapes(graph: ir.AnnGraph) -> list[ir.Shape]:
    from ..ann_numpy import infer_shapes

    return infer_shapes(graph)


def inspect_model(path: Path, weights: Path | None = None) -> Inspection:
    """Read ``path`` (and ``weights``) and say how each layer maps, or why it can't."""
    arch = read_model(path, weights)
    rows, layers, refusal = _map_rows(arch)
    if refusal is not None:
        verdict, ok = f"refused: {refusal}", False
    else:
        graph = ir.AnnGraph(tuple(arch.input_shape), layers, arch.name)
        verdict, ok = _graph_verdict(graph, rows)
    return Inspection(arch.name, arch.source, tuple(arch.input_shape), rows, verdict, ok)
