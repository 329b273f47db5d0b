"""The HLS core's project directory and target options, shared by ``hls``, ``report`` and
``ip``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError
from .common import positive_int

if TYPE_CHECKING:
    from ..hls.options import HlsOptions

DEFAULT_HLS_DIR = Path("build/hls")


def add_hls_options(parser: argparse.ArgumentParser) -> None:
    """Target and architecture options."""
    from ..hls.options import DEFAULT_CLOCK_NS, DEFAULT_MAX_LANES, DEFAULT_PART

    group = parser.add_argument_group("HLS core")
    group.add_argument("--part", default=DEFAULT_PART, help=f"FPGA part (default {DEFAULT_PART})")
    group.add_argument(
        "--clock",
        type=float,
        default=DEFAULT_CLOCK_NS,
        metavar="NS",
        help=f"clock period in ns (default {DEFAULT_CLOCK_NS:g})",
    )
    group.add_argument(
        "--unroll",
        nargs="+",
        metavar="LAYER=LANES",
        help="parallel neuron lanes of a layer (must divide its channels)",
    )
    group.add_argument(
        "--max-lanes",
        type=positive_int,
        default=DEFAULT_MAX_LANES,
        help="default lanes: the largest divisor of a layer's channels up to this "
        f"(default {DEFAULT_MAX_LANES})",
    )
    group.add_argument(
        "--no-resource-check",
        action="store_true",
        help="generate even if the estimate exceeds the part (or the part is unknown)",
    )


def hls_options(args: argparse.Namespace) -> HlsOptions:
    """The options of ``add_hls_options`` as given on the command line."""
    from ..hls.options import HlsOptions, parse_unroll

    try:
        return HlsOptions(
            part=args.part,
            clock_ns=args.clock,
            unroll=parse_unroll(args.unroll),
            max_lanes=args.max_lanes,
            check_resources=not args.no_resource_check,
        )
    except ValueError as err:
        raise UserError(str(err)) from None
