"""What each layer of a model becomes in the spiking network, before any conversion work.

:func:`inspect_model` checks every layer record and returns one row per layer: its
settings, parameter count, output shape and what it maps to, or why it is refused with the
fix. It does not stop at the first refusal: after a refused layer the layers go on being
checked (with the shape the refused layer gives where that is known). What it says about a
BatchNorm is what ``convert``'s own fold pass does with it (:func:`fold_batchnorm_report`,
run on the mapped layers), and when every layer maps the verdict comes from running
``convert``'s graph steps. The input shape is judged after the layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import ir
from ..ann_numpy import infer_shapes, output_shape
from ..errors import UnsupportedLayerError
from ..passes.batchnorm import fold_batchnorm_report
from ..passes.canonical import drop_dropout
from .errors import ModelFileError
from .layers import HANDLERS, map_layer
from .quantizers import QuantizerError, hgq_quantizer, parse_quantizer
from .sources import read_for_inspection
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
    input_problem: str | None = None  # why the input shape is refused (the layers are read)


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
    for key in ("padding", "activation", "max_value", "target_shape", "rate", "levels", "bits"):
        if c.get(key) is not None and c.get(key) != "linear":
            value = c[key]
            parts.append(f"{key} {_quantizer_text(value) if key == 'activation' else _fmt(value)}")
    if c.get("use_bias") is False:
        parts.append("no bias")
    for key in ("kernel_quantizer", "bias_quantizer"):
        if c.get(key) is not None:
            parts.append(f"{key.split('_')[0]} {_quantizer_text(c[key])}")
    if rec.class_name.startswith("hgq>"):
        parts = [p for p in parts if not p.startswith("activation {")] + _hgq_settings(rec)
    return ", ".join(parts)


def _relu_text(relu: ir.Relu | None) -> str:
    if relu is None:
        return "linear"
    if relu.levels is not None:
        return f"clip-floor, {relu.levels} levels up to {relu.cap:g} (threshold = cap)"
    return "ReLU" if relu.cap is None else f"ReLU capped at {relu.cap:g} (threshold = cap)"


def _describe(layers: list[ir.AnnLayer], exact: bool = True) -> str:
    """What ``layers`` (one record's IR layers) become; ``exact``: their input shape is known
    (otherwise a padded convolution's pads, which depend on it, are not given)."""
    texts = []
    for layer in layers:
        if isinstance(layer, ir.Conv2D):
            kh, kw = layer.kernel.shape[:2]
            pads = f"pads {_fmt(layer.pads)}" if exact else "pads ?"
            texts.append(f"IF conv {kh}x{kw}/{_fmt(layer.strides)} {pads}")
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
        elif isinstance(layer, ir.Reshape):
            texts.append(f"relabelled as {_fmt(layer.target)} (no neurons)")
        elif isinstance(layer, ir.Dropout):
            texts.append("dropped (identity at inference)")
        elif isinstance(layer, ir.Softmax):
            texts.append("dropped: the class is the neuron that spikes most")
        else:
            texts.append(type(layer).__name__)
    return "; ".join(texts) if texts else "nothing (identity)"


def _params(rec: LayerRecord) -> int:
    """The layer's parameters: not the bit widths of HGQ2's quantizers (``kq/0``, ...) nor
    its bookkeeping variables."""
    hgq = rec.class_name.startswith("hgq>")
    if rec.config.get("onnx") and rec.class_name in ("Reshape", "Quant", "Clip", "Dropout"):
        return 0  # a target shape, a quantizer's scale and bits, bounds: not parameters
    return int(sum(np.asarray(w).size for key, w in rec.weights.items()
                   if "/" not in key and not (hgq and key.startswith("variable_"))))


def _hgq_settings(rec: LayerRecord) -> list[str]:
    """HGQ2 quantizers in short: ``kq fixed<k=1, i=0..2, f=3..5, RND, SAT_SYM>``."""
    parts = []
    for key in ("iq", "kq", "bq", "oq", "quantizer"):
        if key in ("iq", "oq") and not rec.config.get(f"enable_{key}"):
            continue
        spec = rec.config.get("config" if key == "quantizer" else f"{key}_conf")
        variables = []
        while f"{key}/{len(variables)}" in rec.weights:
            variables.append(np.asarray(rec.weights[f"{key}/{len(variables)}"]))
        try:
            quantizer = hgq_quantizer(spec, variables)
        except QuantizerError:
            quantizer = None
        if quantizer is not None:
            parts.append(f"{'' if key == 'quantizer' else key + ' '}{quantizer.describe()}")
    return parts


# Layers that keep their input's shape: after one of them is refused, the shapes after it
# are still known.
_SHAPE_KEEPING = {
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax",
    "QActivation", "hgq>Quantizer", "BatchNormalization", "QBatchNormalization",
    "LayerNormalization", "GroupNormalization", "UnitNormalization", "Normalization",
    "Rescaling", "Masking", "Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise",
    "AlphaDropout", "ActivityRegularization",
}


def _shape_after_refused(rec: LayerRecord, shape: ir.Shape | None) -> ir.Shape | None:
    """The output shape of a refused layer, where it can be known: shape-keeping layers,
    and standard Keras layers whose ``compute_output_shape`` Keras can tell."""
    if shape is None:
        return None
    if rec.config.get("onnx"):  # an ONNX node: the reader tracked its shape
        return rec.config.get("output_shape")
    if rec.class_name in _SHAPE_KEEPING:
        return shape
    if rec.class_name == "Lambda" or ">" in rec.class_name:
        return None  # Python code, or another library's class: nothing to ask
    try:
        import warnings

        import keras

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = keras.layers.deserialize(
                {"module": "keras.layers", "class_name": rec.class_name, "config": rec.config})
            out = layer.compute_output_shape((None, *shape))
        dims = tuple(out)[1:]
        if all(isinstance(d, int) for d in dims):
            return dims
    except Exception:  # best effort: an unknown shape is said to be unknown
        pass
    return None


def _probe_shape(rec: LayerRecord) -> tuple[ir.Shape, bool]:
    """An input shape to check a layer's settings with when its real input shape is
    unknown, and whether it is the real one (a Dense's flat input is)."""
    kernel = rec.weights.get("kernel")
    if kernel is not None and np.ndim(kernel) == 2:
        return (int(np.shape(kernel)[0]),), True
    if kernel is not None and np.ndim(kernel) == 4:
        kh, kw, cin = np.shape(kernel)[:3]
        return (max(16, 4 * kh), max(16, 4 * kw), int(cin)), False
    for key in ("moving_mean", "gamma", "beta"):
        if key in rec.weights:
            return (16, 16, int(np.size(rec.weights[key]))), False
    return (16, 16, 1), False


@dataclass
class _Piece:
    """A run of mapped layers whose input shape is known, between refused layers."""

    input_shape: ir.Shape
    open_start: bool
    layers: list[ir.AnnLayer]
    rows: dict[str, LayerRow]  # IR layer name -> its row
    open_end: bool = False


def _map_rows(arch: Architecture, input_known: bool
              ) -> tuple[list[LayerRow], list[_Piece], list[str]]:
    """One row per layer record, every record checked: the mapped layers in pieces of known
    input shape, and the refusals in layer order."""
    rows: list[LayerRow] = []
    pieces: list[_Piece] = []
    problems: list[str] = []
    shape: ir.Shape | None = tuple(arch.input_shape) if input_known else None
    piece: _Piece | None = None
    cut = not input_known  # a refusal (or an unknown input) lies before the current layer
    unknown = "the model's input shape is refused"  # why a shape is unknown
    for rec in arch.layers:
        row = LayerRow(rec.name, rec.class_name, settings_of(rec), _params(rec), None, "")
        rows.append(row)
        exact = shape is not None
        probe, real = (shape, True) if exact else _probe_shape(rec)
        try:
            mapped = map_layer(rec, probe)
        except UnsupportedLayerError as err:
            row.refused = True
            hedge = ("" if exact or rec.class_name not in HANDLERS
                     else f" (checked without its input shape: {unknown})")
            row.maps_to = f"refused{hedge}: {err}"
            problems.append(str(err))
            if piece is not None:
                piece.open_end = True
            piece, cut = None, True
            if shape is not None:
                shape = _shape_after_refused(rec, shape)
                unknown = f"the refused '{rec.name}' before it changes the shape"
            continue
        except ModelFileError:
            if exact:
                raise
            row.maps_to = f"not checked: its input shape is unknown ({unknown})"
            continue
        if not exact and not real:
            row.maps_to = (f"{_describe(mapped, exact=False)} (checked without its input "
                           f"shape: {unknown})")
            continue
        if piece is None:
            piece = _Piece(probe, open_start=cut, layers=[], rows={})
            pieces.append(piece)
        out = probe
        for layer in mapped:
            out = output_shape(layer, out)
            piece.rows[layer.name] = row
        piece.layers.extend(mapped)
        shape = out
        row.out_shape = out if input_known else None
        row.maps_to = _describe(mapped, exact=input_known)
    return rows, pieces, problems


def _fold_rows(piece: _Piece) -> list[UnsupportedLayerError]:
    """Run the BatchNorm fold of ``convert`` on a piece; say on each BatchNorm's row where it
    folds (or why not), and return its refusals."""
    graph = drop_dropout(ir.AnnGraph(piece.input_shape, piece.layers))
    report = fold_batchnorm_report(graph, (piece.open_start, piece.open_end))
    for fold in report.folds:
        row = piece.rows[fold.bn]
        row.maps_to = fold.text()
        row.refused = fold.refusal is not None
    return report.refusals


def _graph_verdict(graph: ir.AnnGraph, piece: _Piece) -> tuple[list[str], str | None]:
    """Run convert's graph steps (no data needed). The BatchNorm fold reports every
    refusal; the other steps stop at their first. Returns the refusals, or the summary."""
    from ..flow import GRAPH_STEPS, ConversionState, ConvertOptions

    refusals = _fold_rows(piece)
    if refusals:
        return [str(err) for err in refusals], None
    state = ConversionState(graph=graph, calibration=np.zeros((0, *graph.input_shape), np.uint8))
    try:
        for _name, step in GRAPH_STEPS:
            state = step(state, ConvertOptions())
    except UnsupportedLayerError as err:
        culprit = (err.layer or "").split("/")[0]
        for row in piece.rows.values():
            if row.name == culprit:
                row.maps_to, row.refused = f"refused: {err}", True
        return [str(err)], None
    neurons = [la for la in state.graph.layers if isinstance(la, ir.Conv2D | ir.Dense)]
    gates = [la for la in state.graph.layers if isinstance(la, ir.MaxPool)]
    shapes = [s for s, la in zip(infer_shapes(state.graph), state.graph.layers, strict=True)
              if isinstance(la, ir.Conv2D | ir.Dense)]
    count = sum(int(np.prod(s)) for s in shapes)
    return [], (f"converts: {len(neurons)} IF layers ({count} neurons), {len(gates)} max-pool "
                f"gates, {shapes[-1][0]} output classes")


def _verdict(problems: list[str]) -> str:
    if len(problems) == 1:
        return f"refused: {problems[0]}"
    listed = "\n".join(f"- {p}" for p in problems)
    return f"refused: {len(problems)} problems:\n{listed}"


def inspect_model(path: Path, weights: Path | None = None) -> Inspection:
    """Read ``path`` (and ``weights``) and say how each layer maps, or why it can't: every
    layer is checked, whatever is refused before it; the graph passes ``convert`` runs give
    the verdict (the BatchNorm fold, on each piece between refused layers, gives all its
    refusals); the input shape is judged last."""
    arch, input_problem = read_for_inspection(path, weights)
    rows, pieces, problems = _map_rows(arch, input_known=input_problem is None)
    summary = None
    if not problems and input_problem is None and len(pieces) == 1:
        piece = pieces[0]
        graph = ir.AnnGraph(tuple(arch.input_shape), piece.layers, arch.name)
        problems, summary = _graph_verdict(graph, piece)
    else:
        for piece in pieces:
            problems += [str(err) for err in _fold_rows(piece)]
        problems.sort(key=lambda text: _row_index(rows, text))
        if input_problem is not None:
            problems.append(input_problem)
    if summary is None and not problems:  # a model of no layers
        problems = [f"model '{arch.name}' has no layers to convert"]
    verdict = summary if summary is not None else _verdict(problems)
    return Inspection(arch.name, arch.source, tuple(arch.input_shape), rows, verdict,
                      summary is not None, input_problem)


def _row_index(rows: list[LayerRow], problem: str) -> int:
    """Where a refusal's layer sits in the table (the refusal text names it first)."""
    for index, row in enumerate(rows):
        if problem.startswith(f"layer '{row.name}'"):
            return index
    return len(rows)
