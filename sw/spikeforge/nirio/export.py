"""An integer network -> a NIR graph file (``spikeforge export-nir``; docs/nir.md).

The graph holds the spec's integers unchanged: ``Input`` (channel-first, as NIR shapes
are), a ``Scale`` by the input format's scale (the graph's input is the data as the ANN
sees it, ``pixel / 255`` for pixels; times the scale it is the input integers), then per
neuron layer a ``Conv2d`` / ``Conv1d`` or (after a ``Flatten`` in NIR's channel-first
order) an ``Affine``, and ``IF`` neurons with ``r = 1``, ``v_reset = 0`` and the integer
threshold of their channel. The graph's metadata says what NIR's IF cannot: the reset
mode and that the spec fires at ``v >= threshold``; ``generator: spikeforge`` is how
spikeforge knows a ``.nir`` file is its own and may replace it.

Written atomically: into a hidden temporary file beside the target, then renamed over it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from pathlib import Path

import nir
import numpy as np

from .. import __version__
from ..errors import UserError
from ..ir import Network, NeuronLayer, Shape
from ..netfile import build_id
from ..quant import initial_membrane
from . import GENERATOR


class NirExportError(UserError):
    """A network NIR cannot describe, or an output path spikeforge may not write."""


def _nir_shape(shape: Shape) -> tuple[int, ...]:
    """The IR's (H, W, C), (1, L, C) or (L, C) as NIR's (C, H, W), (C, L)."""
    if len(shape) == 1:
        return tuple(shape)
    if len(shape) == 3 and shape[0] == 1:
        return (shape[2], shape[1])
    return (shape[-1], *shape[:-1])


def _check(net: Network) -> None:
    if not net.is_integer:
        raise NirExportError(f"network '{net.name}' is the float SNN; export the integer one "
                             "(snn.json of a converted network)")
    problems = []
    for layer in net.layers:
        if not isinstance(layer, NeuronLayer):
            problems.append(f"layer '{layer.name}' is a max-pool gate: NIR has no spiking "
                            "max-pool node; convert a network with average pooling or strided "
                            "convolutions")
        elif layer.pads[0] != layer.pads[1] or layer.pads[2] != layer.pads[3]:
            problems.append(f"layer '{layer.name}' pads {layer.pads} unevenly (top, bottom, "
                            "left, right): NIR's convolutions pad both sides alike; use odd "
                            "kernels with stride 1 or 'valid' padding")
    if net.config.input_mode == "poisson":
        problems.append("its input is Poisson spikes from spikeforge's own generator, which NIR "
                        "cannot describe; convert with --input analog")
    starts = [la.name for la in net.neuron_layers if initial_membrane(la, net.config).any()]
    if net.config.v_init == "half" and all(la.v_init is None for la in net.neuron_layers):
        problems.append("its membranes start at half the threshold; NIR's IF has no initial "
                        "membrane: convert with --v-init zero")
    elif starts:
        problems.append(f"the membranes of layer(s) {', '.join(map(repr, starts))} start "
                        "above or below zero (the config's v_init or a calibrated initial "
                        "membrane); NIR's IF has no initial membrane: convert with --v-init "
                        "zero and --calibrate none or bias")
    if problems:
        raise NirExportError(f"network '{net.name}' cannot be written as NIR: "
                             + "; ".join(problems))


def _per_neuron(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """One value per channel broadcast over NIR's channel-first neuron shape."""
    per = values.astype(np.float64).reshape(-1, *([1] * (len(shape) - 1)))
    return np.broadcast_to(per, shape).copy()


def _synapse(layer: NeuronLayer, nir_in: tuple[int, ...]) -> nir.NIRNode:
    w = layer.weights.astype(np.float64)
    bias = layer.bias.astype(np.float64)
    if layer.kind == "dense":
        if len(nir_in) == 1:
            return nir.Affine(weight=w.T.copy(), bias=bias)
        spatial = nir_in[1:]
        cols = w.reshape(*spatial, nir_in[0], -1)  # IR flatten order (*spatial, C)
        cols = np.moveaxis(np.moveaxis(cols, -1, 0), -1, 1)  # (out, C, *spatial)
        return nir.Affine(weight=cols.reshape(cols.shape[0], -1).copy(), bias=bias)
    kernel = np.transpose(w, (3, 2, 0, 1))  # (cout, cin, kh, kw)
    if len(nir_in) == 2:
        return nir.Conv1d(input_shape=nir_in[1], weight=kernel[:, :, 0, :].copy(),
                          stride=layer.strides[1], padding=layer.pads[2], dilation=1,
                          groups=1, bias=bias)
    return nir.Conv2d(input_shape=nir_in[1:], weight=kernel.copy(), stride=layer.strides,
                      padding=(layer.pads[0], layer.pads[2]), dilation=(1, 1), groups=1,
                      bias=bias)


def network_to_nir(net: Network) -> nir.NIRGraph:
    """The NIR graph of the integer network ``net`` (NirExportError if NIR cannot hold it)."""
    _check(net)
    shape = _nir_shape(net.input_shape)
    fmt = net.input_format
    nodes: dict[str, nir.NIRNode] = {
        "input": nir.Input(input_type={"input": np.array(shape)}),
        "input_scale": nir.Scale(scale=np.full(shape, fmt.scale)),
    }
    chain = ["input", "input_scale"]
    for layer in net.neuron_layers:
        nir_in = _nir_shape(layer.in_shape) if layer.kind == "conv" else shape
        if layer.kind == "dense" and len(shape) > 1:
            nodes[f"{layer.name}_flatten"] = nir.Flatten(
                input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)
            chain.append(f"{layer.name}_flatten")
        nodes[layer.name] = _synapse(layer, nir_in)
        out = _nir_shape(layer.out_shape)
        nodes[f"{layer.name}_if"] = nir.IF(r=np.ones(out), v_threshold=_per_neuron(
            layer.threshold, out), v_reset=np.zeros(out))
        chain += [layer.name, f"{layer.name}_if"]
        shape = out
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    chain.append("output")
    metadata = {
        "generator": GENERATOR,
        "version": __version__,
        "build_id": build_id(net),
        "reset": net.config.reset,
        "fire": "v >= threshold",
        "timesteps": net.config.timesteps,
        "input_bits": fmt.bits,
        "input_signed": int(fmt.signed),
        "input_scale": fmt.scale,
    }
    return nir.NIRGraph(nodes=nodes, edges=list(itertools.pairwise(chain)),
                        metadata=metadata)


def is_own_file(path: Path) -> bool:
    """Whether ``path`` is a NIR graph spikeforge wrote (its metadata names the generator)."""
    try:
        graph = nir.read(path)
    except Exception:  # anything unreadable as NIR is not ours
        return False
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    value = meta.get("generator")
    return (value.decode() if isinstance(value, bytes) else value) == GENERATOR


def write_nir(graph: nir.NIRGraph, out: Path) -> None:
    """Write ``graph`` to ``out`` atomically; replace only a .nir file spikeforge wrote."""
    out = Path(out)
    if out.is_dir():
        raise NirExportError(f"{out} is a directory; give a file name such as {out / 'net.nir'}")
    if out.exists() and not is_own_file(out):
        raise NirExportError(f"{out} exists and was not written by spikeforge export-nir; "
                             "choose another path or remove it yourself")
    if not out.parent.is_dir():
        raise NirExportError(f"{out.parent} is not a directory; create it first")
    temp = out.parent / f".{out.name}.spikeforge-staging-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        nir.write(temp, graph)
        os.replace(temp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
