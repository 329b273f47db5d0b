"""Layer records -> :class:`~spikeforge.ir.AnnGraph`, tracking each layer's input shape.

A model whose output is one sigmoid unit (a binary classifier) is read as two classes,
(1 - p, p): the spiking network's class is the neuron that spikes most, which needs one
neuron per class (:func:`.layers.binary_output`)."""

from __future__ import annotations

from pathlib import Path

from .. import ir
from ..ann_numpy import output_shape
from .layers import binary_output, map_layer
from .sources import read_model
from .topology import Architecture


def records_to_graph(arch: Architecture) -> ir.AnnGraph:
    """The ANN graph of a model's layer records."""
    layers: list[ir.AnnLayer] = []
    shape = tuple(arch.input_shape)
    for record in arch.layers:
        mapped = map_layer(record, shape)
        for layer in mapped:
            shape = output_shape(layer, shape)
        layers.extend(mapped)
    layers = binary_output(layers, shape)
    return ir.AnnGraph(input_shape=tuple(arch.input_shape), layers=layers, name=arch.name)


def load_graph(path: Path, weights: Path | None = None) -> ir.AnnGraph:
    """Read any supported model file (and its weights file) into an ANN graph."""
    return records_to_graph(read_model(path, weights))
