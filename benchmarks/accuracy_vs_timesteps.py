"""ANN vs float SNN vs fixed-point golden SNN accuracy for T = 4 .. 128 (one run each: the
simulation is causal, so the counts after t steps of a T=128 run are those of a T=t run)."""

from __future__ import annotations

import bench_common as bc

TIMESTEPS = [4, 8, 16, 32, 64, 128]


def main() -> None:
    p = bc.parser(__doc__)
    p.add_argument("--norm", type=float, default=99.9, help="normalization percentile")
    args = p.parse_args()
    from spikeforge.simulator import simulate
    from spikeforge.train import ann_predict

    model, graph, dataset, images, labels = bc.load(args)
    ann = float((ann_predict(model, images) == labels).mean())
    float_net, int_net = bc.convert(graph, dataset, args.calibration, percentile=args.norm)
    runs = {
        name: simulate(net, images, checkpoints=TIMESTEPS, quiet=False)
        for name, net in (("float SNN", float_net), ("fixed-point SNN", int_net))
    }
    rows = []
    for t in TIMESTEPS:
        fl, fx = runs["float SNN"][t], runs["fixed-point SNN"][t]
        rows.append([t, f"{100 * ann:.2f}", f"{100 * fl.accuracy(labels):.2f}",
                     f"{100 * fx.accuracy(labels):.2f}",
                     f"{100 * (fx.accuracy(labels) - ann):+.2f}", f"{fx.spikes.mean():.0f}",
                     int(fx.saturation.sum())])
    body = (f"{len(labels)} {dataset.name} test images, normalization p={args.norm}, "
            "reset by subtraction, analog input.\n\n" + bc.markdown_table(
                ["T", "ANN %", "float SNN %", "fixed-point SNN %", "fixed - ANN (points)",
                 "spikes/image", "saturations"], rows))
    bc.write_result(args.out, "accuracy_vs_timesteps", "Accuracy vs timesteps",
                    bc.command_line(), body)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.axhline(100 * ann, color="k", linestyle="--", label=f"ANN ({100 * ann:.2f}%)")
    for name, run in runs.items():
        ax.plot(TIMESTEPS, [100 * run[t].accuracy(labels) for t in TIMESTEPS], "o-", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("timesteps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(max(0, 100 * ann - 10), 100)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"{dataset.name}: {len(labels)} test images")
    fig.tight_layout()
    fig.savefig(args.out / "accuracy_vs_timesteps.png", dpi=120)


if __name__ == "__main__":
    main()
