"""``spikeforge sim``: real test images through the RTL core in Verilator (the fast C++
harness or cocotb), checked against the golden model; prints accuracy, mismatches (must be
0) and cycles per image."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UserError
from .common import (
    DATASET_HELP,
    accuracy,
    accuracy_text,
    add_quiet,
    info,
    network_inputs,
    positive_float,
    positive_int,
    test_split,
)
from .rtl_options import DEFAULT_RTL_BUILD, add_plan_options, plan_for

FAST_ABOVE = 32  # more images than this: the fast harness by default
COCOTB_ONLY = ("gaps", "backpressure", "waves")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="simulate the RTL core on test images, compare with the golden model",
        description="Generate the SystemVerilog core's parameters for the network, build it "
        "with Verilator (once per configuration), stream real test images through its AXI "
        "ports (the fast C++ harness, or cocotb) and compare every spike count, class and "
        "saturation total with the golden model (must be equal).",
    )
    parser.add_argument("net", type=Path, help="directory written by `spikeforge convert`")
    parser.add_argument("--dataset", help=DATASET_HELP + " (default: the conversion's)")
    parser.add_argument(
        "--images", "-n", type=positive_int, default=100, help="test images (default 100)"
    )
    parser.add_argument(
        "--timesteps", "-T", type=positive_int, help="run-time T (default: the network's)"
    )
    parser.add_argument(
        "--per-start",
        type=positive_int,
        help="images per ap_start (default: runs of 50)",
    )
    parser.add_argument(
        "--fast",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the C++ Verilator harness (no Python in the clock loop; docs/rtl.md) instead of "
        f"cocotb (default: fast for more than {FAST_ABOVE} images, unless --gaps, "
        "--backpressure or --waves ask for the cocotb bench; --fast with them is an error)",
    )
    parser.add_argument(
        "--gaps",
        type=float,
        default=0.0,
        help="probability of a TVALID gap per in_r cycle (cocotb)",
    )
    parser.add_argument(
        "--backpressure",
        type=float,
        default=0.0,
        help="probability of TREADY low per out_r cycle (cocotb)",
    )
    parser.add_argument(
        "--waves", action="store_true", help="record dump.vcd in the build dir (cocotb)"
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=DEFAULT_RTL_BUILD,
        help=f"where configurations are generated and compiled (default {DEFAULT_RTL_BUILD})",
    )
    parser.add_argument(
        "--clock-mhz",
        type=positive_float,
        metavar="F",
        help="also give images per second at F MHz (a clock the plan closes at: docs/rtl.md "
        "lists nextpnr's routed ECP5 figures, `spikeforge report --vivado-timing` Vivado's)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_plan_options(parser)
    add_quiet(parser)
    parser.set_defaults(run=run)


def use_fast(args: argparse.Namespace) -> bool:
    """The fast harness unless cocotb is asked for (see --fast's help)."""
    shaping = [f"--{name}" for name in COCOTB_ONLY if getattr(args, name)]
    if args.fast and shaping:
        raise UserError(
            f"{' and '.join(shaping)} need the cocotb bench, which --fast skips; "
            "drop --fast (or use --no-fast)"
        )
    if args.fast is None:
        return not shaping and args.images > FAST_ABOVE
    return args.fast


def run(args: argparse.Namespace) -> int:
    from ..netdir import load_int_network
    from ..rtl.fast import simulate_fast
    from ..rtl.perf import Throughput, accumulate_lanes
    from ..rtl.runner import simulate_rtl
    from ..verify import compare, golden

    for name in ("gaps", "backpressure"):
        if not 0.0 <= getattr(args, name) < 1.0:
            raise UserError(f"--{name} must be in [0, 1)")
    fast = use_fast(args)
    net = load_int_network(args.net)
    steps = args.timesteps or net.config.timesteps
    net.config.check_run_timesteps(steps)
    data, labels = test_split(args, args.images)
    images = network_inputs(net, data, labels)
    bench = "the fast harness" if fast else "cocotb"
    info(
        args,
        f"rtl: building/simulating {net.name} in {args.build_dir} with {bench} "
        "(first build: minutes)",
    )
    common = {"root": args.build_dir, "plan": plan_for(net, args), "per_start": args.per_start}
    if fast:
        sim = simulate_fast(net, images, steps, quiet=args.quiet, **common)
    else:
        sim = simulate_rtl(
            net,
            images,
            steps,
            gaps=args.gaps,
            backpressure=args.backpressure,
            waves=args.waves,
            quiet=args.quiet,
            **common,
        )
    expected = golden(net, images, steps)
    verdict = compare(sim.result, expected)
    perf = Throughput(
        len(images),
        int(sim.result.cycles or 0),
        float(expected.synops.mean()),
        accumulate_lanes(sim.stages),
    )
    figures = {
        "network": net.name,
        "bench": "fast" if fast else "cocotb",
        "images": len(images),
        "timesteps": steps,
        "accuracy": accuracy(sim.result.classes, labels),
        "golden_accuracy": accuracy(expected.classes, labels),
        "mismatched_images": len(verdict.mismatched_images),
        "saturation_equal": verdict.saturation_equal,
        "status": sim.result.status,
        "cycles_per_image": perf.cycles_per_image,
        "ideal_cycles_per_image": perf.ideal_cycles,
        "ratio_to_ideal": perf.ratio,
        "accumulate_lanes": perf.lanes,
        "build": str(sim.directory),
    }
    speed = ""
    if args.clock_mhz:
        figures["clock_mhz"] = args.clock_mhz
        figures["images_per_second"] = perf.images_per_second(args.clock_mhz)
        speed = f"; {figures['images_per_second']:,.0f} images/s at {args.clock_mhz:g} MHz"
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"rtl {net.name}: {len(images)} test inputs, T={steps} ({bench})\n"
            f"  {accuracy_text(figures['accuracy'])} "
            f"(golden model: {accuracy_text(figures['golden_accuracy'])})\n"
            f"  mismatches: {verdict.describe()}\n"
            f"  {perf.describe()}{speed}\n"
            f"  build: {sim.directory}"
            + (f"\n  waves: {sim.directory / 'dump.vcd'}" if args.waves else "")
        )
    return 0 if verdict.ok and sim.result.status == 0 else 1
