"""How the rate penalty of clip-floor training trades spikes for accuracy.

For each penalty (``spikeforge train --activation clip-floor --levels 8 --rate-penalty P``;
models are trained once into --models-dir and reused), the low-latency conversion
(thresholds balanced to the clip thresholds, membranes start at half the threshold,
running-max pooling) runs the fixed-point golden model at each T: accuracy, spikes and
synaptic operations per image. The RTL core's cycles per image follow the synaptic
operations of its busiest stage (docs/rtl.md), so fewer operations are a faster core."""

from __future__ import annotations

from pathlib import Path

import bench_common as bc

PENALTIES = [0.0, 0.05, 0.1, 0.2, 0.5]


def trained_model(arch: str, dataset, penalty: float, levels: int, epochs: int, models: Path):
    """The clip-floor model for ``penalty`` from ``models``, trained and saved if missing."""
    from spikeforge.architectures import Activation
    from spikeforge.frontend.keras_model import load_keras_model
    from spikeforge.train import save_model, train_model

    path = models / f"{arch}-cf{levels}-rp{penalty:g}-e{epochs}.keras"
    if not path.is_file():
        print(f"training {path.name}", flush=True)
        activation = Activation("clip-floor", levels, penalty)
        save_model(train_model(arch, dataset, epochs, quiet=True, activation=activation), path)
    return load_keras_model(path)


def main() -> None:
    p = bc.parser(__doc__, model=False)
    p.add_argument("--arch", default="mnist-cnn")
    p.add_argument("--penalties", type=float, nargs="+", default=PENALTIES)
    p.add_argument("--timesteps", type=int, nargs="+", default=[4, 8])
    p.add_argument("--levels", type=int, default=8)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--models-dir", type=Path, default=Path("build/models"))
    args = p.parse_args()
    from spikeforge.datasets import load_dataset
    from spikeforge.frontend.keras_model import keras_to_graph
    from spikeforge.ir import SnnConfig
    from spikeforge.simulator import simulate
    from spikeforge.train import ann_predict

    dataset = load_dataset(args.dataset, quiet=True)
    images, labels = dataset.test_images[: args.limit], dataset.test_labels[: args.limit]
    config = SnnConfig(v_init="half", pool="running_max")
    rows, points = [], {}
    for penalty in args.penalties:
        model = trained_model(args.arch, dataset, penalty, args.levels, args.epochs,
                              args.models_dir)
        ann = float((ann_predict(model, images) == labels).mean())
        _, int_net = bc.convert(keras_to_graph(model), dataset, args.calibration,
                                percentile=99.9, config=config)
        runs = simulate(int_net, images, checkpoints=args.timesteps, quiet=False)
        row: list[object] = [f"{penalty:g}", f"{100 * ann:.2f}"]
        for t in args.timesteps:
            run, accuracy = runs[t], runs[t].accuracy(labels)
            points.setdefault(t, []).append((penalty, run.synops.mean(), accuracy))
            row += [f"{100 * accuracy:.2f}", f"{run.spikes.mean():,.0f}",
                    f"{run.synops.mean():,.0f}"]
        rows.append(row)
    header = ["rate penalty", "ANN %"]
    for t in args.timesteps:
        header += [f"T={t} SNN %", f"T={t} spikes/image", f"T={t} synops/image"]
    body = (f"{len(labels)} {dataset.name} test images, `{args.arch}` trained "
            f"{args.epochs} epochs with clip-floor L = {args.levels} and the rate penalty, "
            "converted with `--v-init half --pool running-max`, fixed-point golden model. "
            "synops = synaptic operations (a spike times its fan-out; the analog first "
            "layer's multiply-adds).\n\n" + bc.markdown_table(header, rows))
    bc.write_result(args.out, "rate_penalty", "Rate penalty: spikes against accuracy",
                    bc.command_line(), body)
    plot(args.out / "rate_penalty.png", points, dataset.name)


def plot(path: Path, points: dict[int, list[tuple[float, float, float]]], dataset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for t, series in points.items():
        ax.plot([s for _, s, _ in series], [100 * a for _, _, a in series], "o-", label=f"T={t}")
        for penalty, synops, accuracy in series:
            ax.annotate(f"{penalty:g}", (synops, 100 * accuracy), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
    ax.set_xlabel("synaptic operations per image")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(title="golden model")
    ax.set_title(f"{dataset}: clip-floor training, point labels = rate penalty")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
