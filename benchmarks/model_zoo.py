"""Model zoo: public-style architectures end to end through the command line.

Each model is built here, trained on generated data that it can genuinely learn, saved as
``.keras`` with its data as ``.npz``, and then taken through the ``spikeforge`` commands
(in-process, ``spikeforge.cli.main``) exactly as a user would:

1. ``jet-mlp``: a 16-feature jet-tagging-style MLP 16-64-32-32-5, Dense - BatchNorm - ReLU,
   on standardized signed features (correlated Gaussian "observables" with their own
   scales and offsets, standardized with the training mean and deviation); the class is
   the argmax of a fixed random projection of the standardized features.
2. ``conv1d-seq``: a Conv1D sequence classifier (Conv1D 'same', MaxPooling1D, a strided
   'valid' Conv1D, MaxPooling1D, Flatten, Dense) on signed 2-channel sequences; the class
   is a class-dependent motif at a random position in noise.
3. ``strided-cnn``: a strided 'same'-padded CNN with BatchNormalization after each ReLU
   (Conv2D 3x3/2 - ReLU - BN, three times, Flatten, Dense) on uint8 RGB images; the class
   is a pair of class-dependent coloured blobs at jittered positions, with a distractor.
   ``strided-cnn-bn-first`` is the same CNN with each BatchNorm between its Conv2D and
   ReLU, the fix ``inspect`` names when it refuses a BatchNorm after a ReLU that would
   have to fold into a zero-padded convolution.
4. ``qkeras-mlp``: a QKeras-style quantized MLP, the jet MLP with its hidden activations
   fixed at quantized_relu(3, 1)'s levels (spikeforge's ``ClipFloor``, 7 levels up to 1.75,
   not trainable; QKeras itself is not installed), on the jet data; converted with
   ``--v-init half`` as docs/import.md advises for QKeras models.
5. ``mnist-cnn``: the reference MNIST CNN (``spikeforge train --arch mnist-cnn``), reused
   from ``--mnist-model`` when that file exists, else trained here for 2 epochs.

Per model: the ``spikeforge inspect`` verdict; ``convert --timesteps 32``; ``evaluate
--json`` of the ANN and of the golden SNN at T = 8 and T = 32 (accuracy, agreement with the
ANN's class) on the whole test split; ``hls --images 50 --timesteps 8 32`` (g++ csim ==
golden, mismatches must be 0); ``sim --images 20 --json`` at T = 32 (the RTL core in
Verilator == golden, mismatches must be 0; cycles per image against the ideal). A refusal,
a mismatch or an error is a finding: it goes into the table with its text and the other
models go on.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import bench_common as bc

STEPS = (8, 32)  # the SNN is evaluated at these T; HLS csim runs both, the RTL core the last
HLS_IMAGES, RTL_IMAGES = 50, 20
DEFAULT_MNIST_MODEL = Path("build/models/mnist-cnn.keras")


# --- data -------------------------------------------------------------------------------


def jet_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """16 standardized signed features, 5 classes: the argmax of a fixed random projection.

    The raw features are correlated Gaussian "observables" with their own scales and
    offsets (the mixing is fixed by seed 1); they are standardized with the first 80 %'s
    mean and deviation (the training split), as a StandardScaler would."""
    fixed = np.random.default_rng(1)
    mixing = fixed.normal(size=(16, 16)) / 4.0 + np.eye(16)
    scales, offsets = fixed.uniform(0.5, 50.0, 16), fixed.uniform(-20.0, 100.0, 16)
    raw = (rng.normal(size=(n, 16)) @ mixing) * scales + offsets
    train = raw[: int(0.8 * n)]
    x = ((raw - train.mean(axis=0)) / train.std(axis=0)).astype(np.float32)
    projection = fixed.normal(size=(16, 5))
    return x, (x @ projection).argmax(axis=1)


def sequence_data(rng: np.random.Generator, n: int, length: int = 64, channels: int = 2,
                  classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Signed sequences (length, channels): noise with the class's motif (a fixed random
    pattern of 8 steps) added at a random position."""
    motifs = np.random.default_rng(2).normal(size=(classes, 8, channels)) * 1.2
    y = rng.integers(0, classes, n)
    x = rng.normal(scale=0.8, size=(n, length, channels))
    starts = rng.integers(0, length - 8 + 1, n)
    for i in range(n):
        x[i, starts[i]: starts[i] + 8] += motifs[y[i]]
    return x.astype(np.float32), y


def blob_data(rng: np.random.Generator, n: int, size: int = 32, classes: int = 6
              ) -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB images: two Gaussian blobs of the class's colour at the class's two
    places (jittered by up to 4 pixels), two distractor blobs of random colours anywhere,
    on a noisy background."""
    fixed = np.random.default_rng(3)
    centres = fixed.uniform(6, size - 6, size=(classes, 2, 2))
    colours = fixed.uniform(0.2, 1.0, size=(classes, 3))
    y = rng.integers(0, classes, n)
    grid = np.arange(size, dtype=np.float32)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")

    def blob(cy, cx, sigma):  # (n, size, size)
        return np.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2)
                      / (2 * sigma[:, None, None] ** 2))

    images = rng.normal(40, 12, size=(n, size, size, 3))
    for k in range(2):
        c = centres[y, k] + rng.uniform(-4, 4, size=(n, 2))
        images += blob(c[:, 0], c[:, 1], rng.uniform(2.0, 3.5, n))[..., None] * (
            colours[y] * rng.uniform(150, 210, (n, 1)))[:, None, None, :]
    for _ in range(2):
        c = rng.uniform(0, size, size=(n, 2))
        images += blob(c[:, 0], c[:, 1], rng.uniform(2.0, 3.5, n))[..., None] * (
            rng.uniform(0.2, 1.0, (n, 3)) * 180)[:, None, None, :]
    return np.clip(images, 0, 255).astype(np.uint8), y


# --- models -----------------------------------------------------------------------------


def jet_mlp(keras, layers, activation=None):
    """16-64-32-32-5, each hidden Dense followed by BatchNorm and the activation."""
    act = activation or (lambda name: layers.ReLU(name=name))
    stack = [keras.Input((16,), name="features")]
    for index, units in enumerate((64, 32, 32), start=1):
        stack += [layers.Dense(units, name=f"fc{index}"),
                  layers.BatchNormalization(name=f"bn{index}"), act(f"relu{index}")]
    stack.append(layers.Dense(5, activation="softmax", name="output"))
    return keras.Sequential(stack, name="jet_mlp")


def qkeras_mlp(keras, layers):
    """The jet MLP with quantized_relu(3, 1) activations: a clip-floor with 7 levels up to
    1.75, not trainable (QKeras' quantized_relu has a fixed cap)."""
    from spikeforge.keras_layers import ClipFloor

    bits, integer = 3, 1
    levels, cap = 2**bits - 1, (2**bits - 1) * 2.0 ** (integer - bits)

    def act(name: str):
        layer = ClipFloor(levels, cap, name=name.replace("relu", "qrelu"))
        layer.trainable = False
        return layer

    model = jet_mlp(keras, layers, act)
    model.name = "qkeras_mlp"
    return model


def conv1d_seq(keras, layers):
    return keras.Sequential([
        keras.Input((64, 2), name="sequence"),
        layers.Conv1D(16, 7, padding="same", activation="relu", name="conv1"),
        layers.MaxPooling1D(2, name="pool1"),
        layers.Conv1D(32, 5, strides=2, padding="valid", activation="relu", name="conv2"),
        layers.MaxPooling1D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(32, activation="relu", name="fc"),
        layers.Dense(4, activation="softmax", name="output"),
    ], name="conv1d_seq")


def strided_cnn(keras, layers, bn_after_relu: bool = True):
    """3 x (Conv2D 3x3 stride 2 'same', ReLU, BatchNorm), Flatten, Dense 6; with
    ``bn_after_relu`` off, BatchNorm between each Conv2D and its ReLU instead."""
    stack = [keras.Input((32, 32, 3), name="image")]
    for index, filters in enumerate((16, 32, 32), start=1):
        conv = layers.Conv2D(filters, 3, strides=2, padding="same", name=f"conv{index}")
        relu, bn = layers.ReLU(name=f"relu{index}"), layers.BatchNormalization(name=f"bn{index}")
        stack += [conv, relu, bn] if bn_after_relu else [conv, bn, relu]
    stack += [layers.Flatten(name="flatten"),
              layers.Dense(6, activation="softmax", name="output")]
    return keras.Sequential(stack, name="strided_cnn" if bn_after_relu else "strided_cnn_bn")


def strided_cnn_bn_before_relu(keras, layers):
    return strided_cnn(keras, layers, bn_after_relu=False)


@dataclass(frozen=True)
class Zoo:
    """One model of the zoo: how to build it and the data it learns."""

    name: str
    architecture: str
    data: str  # the data set's name (models may share one)
    build: object = None  # (keras, layers) -> model; None: the MNIST CNN from the CLI
    epochs: int = 0
    quick_epochs: int = 0
    convert_args: tuple[str, ...] = ()


DATA = {  # name: (generator, train + test inputs, quick, description)
    "jet": (jet_data, 24000, 8000, "16 standardized signed features, 5 classes"),
    "seq": (sequence_data, 12000, 6000, "2 x 64 signed sequences, 4 classes"),
    "blobs": (blob_data, 10000, 5000, "32 x 32 x 3 uint8 images, 6 classes"),
}

ZOO = [
    Zoo("jet-mlp", "Dense 64-32-32 (+BN, ReLU), Dense 5", "jet", jet_mlp, 30, 10),
    Zoo("conv1d-seq", "Conv1D 16x7 same, MaxPool1D 2, Conv1D 32x5/2 valid, MaxPool1D 2, "
        "Flatten, Dense 32, Dense 4", "seq", conv1d_seq, 25, 10),
    Zoo("strided-cnn", "3 x (Conv2D 3x3/2 same, ReLU, BN), Flatten, Dense 6", "blobs",
        strided_cnn, 20, 8),
    Zoo("strided-cnn-bn-first", "3 x (Conv2D 3x3/2 same, BN, ReLU), Flatten, Dense 6 (the "
        "fix the strided-cnn refusal names)", "blobs", strided_cnn_bn_before_relu, 20, 8),
    Zoo("qkeras-mlp", "Dense 64-32-32 (+BN, clip-floor 7 levels to 1.75), Dense 5", "jet",
        qkeras_mlp, 30, 10, ("--v-init", "half")),
    Zoo("mnist-cnn", "Conv2D 5x5x16, BN, ReLU, MaxPool, Conv2D 5x5x32, BN, ReLU, MaxPool, "
        "Dense 10", "mnist"),
]


# --- running the CLI --------------------------------------------------------------------


@dataclass
class Call:
    status: int
    out: str
    err: str
    seconds: float

    def error(self) -> str:
        """The error text: a crash's last traceback line; the 'error:' line and what follows
        it (a compiler's or Verilator's own lines); stdout's lines on mismatches; else the
        last line of stderr or stdout. Whitespace collapsed, at most 700 characters."""
        err = [line.strip() for line in self.err.splitlines() if line.strip()]
        out = [line.strip() for line in self.out.splitlines() if line.strip()]
        at = next((i for i, line in enumerate(err) if ": error: " in line), None)
        picked = (err[-1:] if self.status == 3 else []) \
            or (err[at:] if at is not None else []) \
            or [line for line in out if "mismatch" in line] or err[-1:] or out[-1:]
        text = " ".join(" ".join(picked).split()) or f"exit status {self.status}"
        return text if len(text) <= 700 else text[:700] + " [...]"


def cli(*argv: str) -> Call:
    """``spikeforge ARGV`` in-process; its stdout and stderr captured, an exception turned
    into exit status 3 with its traceback in stderr."""
    from spikeforge.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    print("  $ spikeforge " + " ".join(argv), file=sys.stderr, flush=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as stop:  # argparse
            status = stop.code if isinstance(stop.code, int) else 2
        except Exception:  # a crash is a finding too
            traceback.print_exc()
            status = 3
    call = Call(status, out.getvalue(), err.getvalue(), time.perf_counter() - start)
    if status != 0:
        print(f"    exit {status}: {call.error()}", file=sys.stderr, flush=True)
    return call


@dataclass
class Result:
    """What the zoo reports of one model."""

    model: Zoo
    source: str = ""
    inspect: str = ""
    supported: bool = False
    ann: float | None = None
    snn: dict[int, float | None] = field(default_factory=dict)
    agreement: dict[int, float | None] = field(default_factory=dict)
    csim: dict[int, int] = field(default_factory=dict)
    rtl: dict | None = None
    failures: list[str] = field(default_factory=list)
    test_inputs: int = 0
    seconds: float = 0.0

    def fail(self, step: str, call: Call) -> None:
        self.failures.append(f"`{step}` exit {call.status}: {call.error()}")


def json_of(call: Call) -> dict | None:
    try:
        return json.loads(call.out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


def run_model(result: Result, model_file: Path, dataset: str, work: Path) -> None:
    """inspect, convert, evaluate, hls, sim of one model; findings go into ``result``."""
    zoo = result.model
    inspect = cli("inspect", str(model_file))
    verdict = inspect.out.split("\nparameters:", 1)[-1].split("\n", 1)[-1].strip()
    result.inspect = verdict or inspect.error()
    result.supported = inspect.status == 0
    if not result.supported:
        result.failures.append(f"`inspect` exit {inspect.status}, "
                               + result.inspect.splitlines()[0].rstrip(":")
                               + " (the verdict above: not converted)")
        return
    net = work / "net"
    convert = cli("convert", str(model_file), "--dataset", dataset, "--out", str(net),
                  "--timesteps", str(STEPS[-1]), *zoo.convert_args, "--quiet")
    if convert.status != 0:
        result.fail("convert", convert)
        return
    evaluate = ["evaluate", str(net), "--dataset", dataset, "--json", "--quiet"]
    if result.test_inputs:
        evaluate += ["--limit", str(result.test_inputs)]
    ann = cli(*evaluate, "--backend", "ann")
    figures = json_of(ann) if ann.status == 0 else None
    if figures is None:
        result.fail("evaluate --backend ann", ann)
    else:
        result.ann, result.test_inputs = figures["accuracy"], figures["n"]
    for steps in STEPS:
        golden = cli(*evaluate, "--backend", "golden", "--timesteps", str(steps))
        figures = json_of(golden) if golden.status == 0 else None
        if figures is None:
            result.fail(f"evaluate --backend golden -T {steps}", golden)
            continue
        result.snn[steps], result.agreement[steps] = figures["accuracy"], figures["agreement"]
        result.test_inputs = figures["n"]
    hls = cli("hls", str(net), "--dataset", dataset, "--images", str(HLS_IMAGES),
              "--timesteps", *map(str, STEPS), "--out", str(work / "hls"), "--quiet")
    for steps, count in re.findall(r"^T=(\d+): csim vs golden: .*?; (\d+) mismatches;",
                                   hls.out, re.MULTILINE):
        result.csim[int(steps)] = int(count)
    if hls.status != 0 or len(result.csim) != len(STEPS):
        result.fail("hls", hls)
    sim = cli("sim", str(net), "--dataset", dataset, "--images", str(RTL_IMAGES),
              "--build-dir", str(work / "rtl"), "--json", "--quiet")
    result.rtl = json_of(sim)
    if sim.status != 0 or result.rtl is None:
        result.fail("sim", sim)


# --- training ---------------------------------------------------------------------------


def make_data(name: str, path: Path, quick: bool, seed: int) -> None:
    generate, full, small, _ = DATA[name]
    n = small if quick else full
    x, y = generate(np.random.default_rng(seed), n)
    split = int(0.8 * n)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial.npz")
    np.savez(partial, x_train=x[:split], y_train=y[:split], x_test=x[split:],
             y_test=y[split:])
    partial.replace(path)


def train(zoo: Zoo, data: Path, path: Path, epochs: int, seed: int) -> None:
    import keras
    from keras import layers

    from spikeforge.ir import ann_view
    from spikeforge.train import save_model

    with np.load(data) as npz:
        x, y = ann_view(npz["x_train"]), npz["y_train"]
    keras.utils.set_random_seed(seed)
    model = zoo.build(keras, layers)
    steps = -(-len(x) // 64) * epochs
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
                      2e-3, decay_steps=steps, alpha=0.05)),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=64, epochs=epochs, validation_split=0.1, verbose=0)
    print(f"  trained {zoo.name}: {epochs} epochs, training accuracy "
          f"{history.history['accuracy'][-1]:.3f}, validation "
          f"{history.history['val_accuracy'][-1]:.3f}", file=sys.stderr, flush=True)
    save_model(model, path)


def prepare(zoo: Zoo, args: argparse.Namespace, result: Result) -> tuple[Path, str] | None:
    """(model file, --dataset) of a zoo model: trained and saved with its data unless
    ``--reuse`` finds them from a run with the same settings."""
    work = args.out_dir / zoo.name
    if zoo.build is None:  # the MNIST CNN, from the command line
        if args.mnist_model.is_file():
            result.source = f"reused `{args.mnist_model}` (trained elsewhere)"
            if args.quick:
                result.test_inputs = 2000
            return args.mnist_model, "mnist"
        model = work / "model.keras"
        meta = {"arch": "mnist-cnn", "epochs": 2, "seed": args.seed}
        result.source = "trained here, 2 epochs (`spikeforge train --arch mnist-cnn " \
                        "--dataset mnist --epochs 2`)"
        if args.quick:
            result.test_inputs = 2000
        if not (args.reuse and reusable(work, meta, model)):
            call = cli("train", "--arch", "mnist-cnn", "--dataset", "mnist", "--epochs", "2",
                       "--seed", str(args.seed), "--out", str(model), "--quiet")
            if call.status != 0:
                result.fail("train", call)
                return None
            (work / "meta.json").write_text(json.dumps(meta))
        else:
            result.source += " (reused)"
        return model, "mnist"
    data = args.out_dir / "data" / f"{zoo.data}{'-quick' if args.quick else ''}.npz"
    if not (args.reuse and data.is_file()):
        make_data(zoo.data, data, args.quick, args.seed)
    epochs = zoo.quick_epochs if args.quick else zoo.epochs
    model = work / "model.keras"
    meta = {"data": data.name, "data_mtime": data.stat().st_mtime, "epochs": epochs,
            "seed": args.seed}
    result.source = f"trained here, {epochs} epochs"
    if not (args.reuse and reusable(work, meta, model)):
        train(zoo, data, model, epochs, args.seed)
        (work / "meta.json").write_text(json.dumps(meta))
    else:
        result.source += " (reused)"
    return model, str(data)


def reusable(work: Path, meta: dict, model: Path) -> bool:
    try:
        return model.is_file() and json.loads((work / "meta.json").read_text()) == meta
    except (OSError, ValueError):
        return False


def spikeforge_source() -> str:
    """Which spikeforge was measured: its checkout's commit, and whether the code the
    commands run (sw/, hls/, hw/, sim/) had uncommitted changes."""
    import subprocess

    import spikeforge

    root = Path(spikeforge.__file__).resolve().parents[2]

    def git(*argv: str) -> str:
        return subprocess.run(["git", "-C", str(root), *argv], capture_output=True,
                              text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--", "sw", "hls", "hw", "sim")
    except (OSError, subprocess.CalledProcessError):
        return f"spikeforge from {root} (not a git checkout)"
    return f"spikeforge at commit {commit}" + (
        " with uncommitted changes in sw/, hls/, hw/ or sim/" if dirty else " (clean)")


# --- table and plot ---------------------------------------------------------------------


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def row(r: Result) -> list[object]:
    rtl = r.rtl or {}
    csim = " / ".join(str(r.csim[t]) for t in STEPS if t in r.csim) or "-"
    first = r.inspect.splitlines()[0].rstrip(":") if r.inspect else "-"
    return [
        f"**{r.model.name}**", "yes" if r.supported else f"**no** ({first}, below)",
        r.test_inputs or "-", percent(r.ann),
        percent(r.snn.get(STEPS[0])), percent(r.agreement.get(STEPS[0])),
        percent(r.snn.get(STEPS[-1])), percent(r.agreement.get(STEPS[-1])),
        csim, rtl.get("mismatched_images", "-"),
        f"{rtl['cycles_per_image']:,.0f}" if "cycles_per_image" in rtl else "-",
        f"{rtl['ideal_cycles_per_image']:,.0f}" if "ideal_cycles_per_image" in rtl else "-",
        f"{rtl['ratio_to_ideal']:.2f}" if "ratio_to_ideal" in rtl else "-",
        f"{r.seconds:.0f}",
    ]


HEADER = ["model", "inspect: supported", "test inputs", "ANN %", "SNN T=8 %",
          "agree T=8 %", "SNN T=32 %", "agree T=32 %",
          f"csim mismatches T=8 / 32 ({HLS_IMAGES})",
          f"RTL mismatches T=32 ({RTL_IMAGES})", "RTL cycles/image", "ideal", "ratio",
          "seconds"]


def plot(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    series = [("ANN", lambda r: r.ann), (f"SNN T={STEPS[0]}", lambda r: r.snn.get(STEPS[0])),
              (f"SNN T={STEPS[-1]}", lambda r: r.snn.get(STEPS[-1]))]
    width = 0.8 / len(series)
    positions = np.arange(len(results))
    measured = [100 * v for r in results for _, f in series if (v := f(r)) is not None]
    low = max(0.0, 10 * np.floor(min(measured, default=100) / 10) - 10)
    for index, (label, value) in enumerate(series):
        heights = [100 * (value(r) or 0.0) for r in results]
        bars = ax.bar(positions + (index - 1) * width, heights, width, label=label,
                      color=f"C{index}")
        ax.bar_label(bars, labels=[f"{h:.1f}" if h else "" for h in heights], fontsize=6,
                     rotation=90, padding=2)
    for position, r in zip(positions, results, strict=True):
        if r.ann is None and not r.snn:
            ax.text(position, low + 2, "refused" if not r.supported else "failed",
                    ha="center", rotation=90, fontsize=8)
    ax.set_xticks(positions, [r.model.name for r in results], fontsize=8)
    ax.set_ylabel("test accuracy %")
    ax.set_ylim(low, 103)
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    ax.set_title("Model zoo: ANN and golden SNN accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out-dir", type=Path, default=Path("build/model_zoo"),
                   help="models, data, networks, HLS projects and RTL builds "
                   "(default build/model_zoo)")
    p.add_argument("--out", type=Path, default=bc.FIGURES, help="where the table and plot go")
    p.add_argument("--mnist-model", type=Path, default=DEFAULT_MNIST_MODEL,
                   help="the MNIST CNN to reuse (default build/models/mnist-cnn.keras; "
                   "trained here for 2 epochs when absent)")
    p.add_argument("--models", nargs="+", choices=[z.name for z in ZOO],
                   default=[z.name for z in ZOO])
    p.add_argument("--quick", action="store_true",
                   help="less data and fewer epochs; MNIST evaluated on its first 2000 test "
                   "images")
    p.add_argument("--reuse", action="store_true",
                   help="take the trained models and data of an earlier run with the same "
                   "settings from OUT_DIR (conversion and measurements run again)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices of evaluate
    start = time.perf_counter()
    results = []
    for zoo in (z for z in ZOO if z.name in args.models):
        print(f"== {zoo.name}", file=sys.stderr, flush=True)
        began = time.perf_counter()
        result = Result(zoo)
        prepared = prepare(zoo, args, result)
        if prepared is not None:
            run_model(result, *prepared, args.out_dir / zoo.name)
        result.seconds = time.perf_counter() - began
        results.append(result)
    minutes = (time.perf_counter() - start) / 60
    source = spikeforge_source()

    models = "\n".join(
        f"- **{r.model.name}**: {r.model.architecture}; "
        + (f"{DATA[r.model.data][3]}" if r.model.data in DATA else "MNIST")
        + f"; {r.source}"
        + (f"; converted with `{' '.join(r.model.convert_args)}`" if r.model.convert_args
           else "") + "." for r in results)
    findings = [f"- **{r.model.name}**: " + "; ".join(r.failures) for r in results
                if r.failures]
    verdicts = "\n".join(f"- **{r.model.name}**: " + "\n".join(
        ("  " if line.startswith("- ") else "") + line for line in r.inspect.splitlines())
        for r in results)
    body = (
        ("`--quick`: less data, fewer epochs, MNIST on 2000 test images. " if args.quick
         else "")
        + f"Runtime {minutes:.1f} minutes; {source}. Every model converted with "
        f"`spikeforge convert --timesteps {STEPS[-1]}` (analog input, reset by "
        "subtraction, 99.9th percentile normalization or the cap, default word widths); "
        "accuracy and agreement (the "
        "golden SNN's class = the ANN's) from `spikeforge evaluate --json` on the test "
        f"inputs; csim: `spikeforge hls --images {HLS_IMAGES} --timesteps "
        f"{' '.join(map(str, STEPS))}`; RTL: `spikeforge sim --images {RTL_IMAGES} --json` "
        f"at T = {STEPS[-1]}, default core size; ideal = synaptic operations per input / "
        "parallel accumulate units, ratio = cycles / ideal. Mismatches must be 0.\n\n"
        + models + "\n\n"
        + bc.markdown_table(HEADER, [row(r) for r in results])
        + "\n`spikeforge inspect` verdicts:\n\n" + verdicts + "\n"
        + ("\nFindings (refusals, mismatches, errors):\n\n" + "\n".join(findings) + "\n"
           if findings else "\nNo refusals, mismatches or errors.\n")
    )
    bc.write_result(args.out, "model_zoo", "Model zoo: public-style architectures end to end",
                    bc.command_line(), body)
    plot(results, args.out / "model_zoo.png")


if __name__ == "__main__":
    main()
