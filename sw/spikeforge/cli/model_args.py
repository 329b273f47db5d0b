"""The model argument (any supported model file) and its ``--weights``, shared by the
commands that read a model."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        type=Path,
        help="a model: .keras (Keras 3), .h5 (a full Keras 2/3 or QKeras model), or a .json "
        "architecture (Keras 2/QKeras or Keras 3) with --weights",
    )
    parser.add_argument(
        "--weights",
        type=Path,
        metavar="FILE.h5",
        help="the weights of a .json architecture (what model.save_weights wrote)",
    )
