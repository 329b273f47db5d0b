"""A NIR chain as integrate-and-fire layers in the IR's layout (docs/nir.md).

Each neuron layer of the spec is a synapse node (Affine, Linear, Conv1d, Conv2d), an
optional Scale of its current, and IF neurons (or snnTorch's leak-free LIF). What sits
between a layer's neurons and the next synapse (Flatten, SumPool2d / AvgPool2d) is linear
on spikes and is folded into that synapse's weights (:mod:`.synapse`). A Scale right
after the Input is the input scale. NIR's IF update ``v' = r * I`` over one
step adds ``r * (W s + b)``, so ``r`` multiplies the synapse's weights and bias.

Every node gets a row (what it becomes, or why it is refused); the walk goes on after a
refusal with the node's declared output shape, so that every problem is listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nir
import numpy as np

from .. import ir
from . import GENERATOR
from .graph import NirChain, kind_of, node_refusal
from .synapse import Pool, Synapse, conv_synapse, dense_synapse, ir_shape, pair

Shape = tuple[int, ...]


@dataclass
class NirLayer:
    """One IF layer read from NIR: float weights in the IR's layout, current gain applied."""

    name: str
    kind: str  # conv | dense
    in_shape: Shape  # IR layout (H, W, C) or (N,)
    out_shape: Shape
    weights: np.ndarray  # conv (kh, kw, cin, cout); dense (nin, nout)
    bias: np.ndarray  # (cout,)
    threshold: np.ndarray  # (cout,) positive
    strides: tuple[int, int] = (1, 1)
    pads: ir.Pads = (0, 0, 0, 0)


@dataclass
class NodeRow:
    name: str
    kind: str
    settings: str
    params: int
    out_shape: Shape | None  # NIR layout
    maps_to: str
    refused: bool = False


@dataclass
class NirModel:
    name: str
    input_shape: Shape  # IR layout
    input_scale: float | None  # a Scale node right after the Input
    layers: list[NirLayer]
    rows: list[NodeRow]
    reset: str  # what the graph records: 'zero' (NIR's IF) or 'subtract' (spikeforge's files)
    problems: list[str] = field(default_factory=list)
    input_format: ir.InputFormat | None = None  # recorded by spikeforge's export


def _per_channel(values, out_shape: Shape, what: str) -> np.ndarray:
    """``values`` (scalar, per channel, or per neuron) as one value per output channel;
    ValueError when they differ within a channel (the core holds one per channel)."""
    arr = np.asarray(values, dtype=np.float64)
    channels = out_shape[0]
    if arr.size == 1:
        return np.full(channels, float(arr.ravel()[0]))
    if arr.shape == (channels,):
        return arr.copy()
    full = np.broadcast_to(arr, out_shape).reshape(channels, -1)
    if not (full == full[:, :1]).all():
        raise ValueError(f"{what} differs between neurons of one channel; the core holds one "
                         "value per output channel")
    return full[:, 0].copy()


class _Refused(Exception):
    """A node the walk refuses (the message is the reason)."""


@dataclass
class _Pending:
    """A synapse read but not yet closed by its neurons."""

    name: str
    synapse: Synapse
    bias: np.ndarray
    gain: np.ndarray | None = None  # a Scale of the current, per channel


class _Walk:
    """The state while reading the chain node by node."""

    def __init__(self, chain: NirChain) -> None:
        self.chain = chain
        self.shape: Shape | None = None  # NIR layout of the current activations
        self.base: Shape | None = None  # NIR shape the next synapse really reads (before pools)
        self.pools: list[Pool] = []  # the pools since base, first first
        self.flat = False
        self.pending: _Pending | None = None
        self.layers: list[NirLayer] = []
        self.input_scale: float | None = None
        self.input_shape: Shape = ()
        self.previous = ""  # the kind of the node before
        self.node_name = ""  # the name of the node being read
        self.refused_any = False

    # -- one method per node kind; each returns (settings, params, maps_to) --------------

    def input(self, node: nir.Input) -> tuple[str, int, str]:
        shape = tuple(int(d) for d in np.asarray(node.input_type["input"]).ravel())
        if not 1 <= len(shape) <= 3 or min(shape) < 1:
            raise _Refused(f"input shape {shape}: the core takes (N,), (C, L) or (C, H, W)")
        self.shape = self.base = shape
        self.input_shape = ir_shape(shape)
        ir_text = "x".join(map(str, self.input_shape))
        return "x".join(map(str, shape)), 0, f"input {ir_text} (IR layout)"

    def scale(self, node: nir.Scale) -> tuple[str, int, str]:
        s = np.asarray(node.scale, dtype=np.float64)
        uniform = bool((s == s.ravel()[0]).all())
        text = f"x {s.ravel()[0]:g}" if uniform else f"{s.size} factors"
        if self.previous == "Input":
            if not uniform:
                raise _Refused("a per-element input scale: the input format has one scale")
            value = float(s.ravel()[0])
            if not (np.isfinite(value) and value > 0):
                raise _Refused(f"input scale {value}: it must be positive")
            self.input_scale = value
            return text, s.size, "the input scale: input integer = round(x * s)"
        if self.pending is None:
            raise _Refused("a Scale between neurons and a synapse: put it before the neurons "
                           "(it then scales their current) or fold it into the weights")
        gain = _per_channel(s, self.pending.synapse.nir_out, "the scale")
        self.pending.gain = gain if self.pending.gain is None else self.pending.gain * gain
        return text, s.size, f"folded into {self.pending.name}'s current"

    def flatten(self, node: nir.Flatten) -> tuple[str, int, str]:
        self._need_shape()
        rank = len(self.shape)
        start, end = node.start_dim % rank if rank else 0, node.end_dim % rank if rank else 0
        if self.pending is not None:
            raise _Refused("a Flatten of a synapse's current: flatten the spikes, after the "
                           "neurons")
        if (start, end) != (0, rank - 1):
            raise _Refused(f"flattens dimensions {start}..{end} of {self.shape}: only a full "
                           "flatten to a vector maps onto a dense layer")
        self.flat = True
        self.shape = (int(np.prod(self.shape)),)
        settings = f"dims {node.start_dim}..{node.end_dim}"
        return settings, 0, "relabels the spikes (folded into the next weights)"

    def pool(self, node, kind: str) -> tuple[str, int, str]:
        self._need_shape()
        kernel, stride = pair(node.kernel_size, "kernel_size"), pair(node.stride, "stride")
        padding = pair(node.padding, "padding")
        text = f"{kernel[0]}x{kernel[1]} /{stride[0]},{stride[1]} pad {padding[0]},{padding[1]}"
        if self.pending is not None or len(self.shape) != 3 or self.flat:
            raise _Refused("pooling must act on the spikes of a (C, H, W) layer")
        if stride != kernel or padding != (0, 0):
            raise _Refused(f"{kind} with stride {stride} and padding {padding}: only windows "
                           "that tile the input (stride = kernel, no padding) fold into the "
                           "next synapse")
        factor = 1.0 if kind == "SumPool2d" else 1.0 / (kernel[0] * kernel[1])
        self.pools.append((kernel[0], kernel[1], factor))
        c, h, w = self.shape
        self.shape = (c, h // kernel[0], w // kernel[1])
        return text, 0, "folded into the next synapse's weights"

    def synapse(self, node, kind: str) -> tuple[str, int, str]:
        self._need_shape()
        if self.pending is not None:
            raise _Refused(f"two synapses in a row ({self.pending.name}, then this one) with no "
                           "neurons between them: merge them into one before export")
        weight = np.asarray(node.weight, dtype=np.float64)
        if kind in ("Affine", "Linear"):
            syn = dense_synapse(weight, self.shape, self.base, self.pools)
        else:
            syn = conv_synapse(weight, node, kind, self.shape, self.base, self.pools, self.flat)
        bias = np.zeros(syn.weights.shape[-1])
        if kind != "Linear" and getattr(node, "bias", None) is not None:
            bias = np.broadcast_to(np.asarray(node.bias, np.float64), bias.shape).copy()
        self.pending = _Pending(self.node_name, syn, bias)
        self.shape = syn.nir_out
        settings = " x ".join(map(str, weight.shape))
        return settings, int(weight.size + (0 if kind == "Linear" else bias.size)), (
            f"{syn.kind} synapse {'x'.join(map(str, ir_shape(syn.nir_out)))}")

    def neurons(self, node, kind: str) -> tuple[str, int, str]:
        if self.pending is None:
            raise _Refused("neurons with no synapse before them: the core's neurons are fed "
                           "by a dense or convolution synapse")
        out = self.pending.synapse.nir_out
        try:
            theta = _per_channel(node.v_threshold, out, "the threshold")
            reset = _per_channel(node.v_reset, out, "v_reset")
            r = np.ones(out[0]) if kind == "LIF" else _per_channel(node.r, out, "r")
        except ValueError as err:
            raise _Refused(str(err)) from err
        if not (np.isfinite(theta).all() and (theta > 0).all()):
            raise _Refused("a threshold that is not a positive number: the spec's neurons "
                           "fire at a positive threshold")
        if not (np.isfinite(r).all() and (r > 0).all()):
            raise _Refused("r not a positive number: it scales the input current")
        if (reset != 0).any():
            raise _Refused("v_reset other than 0: the spec resets to zero or by subtraction")
        p, syn = self.pending, self.pending.synapse
        gain = r * (1.0 if p.gain is None else p.gain)
        self.layers.append(NirLayer(p.name, syn.kind, syn.in_shape, syn.out_shape,
                                    syn.weights * gain, p.bias * gain, theta, syn.strides,
                                    syn.pads))
        self.pending, self.base, self.pools, self.flat = None, out, [], False
        text = (f"threshold {theta.min():g}..{theta.max():g}, r {r.min():g}..{r.max():g}"
                if kind == "IF" else f"tau inf, threshold {theta.min():g}..{theta.max():g}")
        return text, 3 * theta.size, f"IF neurons of layer {p.name} (threshold per channel)"

    def output(self, node) -> tuple[str, int, str]:
        if self.refused_any:  # what the output would say follows from that refusal
            return "", 0, "output (after a refused node)"
        if self.pending is not None:
            raise _Refused(f"synapse {self.pending.name} feeds the output without neurons: "
                           "the core's output is the spike counts of IF neurons")
        if not self.layers:
            raise _Refused("the graph has no IF layer before its output")
        return "", 0, f"output: spike counts of {self.layers[-1].name}"

    def _need_shape(self) -> None:
        if self.shape is None:
            raise _Refused("its input shape is unknown after the refusal before it")


_HANDLERS = {
    "Input": lambda w, n, k: w.input(n),
    "Scale": lambda w, n, k: w.scale(n),
    "Flatten": lambda w, n, k: w.flatten(n),
    "SumPool2d": lambda w, n, k: w.pool(n, k),
    "AvgPool2d": lambda w, n, k: w.pool(n, k),
    "Affine": lambda w, n, k: w.synapse(n, k),
    "Linear": lambda w, n, k: w.synapse(n, k),
    "Conv1d": lambda w, n, k: w.synapse(n, k),
    "Conv2d": lambda w, n, k: w.synapse(n, k),
    "IF": lambda w, n, k: w.neurons(n, k),
    "LIF": lambda w, n, k: w.neurons(n, k),
    "Output": lambda w, n, k: w.output(n),
}


def _declared_shape(node: nir.NIRNode) -> Shape | None:
    out = getattr(node, "output_type", None) or {}
    shape = out.get("output") if isinstance(out, dict) else None
    if shape is None or np.asarray(shape).size == 0:
        return None
    return tuple(int(d) for d in np.asarray(shape).ravel())


def _own_metadata(chain: NirChain) -> dict:
    """The metadata of a graph spikeforge wrote (strings decoded), else {}."""
    meta = {k: v.decode() if isinstance(v, bytes) else v for k, v in chain.metadata.items()}
    return meta if meta.get("generator") == GENERATOR else {}


def _recorded_reset(meta: dict) -> str:
    """NIR's IF resets to v_reset (0): 'zero'; a graph spikeforge wrote records its mode."""
    return str(meta["reset"]) if meta.get("reset") in ("subtract", "zero") else "zero"


def _recorded_input(meta: dict) -> ir.InputFormat | None:
    """The input format a graph spikeforge wrote records, if it does and it is valid."""
    try:
        return ir.InputFormat(int(meta["input_bits"]), bool(meta["input_signed"]),
                              float(meta["input_scale"]))
    except (KeyError, TypeError, ValueError):
        return None


def read_layers(chain: NirChain) -> NirModel:
    """Walk ``chain``: a row per node and the IF layers; refusals in the rows and problems."""
    walk = _Walk(chain)
    rows: list[NodeRow] = []
    problems: list[str] = []
    for name, node in chain.nodes:
        kind = kind_of(node)
        walk.node_name = name
        reason = node_refusal(node) or chain.problems.get(name)
        row = NodeRow(name, kind, "", 0, None, "")
        if reason is None:
            try:
                row.settings, row.params, row.maps_to = _HANDLERS[kind](walk, node, kind)
                row.out_shape = walk.shape
            except (_Refused, ValueError) as err:
                reason = str(err)
        if reason is not None:
            row.maps_to, row.refused = f"refused: {reason}", True
            problems.append(f"node '{name}' ({kind}): {reason}")
            walk.refused_any = True
            walk.shape = walk.base = _declared_shape(node)
            walk.pending, walk.pools, walk.flat = None, [], False
            row.out_shape = walk.shape
        rows.append(row)
        walk.previous = kind
    for name, node in chain.off_path:
        reason = node_refusal(node) or chain.problems[name]
        rows.append(NodeRow(name, kind_of(node), "", 0, None, f"refused: {reason}", True))
        problems.append(f"node '{name}' ({kind_of(node)}): {reason}")
    if chain.nodes and kind_of(chain.nodes[-1][1]) != "Output" and not problems:
        problems.append(f"the path from the input ends at node '{chain.nodes[-1][0]}', not at "
                        "an Output node")
    meta = _own_metadata(chain)
    return NirModel(chain.name, walk.input_shape, walk.input_scale, walk.layers, rows,
                    _recorded_reset(meta), problems, _recorded_input(meta))
