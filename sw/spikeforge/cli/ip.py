"""``spikeforge ip``: the core as a Vivado IP repository for IP integrator (the RTL core with
its packaging Tcl, or the Vitis HLS export), and the out-of-context timing script."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from .common import add_quiet, info, positive_float
from .hls_options import DEFAULT_HLS_DIR
from .rtl_options import add_plan_options, plan_for


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..vivado.timing import DEFAULT_CLOCK_MHZ, DEFAULT_PART

    parser = subparsers.add_parser(
        "ip",
        help="the core as a Vivado IP repository (RTL packaging Tcl, or the HLS export)",
        description="Write an IP repository for Vivado's IP integrator with the core's VLNV, "
        "ports and register map (docs/vivado-ip.md). --core rtl: the SystemVerilog sources, "
        "the network's parameter package and memory files and a packaging Tcl (Vivado runs "
        "it; this command needs no Vivado). --core hls: a copy of the Vitis HLS export of "
        "`spikeforge hls --vitis`.",
    )
    parser.add_argument("net", type=Path, help="directory written by `spikeforge convert`")
    parser.add_argument("--core", choices=["rtl", "hls"], default="rtl",
                        help="which core (default rtl)")
    parser.add_argument("--out", type=Path, required=True,
                        help="the IP repository to write (IP_REPO)")
    parser.add_argument(
        "--hls-dir", type=Path, default=DEFAULT_HLS_DIR,
        help=f"--core hls: the HLS project holding the export (default {DEFAULT_HLS_DIR})",
    )
    parser.add_argument(
        "--timing-script", action="store_true",
        help="--core rtl: also write timing/ooc_timing.tcl, an out-of-context Vivado run for "
        "post-route LUT/FF/BRAM/DSP and Fmax (`spikeforge report --vivado-timing` reads it)",
    )
    parser.add_argument("--timing-part", default=DEFAULT_PART,
                        help=f"the timing script's part (default {DEFAULT_PART})")
    parser.add_argument(
        "--timing-clock-mhz", type=positive_float, default=DEFAULT_CLOCK_MHZ,
        help=f"the timing script's target clock (default {DEFAULT_CLOCK_MHZ:g} MHz); Fmax is "
        "1000 / (period - WNS)",
    )
    add_plan_options(parser)
    add_quiet(parser)
    parser.set_defaults(run=run)


def plan_text(args: argparse.Namespace) -> str:
    """The plan options as given, for the manifest and the timing result."""
    return (f"--synapse-lanes {args.synapse_lanes} --multiplier-lanes {args.multiplier_lanes} "
            f"--fire-lanes {args.fire_lanes} "
            f"{'--double-buffer' if args.double_buffer else '--no-double-buffer'} "
            f"--link-depth {args.link_depth}")


def run(args: argparse.Namespace) -> int:
    from ..netdir import load_int_network
    from ..outdir import claim_output
    from ..rtl.hwdesc import describe
    from ..vivado.ip import KIND, command, write_hls_ip, write_rtl_ip
    from ..vivado.timing import TimingTarget

    if args.core == "hls" and args.timing_script:
        raise UserError(
            "--timing-script times the RTL core; the HLS core's Vivado figures come from its "
            "own flow (`spikeforge hls --vitis`, docs/hls.md): drop --timing-script or use "
            "--core rtl"
        )
    inputs = [args.net, args.hls_dir if args.core == "hls" else None]
    claim_output(args.out, KIND, inputs=inputs)
    net = load_int_network(args.net)
    if args.core == "hls":
        repo = write_hls_ip(net, args.hls_dir, args.out, args.net)
        print(f"ip: {repo.path} holds the Vitis HLS export of '{net.name}' (already "
              f"packaged: {repo.component})\n"
              f"  overlay: make overlay CORE=hls IP_REPO={repo.path}")
        return 0
    target = TimingTarget(args.timing_part, args.timing_clock_mhz)
    info(args, f"ip: writing the RTL core of {net.name} into {args.out}")
    stages = describe(net, plan_for(net, args))
    repo = write_rtl_ip(net, stages, args.out, args.net, plan_text(args),
                        target if args.timing_script else None)
    assert repo.package_tcl is not None
    lines = [
        f"ip: {repo.path}: the RTL core of '{net.name}' (sources, sf_params package, memory "
        "files) and its packaging Tcl",
        f"  package it (Vivado): {command(repo.package_tcl)}",
        f"  then: make overlay CORE=rtl IP_REPO={repo.path}",
    ]
    if repo.timing_tcl is not None:
        lines.append(f"  timing (Vivado, {target.part} at {target.clock_mhz:g} MHz): "
                     f"{command(repo.timing_tcl)}")
    print("\n".join(lines))
    return 0
