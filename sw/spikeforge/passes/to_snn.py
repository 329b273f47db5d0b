"""Build the float spiking network from a canonical, normalized ANN graph.

Weights and biases are rescaled by the layer scales lambda (W <- W * lambda_prev / lambda,
b <- b / lambda, section 3.2.1 of the paper) so that an activation of lambda becomes a
firing rate of one spike per timestep with threshold 1. With analog input the first layer
receives the input integers (``InputFormat``: the ANN's value times its scale, raw uint8
pixels by default), so its weights are further divided by that scale (255 for pixels).
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..ann_numpy import infer_shapes


def build_float_snn(
    graph: ir.AnnGraph,
    scales: list[float],
    config: ir.SnnConfig,
    input_format: ir.InputFormat | None = None,
) -> ir.Network:
    """The float SNN (thresholds 1.0) of a canonical graph with one scale per neuron layer,
    taking the integers of ``input_format`` (default: uint8 pixels)."""
    input_format = input_format or ir.InputFormat()
    layers: list[ir.SnnLayer] = []
    shapes = infer_shapes(graph)
    in_shape = tuple(graph.input_shape)
    scale_iter = iter(scales)
    previous_scale = 1.0
    first = True
    for layer, out_shape in zip(graph.layers, shapes, strict=True):
        if isinstance(layer, ir.Conv2D | ir.Dense):
            scale = next(scale_iter)
            weights = layer.kernel if isinstance(layer, ir.Conv2D) else layer.weights
            weights = weights * (previous_scale / scale)
            if first and config.input_mode == "analog":
                weights = weights / input_format.scale
            channels = weights.shape[-1]
            layers.append(
                ir.NeuronLayer(
                    name=layer.name,
                    kind="conv" if isinstance(layer, ir.Conv2D) else "dense",
                    in_shape=in_shape,
                    out_shape=out_shape,
                    weights=weights,
                    bias=layer.bias / scale,
                    threshold=np.ones(channels),
                    strides=layer.strides if isinstance(layer, ir.Conv2D) else (1, 1),
                    pads=layer.pads if isinstance(layer, ir.Conv2D) else (0, 0, 0, 0),
                    scale=scale,
                )
            )
            previous_scale, first = scale, False
        elif isinstance(layer, ir.MaxPool):
            layers.append(
                ir.PoolGate(layer.name, in_shape, out_shape, layer.pool, layer.strides, layer.pads)
            )
        elif not isinstance(layer, ir.Flatten | ir.Reshape):
            raise TypeError(f"layer '{layer.name}' is not in canonical form; run the passes first")
        in_shape = out_shape
    return ir.Network(
        graph.name, tuple(graph.input_shape), layers, config, None, input_format
    )
