"""The ``spikeforge`` command line: one module per subcommand, each with ``register``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import UserError
from . import convert, evaluate, export_nir, hls, inspect, ip, package, report, sim, synth, train

COMMANDS = [train, inspect, convert, evaluate, package, hls, sim, synth, ip, report, export_nir]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikeforge",
        description="Convert a trained Keras CNN into an integrate-and-fire spiking network, "
        "quantize it, and build it for an FPGA.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserError as err:
        print(f"spikeforge {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the file system said no: a path, a permission, a full disk
        print(
            f"spikeforge {args.command}: error: {err}; check the path, its permissions and "
            "the free space",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"spikeforge {args.command}: interrupted", file=sys.stderr)
        return 130
