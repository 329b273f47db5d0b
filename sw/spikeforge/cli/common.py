"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from ..ir import Network

DATASET_HELP = (
    "'mnist' (downloaded once and cached), 'cifar10:DIR' (the official python or binary "
    "batches, or the tarball), a directory of IDX files in the MNIST layout, or FILE.npz "
    "(x_train, x_test, optional y_train, y_test)"
)


def dataset_name(net_dir: Path, given: str | None) -> str:
    """``--dataset``, or the one the network was converted with."""
    from ..netdir import read_conversion

    if given:
        return given
    try:
        return read_conversion(net_dir, "dataset")["dataset"]
    except UserError as err:
        raise UserError(f"{err}; or name the dataset with --dataset") from None


def test_split(
    args: argparse.Namespace, count: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The first ``count`` (default all) test inputs of ``--dataset`` (default: the one the
    network in ``args.net`` was converted with) as the dataset keeps them, and their labels
    (None for a dataset without labels)."""
    from ..datasets import load_dataset

    dataset = load_dataset(dataset_name(args.net, args.dataset), args.quiet, train=False)
    available = len(dataset.test_images)
    if count is not None and count > available:
        raise UserError(f"--images {count}: the test split has {available} inputs")
    labels = dataset.test_labels
    return dataset.test_images[:count], None if labels is None else labels[:count]


def accuracy(classes: np.ndarray, labels: np.ndarray | None) -> float | None:
    """The fraction of ``classes`` equal to ``labels``; None without labels."""
    return None if labels is None else float((classes == labels).mean())


def accuracy_text(value: float | None) -> str:
    """'accuracy 98.50%', or 'no labels' for a dataset without them (``value`` None)."""
    return "no labels" if value is None else f"accuracy {100 * value:.2f}%"


def network_inputs(net: Network, data: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """``data`` encoded as ``net``'s input integers, after checking that its shape and
    labels fit the network."""
    from ..datasets import fit_inputs
    from ..verify import check_labels

    data = fit_inputs(data, net.input_shape, f"the network '{net.name}'")
    if labels is not None:
        check_labels(labels, net.num_classes)
    return net.input_format.encode(data)


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars or logs")


def add_dataset(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--dataset", required=required, help=DATASET_HELP)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
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
