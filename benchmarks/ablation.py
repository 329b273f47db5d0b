"""The paper's ablation (Rueckauer et al. 2016, Fig. 2a) on one model at a fixed T: default
(reset to zero, no normalization, Poisson input) -> + max normalization -> + reset by
subtraction -> + analog input -> + 99.9th-percentile normalization."""

from __future__ import annotations

import bench_common as bc

STEPS = [
    ("default: reset to zero, no normalization, Poisson input",
     {"percentile": None, "reset": "zero", "input_mode": "poisson"}),
    ("+ normalization (max)", {"percentile": 100.0, "reset": "zero", "input_mode": "poisson"}),
    ("+ reset by subtraction", {"percentile": 100.0, "reset": "subtract",
                                "input_mode": "poisson"}),
    ("+ analog input", {"percentile": 100.0, "reset": "subtract", "input_mode": "analog"}),
    ("+ 99.9th percentile", {"percentile": 99.9, "reset": "subtract", "input_mode": "analog"}),
]


def main() -> None:
    p = bc.parser(__doc__)
    p.add_argument("--timesteps", type=int, default=32)
    args = p.parse_args()
    from spikeforge.ir import SnnConfig
    from spikeforge.simulator import simulate
    from spikeforge.train import ann_predict

    model, graph, dataset, images, labels = bc.load(args)
    ann = float((ann_predict(model, images) == labels).mean())
    rows = []
    for label, opts in STEPS:
        config = SnnConfig(reset=opts["reset"], input_mode=opts["input_mode"],
                           timesteps=args.timesteps)
        float_net, int_net = bc.convert(graph, dataset, args.calibration,
                                        percentile=opts["percentile"], config=config)
        fl = simulate(float_net, images, args.timesteps, quiet=False)
        fx = simulate(int_net, images, args.timesteps, quiet=False)
        rows.append([label, f"{100 * fl.accuracy(labels):.2f}", f"{100 * fx.accuracy(labels):.2f}",
                     f"{fx.spikes.mean():.0f}"])
        print(rows[-1], flush=True)
    body = (f"{len(labels)} {dataset.name} test images, T = {args.timesteps}; ANN "
            f"{100 * ann:.2f}%. Each row adds one method to the row above.\n\n"
            + bc.markdown_table(["conversion", "float SNN %", "fixed-point SNN %",
                                 "spikes/image"], rows))
    bc.write_result(args.out, "ablation", "Ablation of the conversion methods",
                    bc.command_line(), body)


if __name__ == "__main__":
    main()
