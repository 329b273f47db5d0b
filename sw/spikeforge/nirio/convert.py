"""A NIR graph of IF neurons -> the float SNN and the integer network (docs/nir.md).

The graph is already a spiking network with its thresholds, so no ANN pass and no
data-based normalization runs: each layer's weights and bias (times r) are divided by its
threshold, giving the float SNN of threshold 1 that the Keras flow also makes, and the
same quantizer turns it into integers. When every weight, bias and threshold (times r,
and the input scale) already is an integer that fits the formats, as in a graph
``spikeforge export-nir`` wrote, those integers are the integer network unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import ir
from ..errors import UnsupportedLayerError, UserError
from ..flow import ConvertOptions
from ..frontend.inspect import Inspection, LayerRow
from ..netfile import value_range
from ..passes.input_format import choose_input_format
from ..quant import quantize
from .graph import order_chain, read_nir
from .layers import NirLayer, NirModel, read_layers


def read_nir_model(path: Path) -> NirModel:
    """Read ``path`` and walk its nodes (every refusal is in ``problems``)."""
    path = Path(path)
    return read_layers(order_chain(read_nir(path), path.stem))


def _problems(model: NirModel) -> list[str]:
    problems = list(model.problems)
    if not problems and model.layers and model.layers[-1].kind != "dense":
        problems.append(f"the last layer '{model.layers[-1].name}' is a convolution: the "
                        "spec's output layer is dense (one neuron per class); end the network "
                        "with Flatten, a dense synapse and IF neurons")
    return problems


def require_convertible(model: NirModel) -> None:
    """UnsupportedLayerError listing every refused node, if any is."""
    problems = _problems(model)
    if problems:
        raise UnsupportedLayerError("; ".join(problems))


def inspect_nir(path: Path) -> Inspection:
    """``spikeforge inspect`` of a NIR file: a row per node and the verdict."""
    model = read_nir_model(path)
    rows = [LayerRow(r.name, r.kind, r.settings, r.params, r.out_shape, r.maps_to, r.refused)
            for r in model.rows]
    problems = _problems(model)
    if problems:
        listed = "\n".join(f"- {p}" for p in problems)
        verdict = (f"refused: {problems[0]}" if len(problems) == 1
                   else f"refused: {len(problems)} problems:\n{listed}")
    else:
        neurons = sum(int(np.prod(la.out_shape)) for la in model.layers)
        verdict = (f"converts: {len(model.layers)} IF layers ({neurons} neurons), "
                   f"{model.layers[-1].out_shape[0]} output classes; reset as recorded: "
                   f"{model.reset}")
        if model.reset == "zero":
            verdict += (" (NIR's IF resets to v_reset = 0; convert with --reset subtract if "
                        "the exporter's neurons subtract, as snnTorch's default Leaky does)")
    return Inspection(model.name, "NIR graph", model.input_shape, rows, verdict, not problems)


def fit_flat_input(model: NirModel, sample: tuple[int, ...]) -> NirModel:
    """``model`` reading one-channel images ``sample`` (H, W) or (H, W, 1) where its graph
    takes them flattened (a vector input into a dense layer, as snnTorch MLPs are
    exported): both flatten orders agree for one channel, so the network keeps the images'
    shape. Any other input is returned as it is."""
    shape = model.input_shape
    one_channel = len(sample) == 2 or (len(sample) == 3 and sample[-1] == 1)
    if (len(shape) == 1 and one_channel and int(np.prod(sample)) == shape[0]
            and model.layers and model.layers[0].kind == "dense"):
        return dataclasses.replace(model, input_shape=tuple(sample))
    return model


@dataclass
class NirConversion:
    float_net: ir.Network
    int_net: ir.Network
    exact: bool  # the graph's own integers are the integer network
    reset: str


def _input_format(model: NirModel, calibration: np.ndarray,
                  options: ConvertOptions) -> ir.InputFormat:
    """The input integers: the options where given, else what a graph spikeforge wrote
    records, else chosen from the data as for any model, with the graph's input Scale as
    the scale of real-valued data."""
    bits, signed, scale = options.input_bits, options.input_signed, options.input_scale
    recorded = model.input_format
    if recorded is not None and bits is None and signed is None and scale is None:
        return recorded
    if scale is None and model.input_scale is not None and calibration.dtype != np.uint8:
        scale = model.input_scale
    return choose_input_format(calibration, bits, signed, scale)


def _first_factor(model: NirModel, fmt: ir.InputFormat, config: ir.SnnConfig) -> float:
    """What the first layer's weights are multiplied by to read the input integers: the
    graph's input Scale over the input format's scale (analog), the Scale alone (Poisson
    spikes stand for inputs of 1)."""
    node_scale = model.input_scale if model.input_scale is not None else 1.0
    if config.input_mode == "poisson":
        return node_scale
    return 1.0 if node_scale == fmt.scale else node_scale / fmt.scale


def _integer_layers(layers: list[NirLayer], factor: float, formats: ir.Formats) -> bool:
    """Whether every weight (the first layer's times ``factor``), bias and threshold is an
    integer that fits ``formats``."""
    for index, layer in enumerate(layers):
        weights = layer.weights * factor if index == 0 else layer.weights
        for role, values in (("weights", weights), ("bias", layer.bias),
                             ("threshold", layer.threshold)):
            low, high = value_range(role, formats)
            if not (np.all(values == np.rint(values)) and values.min(initial=low) >= low
                    and values.max(initial=high) <= high):
                return False
    return True


def _neuron_layer(layer: NirLayer, weights: np.ndarray, bias: np.ndarray,
                  threshold: np.ndarray) -> ir.NeuronLayer:
    return ir.NeuronLayer(layer.name, layer.kind, layer.in_shape, layer.out_shape, weights,
                          bias, threshold, layer.strides, layer.pads)


def convert_nir(model: NirModel, calibration: np.ndarray, options: ConvertOptions,
                reset: str | None = None) -> NirConversion:
    """The float and integer networks of ``model``; ``reset`` overrides the recorded mode.
    Input integers as ``choose_input`` makes them, with the graph's input Scale as the
    default scale."""
    require_convertible(model)
    config = dataclasses.replace(options.config, reset=reset or model.reset)
    fmt = _input_format(model, calibration, options)
    if config.input_mode == "poisson" and (fmt.bits != 8 or fmt.signed):
        raise UserError("Poisson input draws spikes from uint8 pixels; this data needs a "
                        f"{fmt.bits}-bit input: convert with --input analog")
    factor = _first_factor(model, fmt, config)
    float_layers: list[ir.SnnLayer] = []
    for index, layer in enumerate(model.layers):
        weights = layer.weights * factor if index == 0 else layer.weights
        theta = layer.threshold
        float_layers.append(_neuron_layer(layer, weights / theta, layer.bias / theta,
                                          np.ones_like(theta)))
    float_net = ir.Network(model.name, model.input_shape, float_layers, config, None, fmt)
    exact = _integer_layers(model.layers, factor, options.formats)
    if exact:
        int_layers: list[ir.SnnLayer] = []
        for index, layer in enumerate(model.layers):
            weights = layer.weights * factor if index == 0 else layer.weights
            int_layers.append(_neuron_layer(
                layer, np.rint(weights).astype(np.int64), np.rint(layer.bias).astype(np.int64),
                np.rint(layer.threshold).astype(np.int64)))
        int_net = ir.Network(model.name, model.input_shape, int_layers, config,
                             options.formats, fmt)
    else:
        int_net = quantize(float_net, options.formats)
    return NirConversion(float_net, int_net, exact, config.reset)
