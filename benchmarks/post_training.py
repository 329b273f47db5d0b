"""Post-training calibration (``convert --calibrate``) against T, for plain-ReLU networks
nobody retrains.

Networks trained without any SNN-aware option: the reference MNIST CNN (``--model``), a
LeNet-style CNN with average pooling (``--avgpool-model``; trained here if the file does not
exist), and the CIFAR-10 CNN where its data is supplied (``--cifar-model`` with
``--cifar-dataset``). For each, the ANN, today's default conversion (99.9th-percentile
normalization, membranes from 0), the same with ``--v-init half --pool running-max``
(the best uncalibrated modes for plain ReLU at low T), and each calibration level with
those modes, calibrated at each T, all through the fixed-point golden model on
the test set; the calibration's wall time per level and T. ``--timesteps``, ``--levels``,
``--networks`` and ``--no-baselines`` run a part of the table (a whole run is long).
"""

from __future__ import annotations

import time
from pathlib import Path

import bench_common as bc

TIMESTEPS = [2, 4, 8, 16, 32]
LEVELS = ["bias", "full"]


def lenet_avgpool(dataset, epochs: int, path: Path):
    """Conv 5x5x6, AvgPool 2, Conv 5x5x16, AvgPool 2, Dense 84, Dense K: plain ReLU."""
    import keras
    from keras import layers as L

    from spikeforge.ir import ann_view

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(dataset.input_shape),
        L.Conv2D(6, 5, activation="relu", name="conv1"), L.AveragePooling2D(2, name="pool1"),
        L.Conv2D(16, 5, activation="relu", name="conv2"), L.AveragePooling2D(2, name="pool2"),
        L.Flatten(name="flatten"), L.Dense(84, activation="relu", name="fc1"),
        L.Dense(dataset.num_classes, activation="softmax", name="logits")], name="lenet_avg")
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(ann_view(dataset.train_images), dataset.train_labels, batch_size=128,
              epochs=epochs, verbose=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)


def evaluate(name: str, model_path: Path, dataset, args) -> tuple[list[list[object]], dict]:
    """Table rows and the accuracy curves of one network."""
    from spikeforge.ann_numpy import predict
    from spikeforge.flow import ConvertOptions, run_flow
    from spikeforge.frontend.keras_model import keras_to_graph, load_keras_model
    from spikeforge.ir import SnnConfig
    from spikeforge.simulator import simulate

    graph = keras_to_graph(load_keras_model(model_path))
    images, labels = dataset.test_images, dataset.test_labels
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    calibration = dataset.train_images[: args.calibration]
    curves: dict[str, dict[int, float]] = {}
    seconds: dict[str, dict[int, float]] = {}
    steps, levels = args.timesteps, args.levels
    baselines = {"today": SnnConfig(), "none": SnnConfig(v_init="half", pool="running_max")}
    if args.no_baselines:
        baselines = {}
        state = run_flow(graph, calibration, ConvertOptions(config=SnnConfig()))
        ann = float((predict(state.graph, images).argmax(axis=1) == labels).mean())
    for label, config in baselines.items():
        state = run_flow(graph, calibration, ConvertOptions(config=config))
        runs = simulate(state.int_net, images, checkpoints=steps, quiet=False)
        curves[label] = {t: runs[t].accuracy(labels) for t in steps}
        ann = float((predict(state.graph, images).argmax(axis=1) == labels).mean())
    for level in levels:
        curves[level], seconds[level] = {}, {}
        for t in steps:
            config = SnnConfig(v_init="half", pool="running_max", timesteps=t)
            start = time.perf_counter()
            state = run_flow(graph, calibration, ConvertOptions(config=config, calibrate=level),
                             quiet=False)
            seconds[level][t] = time.perf_counter() - start
            curves[level][t] = simulate(state.int_net, images, t, quiet=False).accuracy(labels)
    rows = []
    for t in steps:
        row: list[object] = [name, t, f"{100 * ann:.2f}"]
        for curve in curves.values():
            row.append(f"{100 * curve[t]:.2f} ({100 * (curve[t] - ann):+.2f})")
        row += [f"{seconds[level][t]:.0f}" for level in levels]
        rows.append(row)
    return rows, {"ann": ann, "curves": curves}


def main() -> None:
    p = bc.parser(__doc__)
    p.add_argument("--avgpool-model", type=Path, default=Path("build/models/lenet-avgpool.keras"),
                   help="plain-ReLU LeNet with average pooling (trained here if missing)")
    p.add_argument("--avgpool-epochs", type=int, default=8)
    p.add_argument("--cifar-model", type=Path, help="plain-ReLU cifar10-cnn .keras")
    p.add_argument("--cifar-dataset", help="cifar10:DIR, the data for --cifar-model")
    p.add_argument("--timesteps", type=int, nargs="+", default=TIMESTEPS, help="the Ts to run")
    p.add_argument("--levels", nargs="+", choices=LEVELS, default=LEVELS,
                   help="the calibration levels to run")
    p.add_argument("--networks", nargs="+", choices=["mnist-cnn", "lenet-avgpool", "cifar10-cnn"],
                   help="the networks to run (default: every one given)")
    p.add_argument("--no-baselines", action="store_true",
                   help="skip the uncalibrated conversions (today, none)")
    p.set_defaults(calibration=5000)
    args = p.parse_args()
    from spikeforge.datasets import load_dataset

    dataset = load_dataset(args.dataset, quiet=True)
    wanted = set(args.networks or ["mnist-cnn", "lenet-avgpool", "cifar10-cnn"])
    if "lenet-avgpool" in wanted and not args.avgpool_model.exists():
        lenet_avgpool(dataset, args.avgpool_epochs, args.avgpool_model)
    networks = [("mnist-cnn", args.model, dataset), ("lenet-avgpool", args.avgpool_model, dataset)]
    if args.cifar_model and args.cifar_dataset:
        networks.append(("cifar10-cnn", args.cifar_model, load_dataset(args.cifar_dataset)))
    networks = [entry for entry in networks if entry[0] in wanted]
    rows, results = [], {}
    for name, path, data in networks:
        network_rows, results[name] = evaluate(name, path, data, args)
        rows += network_rows
    header = ["network", "T", "ANN %", *([] if args.no_baselines else ["today %", "none %"]),
              *[f"{level} %" for level in args.levels], *[f"{level} s" for level in args.levels]]
    n = args.limit or len(dataset.test_labels)
    body = (
        f"{n} test images, fixed-point golden model; in brackets: minus the ANN. today: "
        "`spikeforge convert` defaults for a plain-ReLU model (99.9th percentile, membranes "
        "from 0, max-pool gates); none, bias and full: `--v-init half --pool running-max` "
        "and `--calibrate none|bias|full`, bias and full calibrated at the T of their row on "
        f"{args.calibration} training images (s: the whole conversion's wall time, "
        "calibration included).\n\n" + bc.markdown_table(header, rows)
    )
    bc.write_result(args.out, "post_training", "Post-training calibration", bc.command_line(),
                    body)
    plot(results, args.out / "post_training.png")


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), squeeze=False)
    for ax, (name, result) in zip(axes[0], results.items(), strict=True):
        for label, curve in result["curves"].items():
            ax.plot(list(curve), [100 * curve[t] for t in curve], "o-", label=label)
        ax.axhline(100 * result["ann"], color="k", linestyle="--", alpha=0.6,
                   label=f"ANN ({100 * result['ann']:.2f}%)")
        ax.set_ylim(100 * result["ann"] - 3, 100 * result["ann"] + 0.3)  # lower: off the axis
        ax.set_xscale("log", base=2)
        ax.set_xlabel("timesteps T")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
