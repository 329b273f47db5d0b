"""The conversion flow: a list of named steps ``step(state, options) -> state``.

Graph steps can be verified against the ANN: with ``verify_images`` set, the numpy ANN's
outputs after every graph rewrite must equal (to float32 rounding) those of the graph the
frontend read, with a final softmax left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import ir
from .ann_numpy import predict
from .errors import UserError
from .passes.batchnorm import fold_batchnorm
from .passes.calibrate import Calibration, calibrate
from .passes.canonical import (
    avgpool_to_conv,
    check_canonical,
    drop_dropout,
    drop_output_softmax,
    merge_relu,
)
from .passes.input_format import choose_input_format
from .passes.normalize import activation_scales
from .quant import quantize


@dataclass(frozen=True)
class ConvertOptions:
    """Everything a conversion depends on besides the model and calibration images."""

    percentile: float | None = 99.9  # None: no normalization; 100: max-norm
    use_caps: bool = True  # threshold balancing: lambda = a clipped ReLU's cap where it has one
    config: ir.SnnConfig = field(default_factory=ir.SnnConfig)
    formats: ir.Formats = field(default_factory=ir.Formats)
    batch_size: int = 500
    # the input format's choices; None: chosen from the calibration data
    input_bits: int | None = None
    input_signed: bool | None = None
    input_scale: float | None = None
    calibrate: str = "none"  # post-training calibration level (passes/calibrate.py)
    # config fields chosen to suit the model ("v_init", "pool") instead of taken from config
    choose: frozenset[str] = frozenset()


@dataclass
class ConversionState:
    graph: ir.AnnGraph
    calibration: np.ndarray  # data as the user keeps it (ir.ann_view), for normalization
    input_format: ir.InputFormat | None = None
    config: ir.SnnConfig | None = None  # options.config with the chosen run modes
    choices: list[dict[str, str]] = field(default_factory=list)  # what was chosen, and why
    scales: list[float] | None = None
    float_net: ir.Network | None = None
    calibration_result: Calibration | None = None
    int_net: ir.Network | None = None
    quiet: bool = True


Step = Callable[[ConversionState, ConvertOptions], ConversionState]


def _graph_step(rewrite: Callable[[ir.AnnGraph], ir.AnnGraph]) -> Step:
    def step(state: ConversionState, options: ConvertOptions) -> ConversionState:
        return dataclasses.replace(state, graph=rewrite(state.graph))

    return step


def step_check_canonical(state: ConversionState, options: ConvertOptions) -> ConversionState:
    check_canonical(state.graph)
    return state


def step_choose_modes(state: ConversionState, options: ConvertOptions) -> ConversionState:
    """The run modes that suit the model: a network whose hidden layers all have
    clip-floor (quantized) activations was trained for low T, and starts at half threshold
    with running-max pooling (docs/low-latency.md); any other keeps zero start and gates."""
    config, choices = options.config, list(state.choices)
    neurons = [la for la in state.graph.layers if isinstance(la, ir.Conv2D | ir.Dense)]
    hidden = neurons[:-1]
    quantized = bool(hidden) and all(la.relu and la.relu.levels for la in hidden)
    if quantized:
        levels = sorted({la.relu.levels for la in hidden})
        why = (f"every hidden layer is a clip-floor (quantized) ReLU ({'/'.join(map(str, levels))}"
               " levels): trained for low T")
    else:
        why = "the hidden layers are not all clip-floor (quantized) ReLUs"
    suits = {"v_init": "half" if quantized else "zero",
             "pool": "running_max" if quantized else "gate"}
    has_pool = any(isinstance(la, ir.MaxPool) for la in state.graph.layers)
    for name in sorted(options.choose):
        if name == "pool" and not has_pool:
            continue
        config = dataclasses.replace(config, **{name: suits[name]})
        choices.append({"option": name, "value": suits[name], "reason": why})
    if options.use_caps and any(la.relu and la.relu.cap for la in neurons):
        choices.append({"option": "threshold balancing", "value": "on",
                        "reason": "clipped ReLUs: each layer's scale is its cap"})
    return dataclasses.replace(state, config=config, choices=choices)


def step_choose_input(state: ConversionState, options: ConvertOptions) -> ConversionState:
    """The input integers: pixels as they are, real values quantized per tensor."""
    chosen = choose_input_format(
        state.calibration, options.input_bits, options.input_signed, options.input_scale
    )
    if state.config.input_mode == "poisson" and (chosen.bits != 8 or chosen.signed):
        raise UserError(
            "Poisson input draws spikes from uint8 pixels; this data needs a "
            f"{chosen.bits}-bit {'signed' if chosen.signed else 'unsigned'} input: convert "
            "with --input analog"
        )
    return dataclasses.replace(state, input_format=chosen)


def step_normalize(state: ConversionState, options: ConvertOptions) -> ConversionState:
    """lambda per Conv2D/Dense: its cap (threshold balancing) or an activation percentile."""
    neurons = [la for la in state.graph.layers if isinstance(la, ir.Conv2D | ir.Dense)]
    caps = {la.name: la.relu.cap for la in neurons if options.use_caps and la.relu and la.relu.cap}
    measured: dict[str, float] = {}
    if options.percentile is not None:
        uncapped = {la.name for la in neurons} - set(caps)
        measured = activation_scales(
            state.graph,
            state.calibration,
            options.percentile,
            options.batch_size,
            state.quiet,
            names=uncapped,
        )
    scales = [caps.get(la.name) or measured.get(la.name, 1.0) for la in neurons]
    return dataclasses.replace(state, scales=scales)


def step_build_float_snn(state: ConversionState, options: ConvertOptions) -> ConversionState:
    """The float SNN, calibrated at its T (``options.calibrate``; 'none': as normalized)."""
    assert state.scales is not None, "normalize runs before build_float_snn"
    assert state.input_format is not None, "choose_input runs before build_float_snn"
    float_net, calibration = calibrate(
        state.graph,
        state.scales,
        state.config,
        state.input_format,
        state.calibration,
        options.calibrate,
        options.formats,
        options.batch_size,
        state.quiet,
    )
    scales = [layer.scale for layer in float_net.neuron_layers]
    return dataclasses.replace(
        state, float_net=float_net, scales=scales, calibration_result=calibration
    )


def step_quantize(state: ConversionState, options: ConvertOptions) -> ConversionState:
    assert state.float_net is not None, "build_float_snn runs before quantize"
    return dataclasses.replace(state, int_net=quantize(state.float_net, options.formats))


GRAPH_STEPS: list[tuple[str, Step]] = [
    ("drop_dropout", _graph_step(drop_dropout)),
    ("fold_batchnorm", _graph_step(fold_batchnorm)),
    ("merge_relu", _graph_step(merge_relu)),
    ("drop_output_softmax", _graph_step(drop_output_softmax)),
    ("avgpool_to_conv", _graph_step(avgpool_to_conv)),
    ("check_canonical", step_check_canonical),
]
SNN_STEPS: list[tuple[str, Step]] = [
    ("choose_modes", step_choose_modes),
    ("choose_input", step_choose_input),
    ("normalize", step_normalize),
    ("build_float_snn", step_build_float_snn),
    ("quantize", step_quantize),
]


def _logits_graph(graph: ir.AnnGraph) -> ir.AnnGraph:
    """``graph`` without trailing softmax/dropout: what the canonical graph computes."""
    layers = list(graph.layers)
    while layers and isinstance(layers[-1], ir.Softmax | ir.Dropout):
        layers.pop()
    return ir.AnnGraph(graph.input_shape, layers, graph.name)


class VerificationError(AssertionError):
    """A graph pass changed the ANN's outputs."""


def run_flow(
    graph: ir.AnnGraph,
    calibration: np.ndarray,
    options: ConvertOptions,
    *,
    verify_images: np.ndarray | None = None,
    quiet: bool = True,
) -> ConversionState:
    """Run every step; with ``verify_images``, check each graph step keeps the ANN outputs."""
    state = ConversionState(graph=graph, calibration=calibration, quiet=quiet)
    expected = None
    if verify_images is not None:
        expected = predict(_logits_graph(graph), verify_images)
    for name, step in GRAPH_STEPS:
        state = step(state, options)
        if expected is not None:
            got = predict(_logits_graph(state.graph), verify_images)
            tolerance = 1e-4 * max(1.0, float(np.abs(expected).max()))
            if got.shape != expected.shape or not np.allclose(got, expected, atol=tolerance):
                raise VerificationError(f"step {name} changed the network's outputs")
    for _name, step in SNN_STEPS:
        state = step(state, options)
    return state
