"""HLS C simulation of the SNN core (g++) beside the golden model and the hls4ml ANN
baseline, in one run: wall time, mismatches (must be 0), accuracy, and the cycle model's
images/s at the target clock."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import bench_common as bc


def main() -> None:
    p = bc.parser(__doc__)
    p.add_argument("--timesteps", type=int, default=32)
    p.add_argument("--ann-images", type=int, default=1000,
                   help="images for the hls4ml baseline (slow csim: docs/figures/hls_csim.md)")
    p.add_argument("--workdir", type=Path, default=Path("build/bench/hls"))
    p.set_defaults(limit=1000)
    args = p.parse_args()
    from spikeforge.hls import build_csim, plan_network
    from spikeforge.hls.baseline import ann_baseline
    from spikeforge.hls.csim import csim_images
    from spikeforge.hls.cycles import cycle_model
    from spikeforge.hls.events import trace_events
    from spikeforge.train import ann_predict
    from spikeforge.verify import compare, golden

    model, graph, dataset, images, labels = bc.load(args)
    _, net = bc.convert(graph, dataset, args.calibration)
    steps = args.timesteps
    plan = plan_network(net)
    args.workdir.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    expected = golden(net, images, steps)
    golden_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:  # a fresh compile, timed
        start = time.perf_counter()
        build = build_csim(plan, Path(tmp))
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        result = csim_images(build, images, steps, quiet=False)
        csim_s = time.perf_counter() - start
    comparison = compare(result, expected)
    model_images = images[: min(100, len(images))]
    cycles = cycle_model(plan, trace_events(plan, model_images, steps))

    ann_n = min(args.ann_images, len(images))
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        base = ann_baseline(args.model, images[:ann_n], labels[:ann_n], Path(tmp))
    keras_all = float((ann_predict(model, images) == labels).mean())
    snn_slice = float((expected.classes[:ann_n] == labels[:ann_n]).mean())

    n = len(labels)
    rows = [
        ["Keras ANN (float, TensorFlow)", n, f"{100 * keras_all:.2f}", "-", "-", "-"],
        ["golden SNN (numpy)", n, f"{100 * expected.accuracy(labels):.2f}", "-",
         f"{golden_s:.1f}", f"{n / golden_s:.0f}"],
        ["HLS SNN core, g++ csim", n, f"{100 * float((result.classes == labels).mean()):.2f}",
         f"{compile_s:.1f}", f"{csim_s:.1f}", f"{n / csim_s:.1f}"],
        [f"hls4ml ANN ({base.precision}), g++ csim", ann_n, f"{100 * base.accuracy:.2f}",
         f"{base.compile_seconds:.1f}", f"{base.predict_seconds:.1f}",
         f"{base.images_per_second:.1f}"],
    ]
    body = (
        f"{n} {dataset.name} test images, T = {steps}, the default HLS plan "
        f"({', '.join(f'{s.name} {s.lanes} lanes' for s in plan.neurons)}).\n\n"
        f"- csim vs golden model: {comparison.describe()} "
        f"({len(comparison.mismatched_images)} mismatches)\n"
        f"- on the hls4ml slice ({ann_n} images): Keras {100 * base.keras_accuracy:.2f}%, "
        f"hls4ml {100 * base.accuracy:.2f}% (agrees with Keras on "
        f"{100 * base.agreement:.1f}%), SNN {100 * snn_slice:.2f}%\n"
        f"- cycle model of the SNN core ({len(model_images)} images): "
        f"{cycles.mean_cycles:.0f} cycles/image, {cycles.images_per_second:.0f} images/s at "
        f"{plan.options.clock_mhz:g} MHz on {plan.options.part}\n\n"
        + bc.markdown_table(
            ["model", "images", "accuracy %", "compile s", "run s", "images/s"], rows
        )
    )
    bc.write_result(args.out, "hls_csim", "HLS C simulation and the hls4ml ANN baseline",
                    bc.command_line(), body)
    if not comparison.ok:
        raise SystemExit("the HLS C simulation differs from the golden model")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc, speed) = plt.subplots(1, 2, figsize=(10, 4))
    names = ["Keras ANN", "hls4ml ANN", "SNN (golden = csim)"]
    values = [100 * base.keras_accuracy, 100 * base.accuracy, 100 * snn_slice]
    acc.bar(names, values, color=["grey", "tab:blue", "tab:orange"])
    acc.set_ylim(max(0, min(values) - 5), 100)
    acc.set_ylabel(f"accuracy on {ann_n} test images (%)")
    for i, v in enumerate(values):
        acc.text(i, v, f"{v:.1f}", ha="center", va="bottom")
    names = ["golden (numpy)", "SNN csim (g++)", "hls4ml csim (g++)",
             f"SNN core model\n@{plan.options.clock_mhz:g} MHz"]
    rates = [n / golden_s, n / csim_s, base.images_per_second, cycles.images_per_second]
    speed.bar(names, rates, color=["grey", "tab:orange", "tab:blue", "tab:green"])
    speed.set_yscale("log")
    speed.set_ylabel("images / s")
    speed.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"{dataset.name}, T = {steps}")
    fig.tight_layout()
    fig.savefig(args.out / "hls_csim.png", dpi=120)


if __name__ == "__main__":
    main()
