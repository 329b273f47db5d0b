"""``spikeforge hls``: generate the HLS project of a network, C-simulate it on real test
images and compare it with the golden model; with ``--vitis``, run the Vitis HLS flow."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .common import (
    DATASET_HELP,
    accuracy,
    accuracy_text,
    add_quiet,
    info,
    network_inputs,
    positive_int,
    test_split,
)
from .hls_options import DEFAULT_HLS_DIR, add_hls_options, hls_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hls",
        help="generate the HLS project, C-simulate it against the golden model",
        description="Write a complete Vitis HLS project for the network, compile its C "
        "testbench with g++, run it on real test images and compare every spike count, "
        "class and saturation total with the golden model (must be equal).",
    )
    parser.add_argument("net", type=Path, help="directory written by `spikeforge convert`")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_HLS_DIR,
        help=f"project directory (default {DEFAULT_HLS_DIR})",
    )
    parser.add_argument("--dataset", help=DATASET_HELP + " (default: the conversion's)")
    parser.add_argument(
        "--images", "-n", type=positive_int, default=200, help="test images to simulate"
    )
    parser.add_argument(
        "--timesteps",
        "-T",
        type=positive_int,
        nargs="+",
        help="one or more T to run (default: the network's)",
    )
    parser.add_argument(
        "--vectors",
        type=int,
        default=10,
        help="images in the testbench's golden vectors for Vitis csim/cosim (default 10)",
    )
    add_hls_options(parser)
    parser.add_argument(
        "--vitis",
        action="store_true",
        help="also run the Vitis HLS flow (needs vitis_hls on PATH)",
    )
    parser.add_argument(
        "--vitis-steps",
        default="csim,csynth,cosim,export",
        help="comma-separated Vitis steps (default csim,csynth,cosim,export)",
    )
    add_quiet(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..hls import plan_network
    from ..hls.csim import CsimBuild, compile_project, csim_images
    from ..hls.project import KIND, generate_project
    from ..hls.vitis import csynth_xml, read_csynth, require_vitis, run_vitis
    from ..netdir import load_int_network
    from ..outdir import claim_output
    from ..simulator import simulate
    from ..verify import compare

    claim_output(args.out, KIND, inputs=[args.net])
    net = load_int_network(args.net)
    steps_list = args.timesteps or [net.config.timesteps]
    for steps in steps_list:
        net.config.check_run_timesteps(steps)
    vitis_steps = tuple(s for s in args.vitis_steps.split(",") if s)
    if args.vitis:
        require_vitis()  # fail before minutes of csim
    plan = plan_network(net, hls_options(args))
    data, labels = test_split(args, args.images)
    images = network_inputs(net, data, labels)
    info(args, f"hls: writing the project to {args.out}")
    vectors = images[: max(args.vectors, 0)]
    generate_project(plan, args.out, vectors, steps_list[0])
    start = time.perf_counter()
    compile_project(args.out)
    info(args, f"hls: compiled the C testbench in {time.perf_counter() - start:.1f} s")
    build = CsimBuild(plan, args.out)
    failed = False
    for steps in steps_list:
        start = time.perf_counter()
        result = csim_images(build, images, steps, args.quiet)
        seconds = time.perf_counter() - start
        expected = simulate(net, images, steps, quiet=args.quiet)
        comparison = compare(result, expected)
        failed |= not comparison.ok
        print(
            f"T={steps}: csim vs golden: {comparison.describe()}; "
            f"{len(comparison.mismatched_images)} mismatches; "
            f"{accuracy_text(accuracy(result.classes, labels))} on {len(images)} inputs; "
            f"csim {seconds:.1f} s ({len(images) / seconds:.0f} inputs/s)"
        )
    if args.vitis:
        log = run_vitis(args.out, vitis_steps, args.quiet)
        info(args, f"hls: Vitis HLS log in {log}")
        report = csynth_xml(args.out)
        if report.is_file():
            synth = read_csynth(report)
            print(
                f"Vitis csynth: latency {synth.latency_best}..{synth.latency_worst} cycles per "
                f"image (best..worst), estimated clock {synth.clock_ns} ns, resources "
                + ", ".join(f"{k} {v}" for k, v in synth.resources.items())
            )
    return 1 if failed else 0
