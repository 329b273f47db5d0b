"""``spikeforge evaluate``: accuracy of a converted network on a dataset's test split."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .common import add_dataset, add_quiet, positive_int

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
    from ..netdir import ANN_FILE, NetworkFileError

    if (net_dir / ANN_FILE).is_file():
        from ..frontend.keras_model import load_keras_model
        from ..train import ann_predict

        return ann_predict(load_keras_model(net_dir / ANN_FILE), images)
    from ..ann_numpy import predict
    from ..frontend.graph import load_graph

    conversion = json.loads((net_dir / "conversion.json").read_text())
    model, weights = Path(conversion["model"]), conversion.get("weights")
    if not model.is_file() or (weights and not Path(weights).is_file()):
        raise NetworkFileError(
            f"the ANN backend needs the source model {model}"
            + (f" and weights {weights}" if weights else "")
            + f" that {net_dir} was converted from; they are no longer there"
        )
    graph = load_graph(model, Path(weights) if weights else None)
    return predict(graph, images).argmax(axis=1)


def evaluate(
    net_dir: Path, images, labels, backend: str, timesteps: int | None, quiet: bool
) -> dict:
    """Run one backend on ``images``; returns the figures ``--json`` prints."""
    from ..netdir import load_float_network, load_int_network
    from ..verify import check_labels

    start = time.perf_counter()
    check_labels(labels, load_int_network(net_dir).num_classes)
    if backend == "ann":
        classes = ann_classes(net_dir, images)
        seconds = time.perf_counter() - start
        return {
            "backend": "ann",
            "n": len(labels),
            "timesteps": None,
            "accuracy": float((classes == labels).mean()),
            "spikes_per_image": None,
            "synops_per_image": None,
            "saturation_events": None,
            "seconds": seconds,
            "images_per_second": len(labels) / seconds,
        }
    from ..simulator import simulate

    net = load_int_network(net_dir) if backend == "golden" else load_float_network(net_dir)
    steps = timesteps or net.config.timesteps
    result = simulate(net, images, steps, quiet=quiet)
    seconds = time.perf_counter() - start
    return {
        "backend": backend,
        "n": len(labels),
        "timesteps": steps,
        "accuracy": result.accuracy(labels),
        "spikes_per_image": float(result.spikes.mean()),
        "synops_per_image": float(result.synops.mean()),
        "saturation_events": int(result.saturation.sum()) if net.is_integer else None,
        "seconds": seconds,
        "images_per_second": len(labels) / seconds,
    }


def run(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset

    dataset = load_dataset(args.dataset, args.quiet, train=False)
    images, labels = dataset.test_images, dataset.test_labels
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    figures = evaluate(args.net, images, labels, args.backend, args.timesteps, args.quiet)
    if args.json:
        print(json.dumps(figures))
        return 0
    accuracy = 100 * figures["accuracy"]
    line = f"{figures['backend']}: accuracy {accuracy:.2f}% on {figures['n']} images"
    if figures["timesteps"] is not None:
        line += (
            f", T={figures['timesteps']}, {figures['spikes_per_image']:.0f} spikes/image, "
            f"{figures['synops_per_image']:.0f} synops/image"
        )
    if figures["saturation_events"] is not None:
        line += f", {figures['saturation_events']} saturation events"
    print(line + f" ({figures['images_per_second']:.0f} images/s)")
    return 0
