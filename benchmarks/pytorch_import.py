"""PyTorch through ONNX and Brevitas through QONNX, on MNIST.

* A small PyTorch CNN (conv-BN-ReLU-pool x 2, Flatten, Linear), trained here on CPU,
  written with ``torch.onnx.export(..., dynamo=False)``, read by spikeforge's ONNX frontend:
  the ANN's accuracy as onnxruntime and as spikeforge compute it, and the golden SNN's at
  T = 4, 8 and 32 (analog input, reset by subtraction, membrane starting at 0).
* A Brevitas network with 4-bit weights and 4-bit QuantReLUs, written with
  ``brevitas.export.export_qonnx``: the quantized network's accuracy as Brevitas computes
  it, and how often the golden SNN at T = 15 (= 2^4 - 1 levels), 30 and 60 with the
  half-threshold start gives the quantized network's class (as
  benchmarks/qkeras_conversion.py reports for QKeras).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from bench_common import FIGURES, command_line, markdown_table, write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the model helpers

from torch_models import export, export_brevitas, onnx_reference, torch_output


def _nchw(images: np.ndarray) -> np.ndarray:
    """uint8 MNIST images (N, 28, 28[, 1]) as the float (N, 1, 28, 28) torch trains on."""
    return (images.reshape(len(images), 1, 28, 28) / 255.0).astype(np.float32)


def train(model, dataset, epochs: int, seed: int, limit: int | None = None):
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(_nchw(dataset.train_images[:limit]))
    y = torch.from_numpy(dataset.train_labels[:limit].astype(np.int64))
    optimizer = torch.optim.Adam(model.parameters(), 2e-3)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 128):
            batch = order[start:start + 128]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model.eval()


def float_cnn():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10))


def brevitas_cnn(bits: int):
    import brevitas.nn as qnn
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        qnn.QuantConv2d(1, 16, 5, weight_bit_width=bits), qnn.QuantReLU(bit_width=bits),
        nn.MaxPool2d(2), qnn.QuantConv2d(16, 32, 5, weight_bit_width=bits),
        qnn.QuantReLU(bit_width=bits), nn.MaxPool2d(2), nn.Flatten(),
        qnn.QuantLinear(32 * 4 * 4, 10, bias=True, weight_bit_width=bits))


def _convert(path: Path, dataset, args, steps: list[int], v_init: str):
    """(spikeforge's ANN outputs, golden SNN results per T) of the ONNX file ``path``."""
    from spikeforge import ir
    from spikeforge.ann_numpy import predict
    from spikeforge.flow import ConvertOptions, run_flow
    from spikeforge.frontend.graph import load_graph
    from spikeforge.simulator import simulate

    graph = load_graph(path)
    images = dataset.test_images[: args.limit]
    config = ir.SnnConfig(v_init=v_init, timesteps=max(steps))
    state = run_flow(graph, dataset.train_images[: args.calibration],
                     ConvertOptions(config=config))
    return predict(graph, images), simulate(state.int_net, images, checkpoints=steps)


def pytorch_rows(dataset, args, workdir: Path) -> list[list[object]]:
    start = time.time()
    model = train(float_cnn(), dataset, args.epochs, args.seed)
    trained = time.time() - start
    path = export(model, (1, 1, 28, 28), workdir / "cnn.onnx")
    labels = dataset.test_labels[: args.limit]
    reference = onnx_reference(path, _nchw(dataset.test_images[: args.limit])).argmax(axis=1)
    ann, golden = _convert(path, dataset, args, [4, 8, 32], "zero")
    ann_classes = ann.argmax(axis=1)
    return [["PyTorch CNN (ONNX)", "zero", t, f"{100 * np.mean(reference == labels):.2f}",
             f"{100 * np.mean(ann_classes == labels):.2f}",
             f"{100 * golden[t].accuracy(labels):.2f}",
             f"{100 * np.mean(golden[t].classes == ann_classes):.2f}", f"{trained:.0f}"]
            for t in (4, 8, 32)]


def brevitas_rows(dataset, args, workdir: Path) -> list[list[object]]:
    bits = args.bits
    levels = 2**bits - 1
    start = time.time()
    model = train(brevitas_cnn(bits), dataset, args.epochs, args.seed)
    trained = time.time() - start
    path = export_brevitas(model, (1, 1, 28, 28), workdir / "brevitas.onnx")
    images, labels = dataset.test_images[: args.limit], dataset.test_labels[: args.limit]
    quantized = torch_output(model, _nchw(images)).argmax(axis=1)
    steps = [levels, 2 * levels, 4 * levels]
    ann, golden = _convert(path, dataset, args, steps, "half")
    ann_classes = ann.argmax(axis=1)
    return [[f"Brevitas {bits}-bit CNN (QONNX)", "half", t,
             f"{100 * np.mean(quantized == labels):.2f}",
             f"{100 * np.mean(ann_classes == labels):.2f}",
             f"{100 * golden[t].accuracy(labels):.2f}",
             f"{100 * np.mean(golden[t].classes == quantized):.2f}", f"{trained:.0f}"]
            for t in steps]


HEADER = ["model", "v_init", "T", "framework ANN %", "spikeforge ANN %", "golden SNN %",
          "SNN = reference class %", "train s"]


def plot(rows: list[list[object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for index, name in enumerate(dict.fromkeys(r[0] for r in rows)):
        sel = [r for r in rows if r[0] == name]
        ax.plot([r[2] for r in sel], [float(r[5]) for r in sel], "-o", color=f"C{index}",
                label=f"{name}: golden SNN")
        ax.axhline(float(sel[0][3]), color=f"C{index}", lw=0.8, ls=":",
                   label=f"{name}: framework ANN")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("timesteps T")
    ax.set_ylabel("MNIST test accuracy %")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--bits", type=int, default=4, help="Brevitas weight/activation bits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=2000, help="test images")
    p.add_argument("--calibration", type=int, default=2000)
    p.add_argument("--out", type=Path, default=FIGURES)
    args = p.parse_args()
    warnings.filterwarnings("ignore")

    from spikeforge.datasets import load_dataset

    dataset = load_dataset(args.dataset, quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = pytorch_rows(dataset, args, Path(tmp)) + brevitas_rows(dataset, args, Path(tmp))
    body = (f"{args.limit} {args.dataset} test images; trained {args.epochs} epoch(s) on CPU "
            f"(Adam, batch 128); calibration {args.calibration} training images; analog "
            "input, reset by subtraction, default word widths. 'framework ANN': onnxruntime "
            "on the exported file (PyTorch) or the Brevitas model itself; 'spikeforge ANN': "
            "the graph spikeforge read from the file; 'SNN = reference class': the golden "
            "SNN's class equals spikeforge's ANN's (PyTorch) or the quantized Brevitas "
            "network's (Brevitas).\n\n" + markdown_table(HEADER, rows))
    write_result(args.out, "pytorch_import", "PyTorch (ONNX) and Brevitas (QONNX) on MNIST",
                 command_line(), body)
    plot(rows, args.out / "pytorch_import.png")


if __name__ == "__main__":
    main()
