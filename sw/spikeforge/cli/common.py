"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import sys

DATASET_HELP = (
    "'mnist' (downloaded once and cached), 'cifar10:DIR' (the official python or binary "
    "batches, or the tarball), or a directory of IDX files in the MNIST layout"
)


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars or logs")


def add_dataset(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--dataset", required=required, help=DATASET_HELP)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not zero or a positive number")
    return value


def info(args: argparse.Namespace, message: str) -> None:
    """A progress message on stderr, unless --quiet."""
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)
