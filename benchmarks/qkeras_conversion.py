"""QKeras models convert at T = L: how close the SNN gets to the quantized ANN.

For each activation width ``bits``, a small MNIST CNN is trained with clip-floor
activations fixed at QKeras' ``quantized_relu(bits, integer)`` levels, written as a QKeras
model (Keras 2 JSON + H5: QConv2D/QDense with ``quantized_bits`` kernels and biases,
QActivation) and read back by spikeforge's own frontend (QKeras is not needed). Then, side
by side on the same test images:

* the quantized ANN as QKeras computes it (ties rounded half to even) and as spikeforge
  reads it (the clip-floor: ties rounded up), and how many activations are exact ties;
* the float SNN and the fixed-point (golden) SNN at T = L, 2L, 4L, with the membrane
  starting at theta/2 (``--v-init half``) and at 0 (the default), and how often their
  classes agree with the quantized ANN's;
* the share of first-layer neurons whose spike count at T = L equals the ANN's level.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench_common import FIGURES, command_line, markdown_table, write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the QKeras writer

from keras2_files import write_keras2


def train(dataset, bits: int, integer: int, epochs: int, seed: int):
    """An MNIST CNN whose activations are fixed clip-floors with quantized_relu's levels."""
    import keras
    from keras import layers as L

    from spikeforge.keras_layers import ClipFloor

    keras.utils.set_random_seed(seed)
    levels, cap = 2**bits - 1, (2**bits - 1) * 2.0 ** (integer - bits)

    def act(name: str):
        layer = ClipFloor(levels, cap, name=name)
        layer.trainable = False  # QKeras' quantized_relu has a fixed cap
        return layer

    model = keras.Sequential([
        keras.Input(dataset.input_shape, name="image"),
        L.Conv2D(16, 5, name="conv1"), act("act1"), L.MaxPooling2D(2, name="pool1"),
        L.Conv2D(32, 5, name="conv2"), act("act2"), L.MaxPooling2D(2, name="pool2"),
        L.Flatten(name="flatten"), L.Dense(dataset.num_classes, name="logits")], name="qcnn")
    model.compile(keras.optimizers.Adam(2e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(dataset.train_images.astype(np.float32) / 255.0, dataset.train_labels,
              batch_size=128, epochs=epochs, verbose=0)
    return model


QUANTIZERS = {"kernel_quantizer": "quantized_bits(8,0,alpha=1)",
              "bias_quantizer": "quantized_bits(8,3,alpha=1)"}


def predict_half_even(graph, images: np.ndarray) -> np.ndarray:
    """The graph's outputs with QKeras' rounding of quantized_relu (ties to even)."""
    from spikeforge import ir
    from spikeforge.ann_numpy import apply_layer

    x = images.astype(np.float32) / 255.0
    for layer in graph.layers:
        spec = getattr(layer, "relu", None) or getattr(layer, "spec", None)
        if spec is None or spec.levels is None:
            x = apply_layer(layer, x)
            continue
        if not isinstance(layer, ir.ReLU):
            x = apply_layer(dataclasses.replace(layer, relu=None), x)
        steps = np.clip(np.round(x * np.float32(spec.levels / spec.cap)), 0, spec.levels)
        x = (steps * np.float32(spec.cap / spec.levels)).astype(np.float32)
    return x


def tie_fraction(graph, images: np.ndarray) -> float:
    """Share of quantized activations whose input lies exactly halfway between two levels
    (``graph`` in canonical form)."""
    from spikeforge import ir
    from spikeforge.ann_numpy import apply_layer

    x, ties, total = images.astype(np.float32) / 255.0, 0, 0
    for layer in graph.layers:
        spec = getattr(layer, "relu", None)
        if spec is not None and spec.levels is not None:
            pre = apply_layer(dataclasses.replace(layer, relu=None), x) * np.float32(
                spec.levels / spec.cap)
            inside = (pre > 0) & (pre < spec.levels)
            ties += int(np.sum(inside & (pre - np.floor(pre) == 0.5)))
            total += pre.size
        x = apply_layer(layer, x) if not isinstance(layer, ir.Softmax) else x
    return ties / total


def first_layer_exact(result, graph, images: np.ndarray) -> float:
    """Share of first-layer neurons whose count at T = L equals the ANN's level (``graph``
    in canonical form: the activation merged into the first convolution)."""
    from spikeforge.ann_numpy import apply_layer

    conv = graph.layers[0]
    level = apply_layer(conv, images.astype(np.float32) / 255.0) * (conv.relu.levels /
                                                                     conv.relu.cap)
    return float(np.mean(result.layer_counts[0] == np.rint(level)))


def run_width(args, dataset, bits: int, workdir: Path) -> list[list[object]]:
    from spikeforge import ir
    from spikeforge.ann_numpy import predict
    from spikeforge.flow import ConvertOptions, run_flow
    from spikeforge.frontend.graph import load_graph
    from spikeforge.simulator import simulate

    model = train(dataset, bits, args.integer, args.epochs, args.seed)
    overrides = {name: {"class_name": cls, **QUANTIZERS}
                 for name, cls in [("conv1", "QConv2D"), ("conv2", "QConv2D"),
                                   ("logits", "QDense")]}
    files = write_keras2(model, workdir / f"bits{bits}", overrides=overrides)
    graph = load_graph(files.json, files.weights)
    images, labels = dataset.test_images[: args.limit], dataset.test_labels[: args.limit]
    qkeras_classes = predict_half_even(graph, images).argmax(axis=1)
    ann_classes = predict(graph, images).argmax(axis=1)
    levels = 2**bits - 1
    steps = [t for t in (levels, 2 * levels, 4 * levels) if t <= 255]
    rows = []
    for v_init in ("half", "zero"):
        config = ir.SnnConfig(v_init=v_init, timesteps=steps[0])
        state = run_flow(graph, dataset.train_images[: args.calibration],
                         ConvertOptions(config=config))
        floating = simulate(state.float_net, images, checkpoints=steps, record_layers=True)
        exact = simulate(state.int_net, images, checkpoints=steps, record_layers=True)
        for t in steps:
            f, g = floating[t], exact[t]
            rows.append([
                bits, levels, v_init, t,
                f"{100 * np.mean(qkeras_classes == labels):.2f}",
                f"{100 * np.mean(ann_classes == labels):.2f}",
                f"{100 * f.accuracy(labels):.2f}", f"{100 * g.accuracy(labels):.2f}",
                f"{100 * np.mean(f.classes == ann_classes):.2f}",
                f"{100 * np.mean(g.classes == ann_classes):.2f}",
                f"{100 * first_layer_exact(f, state.graph, images):.2f}" if t == levels
                else "-",
                f"{100 * first_layer_exact(g, state.graph, images):.2f}" if t == levels
                else "-",
                f"{100 * tie_fraction(state.graph, images):.3f}"])
    return rows


HEADER = ["bits", "L", "v_init", "T", "QKeras ANN %", "clip-floor ANN %", "float SNN %",
          "golden SNN %", "float = ANN class %", "golden = ANN class %",
          "layer-1 float exact %", "layer-1 golden exact %", "ties %"]


def plot(rows: list[list[object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for index, bits in enumerate(sorted({r[0] for r in rows})):
        color = f"C{index}"
        for v_init, style in (("half", "-o"), ("zero", "--x")):
            sel = [r for r in rows if r[0] == bits and r[2] == v_init]
            ax.plot([r[3] / r[1] for r in sel], [float(r[7]) for r in sel], style, color=color,
                    label=f"{bits}-bit, v_init {v_init}")
        ax.axhline(float(sel[0][4]), color=color, lw=0.6, ls=":")
    ax.set_xlabel("T / L")
    ax.set_ylabel("golden SNN accuracy % (dotted: QKeras ANN)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--bits", type=int, nargs="+", default=[2, 3, 4])
    p.add_argument("--integer", type=int, default=1, help="quantized_relu integer bits")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=2000, help="test images")
    p.add_argument("--calibration", type=int, default=2000)
    p.add_argument("--out", type=Path, default=FIGURES)
    args = p.parse_args()

    from spikeforge.datasets import load_dataset

    dataset = load_dataset(args.dataset, quiet=True)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for bits in args.bits:
            rows += run_width(args, dataset, bits, Path(tmp))
    body = (f"{args.limit} {args.dataset} test images; activations quantized_relu(bits, "
            f"{args.integer}), weights {QUANTIZERS['kernel_quantizer']}, biases "
            f"{QUANTIZERS['bias_quantizer']}; trained {args.epochs} epochs; analog input, "
            "reset by subtraction, threshold balanced to each cap, default word widths.\n\n"
            + markdown_table(HEADER, rows))
    write_result(args.out, "qkeras_conversion", "QKeras models: SNN vs quantized ANN",
                 command_line(), body)
    plot(rows, args.out / "qkeras_conversion.png")


if __name__ == "__main__":
    main()
