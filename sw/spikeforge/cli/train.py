"""``spikeforge train``: train a reference architecture."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from .common import add_dataset, add_quiet, info, non_negative_float, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..architectures import ACTIVATIONS, ARCHITECTURES

    parser = subparsers.add_parser("train", help="train a reference architecture")
    parser.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    add_dataset(parser)
    parser.add_argument("--out", required=True, type=Path, help="model file to write (.keras)")
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=positive_int, help="train on the first N images only")
    parser.add_argument(
        "--activation",
        choices=ACTIVATIONS,
        default="relu",
        help="hidden activation: relu, or clip-floor (trainable clip threshold, "
        "floored to --levels steps) for low-latency conversion",
    )
    parser.add_argument(
        "--levels",
        type=positive_int,
        default=8,
        help="clip-floor quantization levels L (convert and run with T near L)",
    )
    parser.add_argument(
        "--rate-penalty",
        type=non_negative_float,
        default=0.0,
        help="clip-floor only: add this times the mean spike rate per timestep of each "
        "hidden layer to the loss (fewer spikes and synaptic operations; default 0)",
    )
    add_quiet(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..architectures import Activation
    from ..datasets import load_dataset
    from ..train import ann_predict, is_trained_model, save_model, train_model

    if args.out.suffix != ".keras":
        raise UserError(f"--out {args.out} must end in .keras (Keras 3 saves that format)")
    if (args.out.exists() or args.out.is_symlink()) and not (
        args.out.is_file() and is_trained_model(args.out)
    ):
        raise UserError(
            f"--out {args.out} exists and was not written by `spikeforge train`; spikeforge "
            "replaces only the models it trained itself: pass another --out"
        )
    try:
        activation = Activation(args.activation, args.levels, args.rate_penalty)
    except ValueError as error:  # the one combination the options allow: relu with a penalty
        raise UserError(
            f"--rate-penalty {args.rate_penalty:g} needs --activation clip-floor ({error})"
        ) from error
    dataset = load_dataset(args.dataset, args.quiet)
    penalty = f", rate penalty {activation.rate_penalty:g}" if activation.rate_penalty else ""
    info(
        args,
        f"training {args.arch} ({activation.kind}{penalty}) on {dataset.name} "
        f"for {args.epochs} epochs",
    )
    model = train_model(
        args.arch,
        dataset,
        args.epochs,
        args.batch_size,
        args.seed,
        args.limit,
        args.quiet,
        activation,
    )
    save_model(model, args.out)
    accuracy = float((ann_predict(model, dataset.test_images) == dataset.test_labels).mean())
    print(f"{args.out}: test accuracy {100 * accuracy:.2f}% on {len(dataset.test_labels)} images")
    return 0
