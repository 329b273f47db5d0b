"""Plain conversion vs low-latency conversion, accuracy against T, on one plot.

plain: a ReLU network, 99.9th-percentile normalization, membranes start at 0.
low-latency: a network trained with the clip-floor activation (``spikeforge train
--activation clip-floor --levels L``), thresholds balanced to the trained clip thresholds,
membranes start at half the threshold, running-max pooling. Both: reset by subtraction,
analog input, the fixed-point golden model."""

from __future__ import annotations

from pathlib import Path

import bench_common as bc

TIMESTEPS = [1, 2, 4, 8, 16, 32, 64]


def main() -> None:
    p = bc.parser(__doc__)
    p.add_argument("--clip-model", type=Path, required=True,
                   help="the same architecture trained with --activation clip-floor")
    args = p.parse_args()
    from spikeforge.frontend.keras_model import keras_to_graph, load_keras_model
    from spikeforge.ir import SnnConfig
    from spikeforge.simulator import simulate
    from spikeforge.train import ann_predict

    plain_model, plain_graph, dataset, images, labels = bc.load(args)
    clip_model = load_keras_model(args.clip_model)
    setups = {
        "plain": (plain_model, plain_graph, {"percentile": 99.9}, SnnConfig()),
        "low-latency": (clip_model, keras_to_graph(clip_model), {"percentile": 99.9},
                        SnnConfig(v_init="half", pool="running_max")),
    }
    curves, anns, rows = {}, {}, []
    for name, (model, graph, options, config) in setups.items():
        anns[name] = float((ann_predict(model, images) == labels).mean())
        _, int_net = bc.convert(graph, dataset, args.calibration, config=config, **options)
        curves[name] = simulate(int_net, images, checkpoints=TIMESTEPS, quiet=False)
    for t in TIMESTEPS:
        row: list[object] = [t]
        for name in setups:
            acc = curves[name][t].accuracy(labels)
            row += [f"{100 * acc:.2f}", f"{100 * (acc - anns[name]):+.2f}",
                    f"{curves[name][t].spikes.mean():.0f}"]
        rows.append(row)
    header = ["T"]
    for name in setups:
        header += [f"{name} SNN %", f"{name} - its ANN", f"{name} spikes/image"]
    body = (f"{len(labels)} {dataset.name} test images, fixed-point golden model. ANN accuracy: "
            + ", ".join(f"{n} {100 * a:.2f}%" for n, a in anns.items())
            + ".\n\n" + bc.markdown_table(header, rows))
    bc.write_result(args.out, "low_latency", "Low-latency conversion", bc.command_line(), body)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, run), color in zip(curves.items(), ("tab:blue", "tab:red"), strict=True):
        ax.plot(TIMESTEPS, [100 * run[t].accuracy(labels) for t in TIMESTEPS], "o-",
                color=color, label=f"{name} SNN")
        ax.axhline(100 * anns[name], color=color, linestyle="--", alpha=0.6,
                   label=f"{name} ANN ({100 * anns[name]:.2f}%)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("timesteps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(90, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(f"{dataset.name}: plain vs low-latency conversion")
    fig.tight_layout()
    fig.savefig(args.out / "low_latency.png", dpi=120)


if __name__ == "__main__":
    main()
