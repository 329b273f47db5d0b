"""``spikeforge convert``: Keras model -> normalized, quantized spiking network."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..errors import UserError
from ..ir import INPUT_BITS, Formats, SnnConfig
from ..passes.calibrate import CALIBRATION_LEVELS
from .common import add_dataset, add_quiet, info, positive_float, positive_int
from .model_args import add_model

_DEFAULT_FORMATS = Formats()
_DEFAULT_CONFIG = SnnConfig()
DEFAULT_NORM = 99.9  # --norm: the percentile of activations that becomes lambda


def parse_norm(text: str) -> float | None:
    """'none' -> None, 'max' -> 100, else a percentile in (0, 100]."""
    if text == "none":
        return None
    if text == "max":
        return 100.0
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--norm {text!r}: use 'max', 'none' or a percentile"
        ) from None
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"--norm {text}: a percentile must be in (0, 100]")
    return value


def add_snn_options(parser: argparse.ArgumentParser) -> None:
    """The conversion options (also used by scripts that convert in-process)."""
    group = parser.add_argument_group("spiking network")
    group.add_argument(
        "--timesteps",
        type=positive_int,
        default=_DEFAULT_CONFIG.timesteps,
        help="default T (the run time can choose another up to --max-timesteps)",
    )
    group.add_argument(
        "--max-timesteps",
        type=positive_int,
        default=_DEFAULT_CONFIG.max_timesteps,
        help="compile-time maximum of T (sizes the spike counters)",
    )
    group.add_argument(
        "--norm",
        type=parse_norm,
        default=DEFAULT_NORM,
        metavar="max|none|P",
        help="data-based normalization: max-norm, none, or the P-th percentile "
        f"of activations (default {DEFAULT_NORM})",
    )
    group.add_argument(
        "--ignore-caps",
        action="store_true",
        help="normalize clipped ReLUs (max_value, clip-floor, quantized_relu) "
        "by --norm too, instead of balancing their threshold to the cap",
    )
    group.add_argument(
        "--reset",
        choices=["subtract", "zero"],
        help=f"reset of a spiking neuron (default {_DEFAULT_CONFIG.reset}; a .nir graph: as it "
        "records)",
    )
    group.add_argument(
        "--input",
        choices=["analog", "poisson"],
        default="analog",
        dest="input_mode",
        help="analog current into the first layer, or "
        "Poisson spike trains from the spec's xorshift32 generator",
    )
    group.add_argument(
        "--seed", type=positive_int, default=_DEFAULT_CONFIG.seed, help="Poisson generator seed"
    )
    group.add_argument(
        "--v-init",
        choices=["auto", "zero", "half"],
        default="auto",
        help="initial membrane: 0 or half the threshold (default auto: half for a model whose "
        "hidden layers are all clip-floor/quantized ReLUs, else zero)",
    )
    group.add_argument(
        "--pool",
        choices=["auto", "gate", "running-max"],
        default="auto",
        help="max-pool: the paper's gate (spikes of the most active input), or running-max "
        "(output count = highest input count; better at small T) (default auto: running-max "
        "for a model whose hidden layers are all clip-floor/quantized ReLUs, else gate)",
    )
    group.add_argument(
        "--calibrate",
        choices=CALIBRATION_LEVELS,
        default="none",
        help="post-training calibration on the calibration images at T = --timesteps: 'bias' "
        "corrects each channel's mean conversion error layer by layer, 'full' also searches "
        "each layer's threshold (default none; see docs/conversion.md)",
    )
    inputs = parser.add_argument_group(
        "input integers (default: uint8 pixels as they are; real-valued data quantized per "
        "tensor from the calibration data)"
    )
    inputs.add_argument("--input-bits", type=int, choices=INPUT_BITS, help="8 (default) or 16")
    inputs.add_argument(
        "--input-signed",
        action=argparse.BooleanOptionalAction,
        help="two's complement inputs (default: when the calibration data has negative values)",
    )
    inputs.add_argument(
        "--input-scale",
        type=positive_float,
        metavar="S",
        help="input integer = round(value x S) (default: the largest integer over the "
        "calibration data's largest magnitude)",
    )
    widths = parser.add_argument_group("word widths (bits)")
    for name in ("weight_bits", "bias_bits", "threshold_bits", "membrane_bits"):
        widths.add_argument(
            f"--{name.replace('_', '-')}",
            type=positive_int,
            default=getattr(_DEFAULT_FORMATS, name),
        )


def options_from_args(args: argparse.Namespace):
    from ..flow import ConvertOptions

    try:
        config = SnnConfig(
            reset=args.reset or _DEFAULT_CONFIG.reset,
            input_mode=args.input_mode,
            v_init=_DEFAULT_CONFIG.v_init if args.v_init == "auto" else args.v_init,
            pool=_DEFAULT_CONFIG.pool if args.pool == "auto" else args.pool.replace("-", "_"),
            seed=args.seed,
            timesteps=args.timesteps,
            max_timesteps=args.max_timesteps,
        )
        formats = Formats(args.weight_bits, args.bias_bits, args.threshold_bits, args.membrane_bits)
    except ValueError as err:
        raise UserError(str(err)) from err
    return ConvertOptions(
        percentile=args.norm,
        use_caps=not args.ignore_caps,
        config=config,
        formats=formats,
        input_bits=args.input_bits,
        input_signed=args.input_signed,
        input_scale=args.input_scale,
        calibrate=args.calibrate,
        choose=frozenset(name for name in ("v_init", "pool") if getattr(args, name) == "auto"),
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("convert", help="convert a Keras model to a spiking network")
    add_model(parser)
    add_dataset(parser)
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    parser.add_argument(
        "--calibration",
        type=positive_int,
        default=10000,
        help="training images used for normalization and calibration (default 10000)",
    )
    add_snn_options(parser)
    add_quiet(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..datasets import absolute_spec, fit_inputs, load_dataset
    from ..flow import run_flow
    from ..frontend.graph import load_graph
    from ..frontend.sources import keras_runnable
    from ..netdir import KIND, write_netdir
    from ..outdir import claim_output

    claim_output(args.out, KIND, inputs=[args.model, args.weights])
    options = options_from_args(args)
    dataset = load_dataset(args.dataset, args.quiet)
    if args.model.suffix.lower() == ".nir":
        from .nir_convert import run_nir

        return run_nir(args, options, dataset)
    info(args, f"reading {args.model}")
    graph = load_graph(args.model, args.weights)
    model_name = f"model input {graph.input_shape} of {args.model.name}"
    calibration = fit_inputs(dataset.train_images[: args.calibration], graph.input_shape,
                             model_name)
    verify = fit_inputs(dataset.test_images[:64], graph.input_shape, model_name)
    state = run_flow(graph, calibration, options, verify_images=verify, quiet=args.quiet)
    conversion = {
        "model": str(args.model.resolve()),
        "weights": None if args.weights is None else str(args.weights.resolve()),
        "dataset": absolute_spec(args.dataset),
        "input_format": dataclasses.asdict(state.int_net.input_format),
        "calibration_images": len(calibration),
        "normalization": "none" if options.percentile is None else options.percentile,
        "threshold_balancing": options.use_caps,
        "scales": state.scales,
        "calibration": state.calibration_result.summary(),
        "config": dataclasses.asdict(state.config),
        "choices": state.choices,
        "formats": dataclasses.asdict(options.formats),
    }
    # ann.keras (for `evaluate --backend ann`) only when Keras can run the source model; the
    # others run as the numpy ANN of the recorded source files
    keras_file = args.model if keras_runnable(args.model) else None
    report = write_netdir(args.out, state.int_net, state.float_net, keras_file, conversion)
    print(
        f"{args.out}: {len(report['layers'])} layers, {report['neurons']} neurons, "
        f"{report['weights']} weights, build id {report['build_id']}"
    )
    for layer in report["layers"]:
        if layer["kind"] == "maxpool_gate":
            continue
        print(
            f"  {layer['name']:<12} scale {layer['scale']:<9.4g} threshold "
            f"{layer['threshold_min']}..{layer['threshold_max']:<6} membrane headroom "
            f"{layer['membrane_headroom_bits']:+d} b"
        )
    for choice in state.choices:
        print(f"  {choice['option']}: {choice['value'].replace('_', '-')} ({choice['reason']})")
    calibration = state.calibration_result
    if calibration.level != "none":
        factors = ", ".join(f"{la.name} x{la.threshold_factor:g}" for la in calibration.layers)
        print(f"  calibration {calibration.level} at T = {calibration.timesteps}: threshold "
              f"factors {factors}")
    print(f"report: {args.out / 'report.md'}")
    return 0
