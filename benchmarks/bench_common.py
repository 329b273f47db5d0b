"""Helpers shared by the benchmark scripts: arguments, conversion, tables, plots."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


def parser(description: str, model: bool = True) -> argparse.ArgumentParser:
    """The options every benchmark shares; ``--model`` (required) unless ``model`` is off."""
    p = argparse.ArgumentParser(description=description)
    if model:
        p.add_argument("--model", type=Path, required=True, help="trained Keras model")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--limit", type=int, help="first N test images (default: all)")
    p.add_argument("--calibration", type=int, default=10000)
    p.add_argument("--out", type=Path, default=FIGURES, help="where tables and plots go")
    return p


def load(args: argparse.Namespace):
    """(graph, dataset, test images, test labels) for the benchmark arguments."""
    from spikeforge.datasets import load_dataset
    from spikeforge.frontend.keras_model import keras_to_graph, load_keras_model

    dataset = load_dataset(args.dataset, quiet=True)
    model = load_keras_model(args.model)
    images, labels = dataset.test_images, dataset.test_labels
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    return model, keras_to_graph(model), dataset, images, labels


def convert(graph, dataset, calibration: int, **options):
    """(float net, integer net) for conversion options (ConvertOptions fields)."""
    from spikeforge.flow import ConvertOptions, run_flow

    state = run_flow(graph, dataset.train_images[:calibration], ConvertOptions(**options))
    return state.float_net, state.int_net


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
           f"Python {platform.python_version()}"


def write_result(out: Path, name: str, title: str, command: str, body: str) -> Path:
    """Write ``name``.md with the table and the command that reproduces it; echo it."""
    out.mkdir(parents=True, exist_ok=True)
    text = f"# {title}\n\nReproduce: `{command}`\n\nMachine: {machine()}\n\n{body}"
    path = out / f"{name}.md"
    path.write_text(text)
    sys.stdout.write(body)
    return path


def command_line() -> str:
    script = Path(sys.argv[0]).name
    return " ".join([f"python benchmarks/{script}", *sys.argv[1:]])
