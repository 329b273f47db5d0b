"""Speed of the golden model (image-timesteps/s) beside the Keras ANN (images/s), in one run."""

from __future__ import annotations

import time

import bench_common as bc


def main() -> None:
    p = bc.parser(__doc__)
    p.add_argument("--timesteps", type=int, default=32)
    args = p.parse_args()
    from spikeforge.simulator import simulate
    from spikeforge.train import ann_predict

    model, graph, dataset, images, labels = bc.load(args)
    float_net, int_net = bc.convert(graph, dataset, args.calibration)
    ann_predict(model, images[:1000])  # build the graph once, outside the timing
    start = time.perf_counter()
    ann = float((ann_predict(model, images) == labels).mean())
    ann_s = time.perf_counter() - start
    rows = [["Keras ANN (TensorFlow CPU)", "-", f"{100 * ann:.2f}", f"{ann_s:.1f}",
             f"{len(labels) / ann_s:.0f}", "-"]]
    for name, net in (("float SNN", float_net), ("golden (fixed-point) SNN", int_net)):
        start = time.perf_counter()
        result = simulate(net, images, args.timesteps, quiet=False)
        seconds = time.perf_counter() - start
        rows.append([name, args.timesteps, f"{100 * result.accuracy(labels):.2f}",
                     f"{seconds:.1f}", f"{len(labels) / seconds:.0f}",
                     f"{len(labels) * args.timesteps / seconds:.0f}"])
    body = (f"{len(labels)} {dataset.name} test images, T = {args.timesteps}.\n\n"
            + bc.markdown_table(["model", "T", "accuracy %", "seconds", "images/s",
                                 "image-timesteps/s"], rows))
    bc.write_result(args.out, "golden_speed", "Golden model speed", bc.command_line(), body)


if __name__ == "__main__":
    main()
