"""What each low-latency method contributes, on a clip-floor-trained model, at small T:
threshold balancing to the trained clip thresholds, half-threshold initial membrane,
running-max pooling (each row adds one to the row above)."""

from __future__ import annotations

import bench_common as bc

TIMESTEPS = [2, 4, 8, 16]
ROWS = [
    ("99.9th percentile (caps ignored), V(0) = 0, gate",
     {"use_caps": False}, {"v_init": "zero", "pool": "gate"}),
    ("+ threshold balancing (lambda = clip threshold)", {}, {"v_init": "zero", "pool": "gate"}),
    ("+ V(0) = theta / 2", {}, {"v_init": "half", "pool": "gate"}),
    ("+ running-max pooling", {}, {"v_init": "half", "pool": "running_max"}),
]


def main() -> None:
    args = bc.parser(__doc__).parse_args()
    from spikeforge.ir import SnnConfig
    from spikeforge.simulator import simulate
    from spikeforge.train import ann_predict

    model, graph, dataset, images, labels = bc.load(args)
    ann = float((ann_predict(model, images) == labels).mean())
    rows = []
    for label, options, config in ROWS:
        _, int_net = bc.convert(graph, dataset, args.calibration, config=SnnConfig(**config),
                                **options)
        run = simulate(int_net, images, checkpoints=TIMESTEPS, quiet=False)
        rows.append([label, *(f"{100 * run[t].accuracy(labels):.2f}" for t in TIMESTEPS)])
        print(rows[-1], flush=True)
    body = (f"{len(labels)} {dataset.name} test images, fixed-point golden model, clip-floor "
            f"ANN {100 * ann:.2f}%.\n\n"
            + bc.markdown_table(["conversion", *(f"T={t} %" for t in TIMESTEPS)], rows))
    bc.write_result(args.out, "low_latency_ablation", "Low-latency methods, one at a time",
                    bc.command_line(), body)


if __name__ == "__main__":
    main()
