"""``spikeforge evaluate``: accuracy of a converted network on a dataset's test split."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ..errors import UserError
from .common import (
    accuracy,
    accuracy_text,
    add_dataset,
    add_quiet,
    network_inputs,
    positive_int,
)

BACKENDS = ("ann", "float", "golden")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="accuracy of a converted network")
    parser.add_argument("net", type=Path, help="directory written by `spikeforge convert`")
    add_dataset(parser)
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="golden",
        help="ann: the Keras model; float: the float SNN; golden: the "
        "bit-exact integer SNN (default)",
    )
    parser.add_argument(
        "--timesteps", "-T", type=positive_int, help="timesteps (default: the network's)"
    )
    parser.add_argument("--limit", type=positive_int, help="first N test images only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_quiet(parser)
    parser.set_defaults(run=run)


def ann_classes(net_dir: Path, images: np.ndarray) -> np.ndarray:
    """The source model's classes: Keras runs a converted .keras model; models read from
    Keras 2 / QKeras files run as the numpy ANN of the graph read from the files recorded
    in conversion.json (Keras 3 cannot load those)."""
    from ..netdir import ANN_FILE, NetworkFileError, read_conversion

    if (net_dir / ANN_FILE).is_file():
        from ..frontend.keras_model import load_keras_model
        from ..train import ann_predict

        return ann_predict(load_keras_model(net_dir / ANN_FILE), images)
    from ..ann_numpy import predict
    from ..frontend.graph import load_graph

    conversion = read_conversion(net_dir, "model", "weights")
    model, weights = Path(conversion["model"]), conversion.get("weights")
    if not model.is_file() or (weights and not Path(weights).is_file()):
        raise NetworkFileError(
            f"the ANN backend needs the source model {model}"
            + (f" and weights {weights}" if weights else "")
            + f" that {net_dir} was converted from; they are no longer there"
        )
    graph = load_graph(model, Path(weights) if weights else None)
    return predict(graph, images).argmax(axis=1)


def _reference_classes(net_dir: Path, data: np.ndarray) -> np.ndarray | None:
    """The ANN's classes for the agreement figure; None, said on stderr, where the source
    model cannot be run (the spiking figures do not need it)."""
    try:
        return ann_classes(net_dir, data)
    except UserError as err:
        print(f"spikeforge evaluate: agreement with the ANN not measured: {err}", file=sys.stderr)
        return None


def evaluate(
    net_dir: Path,
    data: np.ndarray,
    labels: np.ndarray | None,
    backend: str,
    timesteps: int | None,
    quiet: bool,
) -> dict:
    """Run one backend on ``data`` (as the dataset keeps it); returns the figures ``--json``
    prints: accuracy (None without labels) and, for the spiking backends, the agreement of
    their classes with the ANN's."""
    from ..netdir import load_float_network, load_int_network

    int_net = load_int_network(net_dir)
    inputs = network_inputs(int_net, data, labels)
    figures: dict = {"backend": backend, "n": len(data), "timesteps": None,
                     "spikes_per_image": None, "synops_per_image": None,
                     "saturation_events": None, "agreement": None}
    if backend == "ann":
        start = time.perf_counter()
        classes = ann_classes(net_dir, data)
    else:
        from ..simulator import simulate

        net = int_net if backend == "golden" else load_float_network(net_dir)
        reference = _reference_classes(net_dir, data)
        steps = timesteps or net.config.timesteps
        start = time.perf_counter()
        result = simulate(net, inputs, steps, quiet=quiet)
        classes = result.classes
        figures.update(
            timesteps=steps,
            spikes_per_image=float(result.spikes.mean()),
            synops_per_image=float(result.synops.mean()),
            saturation_events=int(result.saturation.sum()) if net.is_integer else None,
            agreement=None if reference is None else float((classes == reference).mean()),
        )
    seconds = time.perf_counter() - start
    figures.update(
        accuracy=accuracy(classes, labels),
        seconds=seconds,
        images_per_second=len(data) / seconds,
    )
    return figures


def run(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset

    dataset = load_dataset(args.dataset, args.quiet, train=False)
    data, labels = dataset.test_images, dataset.test_labels
    if args.limit:
        data, labels = data[: args.limit], None if labels is None else labels[: args.limit]
    figures = evaluate(args.net, data, labels, args.backend, args.timesteps, args.quiet)
    if args.json:
        print(json.dumps(figures))
        return 0
    parts = [f"{figures['backend']}: {accuracy_text(figures['accuracy'])} on {figures['n']} inputs"]
    if figures["agreement"] is not None:
        parts.append(f"{100 * figures['agreement']:.2f}% agree with the ANN")
    if figures["timesteps"] is not None:
        parts.append(
            f"T={figures['timesteps']}, {figures['spikes_per_image']:.0f} spikes/image, "
            f"{figures['synops_per_image']:.0f} synops/image"
        )
    if figures["saturation_events"] is not None:
        parts.append(f"{figures['saturation_events']} saturation events")
    print(", ".join(parts) + f" ({figures['images_per_second']:.0f} inputs/s)")
    return 0
