"""``spikeforge convert model.nir``: the NIR branch of ``convert`` (docs/nir.md).

A NIR graph is already a spiking network with its thresholds: no ANN pass and no
data-based normalization run; the training images only choose the input integers."""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from ..errors import UserError
from .common import info
from .convert import DEFAULT_NORM


def run_nir(args: argparse.Namespace, options, dataset) -> int:
    """Convert ``args.model`` (a .nir file) into ``args.out``; returns the exit status."""
    from ..datasets import absolute_spec, fit_inputs
    from ..netdir import write_netdir
    from ..nirio.convert import (
        convert_nir,
        fit_flat_input,
        read_nir_model,
        require_convertible,
    )

    if args.weights is not None:
        raise UserError(f"--weights is for JSON architectures; {args.model.name} holds its "
                        "weights")
    if options.calibrate != "none" or args.norm != DEFAULT_NORM or args.ignore_caps:
        raise UserError("a NIR graph brings its own thresholds: --norm, --ignore-caps and "
                        "--calibrate do not apply; leave them out")
    info(args, f"reading {args.model}")
    model = read_nir_model(args.model)
    require_convertible(model)
    model = fit_flat_input(model, tuple(dataset.train_images.shape[1:]))
    name = f"NIR input {model.input_shape} of {args.model.name}"
    calibration = fit_inputs(dataset.train_images[: args.calibration], model.input_shape, name)
    result = convert_nir(model, calibration, options, args.reset)
    conversion = {
        "model": str(args.model.resolve()),
        "weights": None,
        "source": "nir",
        "dataset": absolute_spec(args.dataset),
        "input_format": dataclasses.asdict(result.int_net.input_format),
        "calibration_images": len(calibration),
        "normalization": "none (NIR thresholds)",
        "nir_integers_exact": result.exact,
        "reset": result.reset,
        "config": dataclasses.asdict(result.int_net.config),
        "formats": dataclasses.asdict(options.formats),
    }
    report = write_netdir(args.out, result.int_net, result.float_net, None, conversion)
    how = ("the graph's own integers" if result.exact
           else "quantized from the graph's float weights")
    print(f"{args.out}: {len(report['layers'])} layers, {report['neurons']} neurons, "
          f"{report['weights']} weights ({how}), reset {result.reset}, "
          f"build id {report['build_id']}")
    thresholds = [int(np.max(la.threshold)) for la in result.int_net.neuron_layers]
    print(f"  thresholds (max per layer): {thresholds}")
    print(f"report: {args.out / 'report.md'}")
    return 0
