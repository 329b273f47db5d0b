"""Rewrite an ANN graph into the canonical form the spiking network is built from.

Canonical form: Conv2D/Dense layers (hidden ones with ReLU), MaxPool and Flatten only.
Dropout is dropped, ReLU layers merge into the Conv2D/Dense that produces their input,
average pooling becomes a fixed-weight convolution, and a final softmax is dropped
(spike counts replace it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import ir
from ..ann_numpy import infer_shapes
from ..frontend.errors import UnsupportedLayerError, refuse

_PASS_THROUGH = (ir.MaxPool, ir.Flatten, ir.Reshape)  # commute with ReLU and a ReLU cap


def drop_dropout(graph: ir.AnnGraph) -> ir.AnnGraph:
    layers = [layer for layer in graph.layers if not isinstance(layer, ir.Dropout)]
    return ir.AnnGraph(graph.input_shape, layers, graph.name)


def _combine(owner: ir.Conv2D | ir.Dense, relu: ir.ReLU) -> ir.Relu:
    """The activation of ``owner`` after applying ``relu`` to its output."""
    if owner.relu is None or owner.relu == ir.Relu():
        return relu.spec
    if relu.spec == ir.Relu():
        return owner.relu
    raise refuse(relu.name, "ReLU", f"a second clipping activation after '{owner.name}'",
                 "keep one clipped or quantized ReLU per layer")


def merge_relu(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Attach each ReLU to the Conv2D/Dense before it (through max-pool/flatten)."""
    layers: list[ir.AnnLayer] = []
    for layer in graph.layers:
        if not isinstance(layer, ir.ReLU):
            layers.append(layer)
            continue
        k = len(layers) - 1
        while k >= 0 and isinstance(layers[k], _PASS_THROUGH):
            k -= 1
        owner = layers[k] if k >= 0 else None
        if not isinstance(owner, ir.Conv2D | ir.Dense):
            where = f"after '{owner.name}'" if owner is not None else "on the input"
            raise refuse(
                layer.name, "ReLU", f"a ReLU {where}", "put each ReLU after a Conv2D or Dense layer"
            )
        layers[k] = dataclasses.replace(owner, relu=_combine(owner, layer))
    return ir.AnnGraph(graph.input_shape, layers, graph.name)


def drop_output_softmax(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Remove a softmax on the output: the class is the neuron that spikes most."""
    layers = list(graph.layers)
    if layers and isinstance(layers[-1], ir.Softmax):
        layers.pop()
    for layer in layers:
        if isinstance(layer, ir.Softmax):
            raise refuse(
                layer.name,
                "Softmax",
                "a softmax before the output layer",
                "use softmax only as the model's last activation",
            )
    return ir.AnnGraph(graph.input_shape, layers, graph.name)


def avgpool_to_conv(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Average pooling as a convolution with fixed weights 1/(ph*pw) per channel."""
    shapes = infer_shapes(graph)
    layers: list[ir.AnnLayer] = []
    in_shape = graph.input_shape
    for layer, shape in zip(graph.layers, shapes, strict=True):
        if isinstance(layer, ir.AvgPool):
            if any(layer.pads):
                raise refuse(
                    layer.name,
                    "AveragePooling2D",
                    "padding='same' with a partial window",
                    "use padding='valid' (Keras divides border windows by their own size, "
                    "which a fixed-weight convolution cannot)",
                )
            channels = in_shape[-1]
            kernel = np.zeros((*layer.pool, channels, channels))
            kernel[:, :, np.arange(channels), np.arange(channels)] = 1.0 / np.prod(layer.pool)
            layers.append(
                ir.Conv2D(layer.name, kernel, np.zeros(channels), layer.strides, layer.pads,
                          relu=ir.Relu())
            )
        else:
            layers.append(layer)
        in_shape = shape
    return ir.AnnGraph(graph.input_shape, layers, graph.name)


def check_canonical(graph: ir.AnnGraph) -> None:
    """Raise if the graph is not a stack the spiking network can express."""
    neurons = [layer for layer in graph.layers if isinstance(layer, ir.Conv2D | ir.Dense)]
    if not neurons:
        raise UnsupportedLayerError(
            f"model '{graph.name}' has no Conv2D or Dense layer to convert; a spiking "
            "network needs at least one (end the model with a Dense layer, one unit per class)"
        )
    first = graph.layers[0]
    if not isinstance(first, ir.Conv2D | ir.Dense | ir.Flatten | ir.Reshape):
        raise refuse(
            first.name,
            type(first).__name__,
            "a pooling layer on the input",
            "start the model with a Conv2D or Dense layer",
        )
    last = graph.layers[-1]
    if not isinstance(last, ir.Dense):
        raise refuse(
            last.name,
            type(last).__name__,
            "an output layer that is not Dense",
            "end the model with a Dense layer, one unit per class",
        )
    for layer in neurons[:-1]:
        if layer.relu is None:
            raise refuse(
                layer.name,
                type(layer).__name__,
                "a hidden layer without ReLU",
                "integrate-and-fire neurons only express non-negative activations: add "
                "activation='relu'",
            )
    in_shape = graph.input_shape
    for layer, shape in zip(graph.layers, infer_shapes(graph), strict=True):
        if isinstance(layer, ir.Conv2D | ir.MaxPool) and len(in_shape) != 3:
            raise refuse(
                layer.name,
                type(layer).__name__,
                "a 2-D window on a flat input",
                "put every Conv2D and pooling layer before the Flatten",
            )
        if isinstance(layer, ir.Dense) and len(in_shape) != 1:
            raise refuse(
                layer.name,
                "Dense",
                f"an input of shape {in_shape}",
                "add a Flatten before the Dense layer",
            )
        in_shape = shape
