"""NIR in and out on MNIST: the round trip and a network snnTorch wrote (docs/nir.md).

1. ``build/net`` (the Makefile's MNIST CNN), where present: ``export-nir`` refuses its
   max-pool gates (NIR has no spiking max-pool), and the table says so.
2. A max-pool-free MNIST CNN (two strided convolutions, a dense layer) is trained here,
   converted, written with ``spikeforge export-nir`` and read back with
   ``spikeforge convert``: golden accuracy of both on the test images, and the share of
   images whose ten spike counts (and class) are identical.
3. A network snnTorch made: an MLP trained in Keras and converted, its float SNN (weights
   over thresholds, threshold 1) rebuilt as ``Linear`` + ``snn.Leaky(beta=1)`` layers,
   written by snnTorch's ``export_to_nir`` and converted (``--reset subtract``: snnTorch's
   Leaky subtracts, but NIR records only ``v_reset = 0``). snnTorch's own float32
   simulation and the golden model run the same images; the counts differ by the
   quantizer's rounding (documented in docs/nir.md), so agreement is measured.

Everything runs through the command line (``convert``, ``export-nir``) as a user would.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from bench_common import command_line, markdown_table, parser, write_result

ROOT = Path(__file__).resolve().parents[1]


def _train(dataset, layers_fn, epochs: int, path: Path) -> Path:
    import keras

    from spikeforge.train import save_model

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(dataset.input_shape), *layers_fn()])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(dataset.train_images / 255.0, dataset.train_labels, epochs=epochs,
              batch_size=128, verbose=0)
    save_model(model, path)
    return path


def _cnn_layers():
    from keras import layers as L

    return [L.Conv2D(16, 5, strides=2, activation="relu", name="conv1"),
            L.Conv2D(32, 3, strides=2, activation="relu", name="conv2"),
            L.Flatten(), L.Dense(10, activation="softmax", name="logits")]


def _mlp_layers():
    from keras import layers as L

    return [L.Flatten(), L.Dense(128, activation="relu", name="fc1"),
            L.Dense(10, activation="softmax", name="logits")]


def _cli(*argv: str) -> None:
    from spikeforge.cli import main

    if main(list(argv)) != 0:
        raise SystemExit(f"spikeforge {' '.join(argv)} failed")


def _convert(model: Path, out: Path, timesteps: int, calibration: int, *extra: str) -> Path:
    _cli("convert", str(model), "--dataset", "mnist", "--out", str(out), "--timesteps",
         str(timesteps), "--calibration", str(calibration), "--quiet", *extra)
    return out


def _export_refusal(net: Path) -> str:
    """What export-nir says about ``net`` (the refusal, or 'exported')."""
    from spikeforge.errors import UserError
    from spikeforge.netdir import load_int_network
    from spikeforge.nirio.export import network_to_nir

    try:
        network_to_nir(load_int_network(net))
    except UserError as err:
        return f"refused: {err}"
    return "exported"


def _snntorch_from(float_net, input_scale: float):
    """The float SNN as snnTorch layers: Linear (weights over thresholds) + Leaky(beta=1),
    the first layer reading the data as the ANN does (pixel / 255)."""
    import snntorch as snn
    import torch

    modules: list = []
    for index, layer in enumerate(float_net.neuron_layers):
        weights = layer.weights * (input_scale if index == 0 else 1.0)
        linear = torch.nn.Linear(*weights.shape)
        linear.weight.data = torch.tensor(weights.T, dtype=torch.float32)
        linear.bias.data = torch.tensor(layer.bias, dtype=torch.float32)
        n = layer.channels
        modules += [linear, snn.Leaky(beta=torch.ones(n), threshold=torch.ones(n),
                                      init_hidden=True)]
    return torch.nn.Sequential(*modules)


def _snntorch_counts(module, x: np.ndarray, steps: int, batch: int = 2000) -> np.ndarray:
    import torch
    from snntorch import utils

    counts = []
    with torch.no_grad():
        for start in range(0, len(x), batch):
            utils.reset(module)
            current = torch.tensor(x[start:start + batch], dtype=torch.float32)
            total = 0
            for _ in range(steps):
                total = total + module(current)
            counts.append(total.numpy())
    return np.concatenate(counts).astype(np.int64)


def main() -> None:
    p = parser(__doc__.splitlines()[0], model=False)
    p.add_argument("--net", type=Path, default=ROOT / "build" / "net",
                   help="the Makefile's MNIST network, if built (its export is tried)")
    p.add_argument("--work", type=Path, default=ROOT / "build" / "nir_roundtrip")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--timesteps", "-T", type=int, default=32)
    args = p.parse_args()
    import snntorch  # noqa: F401  (fail early: the third row needs it)
    import torch

    from spikeforge.datasets import load_dataset
    from spikeforge.netdir import load_float_network, load_int_network
    from spikeforge.simulator import simulate

    torch.set_num_threads(2)
    data = load_dataset("mnist", quiet=True)
    images, labels = data.test_images, data.test_labels
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    T, work = args.timesteps, args.work
    work.mkdir(parents=True, exist_ok=True)
    rows = []

    if (args.net / "snn.json").is_file():
        shown = args.net.relative_to(ROOT) if args.net.is_relative_to(ROOT) else args.net
        rows.append([f"`{shown}` (max-pool CNN): export-nir", _export_refusal(args.net),
                     "-", "-", "-", "-"])

    cnn = _train(data, _cnn_layers, args.epochs, work / "cnn.keras")
    net = _convert(cnn, work / "cnn_net", T, args.calibration)
    _cli("export-nir", str(net), str(work / "cnn.nir"))
    back = _convert(work / "cnn.nir", work / "cnn_back", T, args.calibration)
    a = simulate(load_int_network(net), images, T, workers=1)
    b = simulate(load_int_network(back), images, T, workers=1)
    same = np.all(a.counts == b.counts, axis=1)
    rows.append(["strided CNN: convert -> export-nir -> convert", "the graph's own integers",
                 f"{a.accuracy(labels):.4f}", f"{b.accuracy(labels):.4f}",
                 f"{same.mean():.4f} ({int(same.sum())}/{len(same)})",
                 f"{np.mean(a.classes == b.classes):.4f}"])

    mlp = _train(data, _mlp_layers, args.epochs, work / "mlp.keras")
    mlp_net = _convert(mlp, work / "mlp_net", T, args.calibration)
    float_net = load_float_network(mlp_net)
    module = _snntorch_from(float_net, float_net.input_format.scale)
    import nir
    from snntorch.export_nir import export_to_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # snnTorch's tau = dt / (1 - beta) divides by zero
        nir.write(work / "snntorch.nir", export_to_nir(module, torch.zeros(784)))
    imported = _convert(work / "snntorch.nir", work / "snntorch_net", T, args.calibration,
                        "--reset", "subtract")
    golden = simulate(load_int_network(imported), images, T, workers=1)
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    reference = _snntorch_counts(module, x, T)
    from spikeforge.simulator import decide

    ref_classes = decide(reference, np.zeros_like(reference), np.ones(10, np.int64))
    same = np.all(golden.counts == reference, axis=1)
    rows.append(["snnTorch MLP (Leaky beta=1, export_to_nir) -> convert",
                 "quantized by the spec's quantizer (8-bit weights)",
                 f"{np.mean(ref_classes == labels):.4f} (snnTorch)",
                 f"{golden.accuracy(labels):.4f}",
                 f"{same.mean():.4f} ({int(same.sum())}/{len(same)})",
                 f"{np.mean(golden.classes == ref_classes):.4f}"])

    header = ["network", "integers", "accuracy (before)", "accuracy (golden after)",
              "images with all 10 counts equal", "classes equal"]
    body = markdown_table(header, rows) + (
        f"\nT = {T}, {len(images)} MNIST test images, training epochs: {args.epochs}. "
        "'before' is the golden model of the converted network (row 2) or snnTorch's own "
        "float32 simulation (row 3; its class is the most spikes, ties to the lowest index "
        "without membranes). See docs/nir.md for why row 2 is exact and row 3 is not.\n")
    write_result(args.out, "nir_roundtrip", "NIR round trip and a snnTorch-made network",
                 command_line(), body)
    _plot(args.out / "nir_roundtrip.png", rows[-2:])


def _plot(path: Path, rows: list[list[str]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["round trip", "snnTorch-made"]
    bars = {
        "accuracy before": [float(r[2].split()[0]) for r in rows],
        "golden accuracy after": [float(r[3]) for r in rows],
        "images with all counts equal": [float(r[4].split()[0]) for r in rows],
        "classes equal": [float(r[5]) for r in rows],
    }
    xs = np.arange(len(rows))
    width = 0.2
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for k, (label, values) in enumerate(bars.items()):
        ax.bar(xs + (k - 1.5) * width, values, width, label=label)
    ax.set_xticks(xs, names)
    ax.set_ylim(0.0, 1.05)
    ax.legend(loc="lower center", fontsize=8, ncol=2)
    ax.set_title("NIR: spikeforge round trip and a snnTorch-made MLP (MNIST)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
