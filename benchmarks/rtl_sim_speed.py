"""Simulation speed of the RTL core's two paths side by side in one run: the cocotb bench
(Python drives every clock edge through VPI) and the fast C++ Verilator harness
(sim/fast/), on the plain MNIST network at T = 32 on the default plan and the low-latency
network at T = 4 on its plan. Per row: simulated cycles per wall-clock second and images
per second, builds excluded (each path is compiled before it is timed); every image's
counts, class and saturation totals are checked == golden model."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import bench_common as bc

PLAIN_PLAN = {}  # the default plan (sw/spikeforge/rtl/plan.py)
LOW_LATENCY_PLAN = {"synapse_lanes": 128, "multiplier_lanes": 48}


def plan_of(net, limits: dict):
    from spikeforge.rtl.plan import PlanLimits, default_plan
    from spikeforge.rtl.stages import build_stages

    return default_plan(build_stages(net), PlanLimits(**limits))


def timed(path: str, net, images, steps: int, plan, root: Path) -> dict:
    """One path on ``images`` after its build: wall seconds, cycles, equality."""
    from spikeforge.rtl.fast import compile_harness, simulate_fast
    from spikeforge.rtl.generate import generate
    from spikeforge.rtl.runner import RtlSim, simulate_rtl
    from spikeforge.verify import compare, golden

    build = generate(net, root, plan)
    if path == "fast":
        compile_harness(build, net)
        run = simulate_fast
    else:
        RtlSim(build, net).compile()
        run = simulate_rtl
    start = time.perf_counter()
    result = run(net, images, steps, root=root, plan=plan).result
    seconds = time.perf_counter() - start
    verdict = compare(result, golden(net, images, steps))
    if not verdict.ok or result.status:
        raise SystemExit(f"{path} T={steps}: {verdict.describe()}, STATUS {result.status}")
    return {"images": len(images), "seconds": seconds, "cycles": int(result.cycles or 0)}


def main() -> None:
    p = bc.parser(__doc__.splitlines()[0], model=False)
    p.add_argument("--net", type=Path, default=Path("build/net"), help="plain network (T=32)")
    p.add_argument("--clip-net", type=Path, help="low-latency network (T=4; skipped if absent)")
    p.add_argument("--cocotb-images", type=int, default=20, help="images through cocotb")
    p.add_argument("--fast-images", type=int, default=1000, help="images through the harness")
    p.add_argument("--build-dir", type=Path, default=Path("build/rtl"))
    args = p.parse_args()

    from spikeforge.datasets import load_dataset
    from spikeforge.netdir import load_int_network

    dataset = load_dataset(args.dataset, quiet=True)
    cases = [("plain", args.net, 32, PLAIN_PLAN, "default")]
    if args.clip_net:
        cases.append(("low-latency", args.clip_net, 4, LOW_LATENCY_PLAN, "128/48/64"))
    header = ["network", "T", "plan", "path", "images", "cycles/image", "seconds",
              "simulated cycles/s", "images/s", "speed-up"]
    rows, bars = [], []
    for name, net_dir, steps, limits, plan_name in cases:
        net = load_int_network(net_dir)
        plan = plan_of(net, limits)
        runs = {}
        for path, count in (("cocotb", args.cocotb_images), ("fast", args.fast_images)):
            images = dataset.test_images[:count]
            runs[path] = timed(path, net, images, steps, plan, args.build_dir)
        base = runs["cocotb"]["cycles"] / runs["cocotb"]["seconds"]
        for path, run in runs.items():
            rate = run["cycles"] / run["seconds"]
            rows.append([name, steps, plan_name, path, run["images"],
                         f"{run['cycles'] / run['images']:,.0f}", f"{run['seconds']:.1f}",
                         f"{rate:,.0f}", f"{run['images'] / run['seconds']:.1f}",
                         f"{rate / base:.0f}x"])
            bars.append((f"{name} T={steps}\n{path}", rate))
    body = (
        "Builds excluded (each path compiled first). cocotb: the bench of sim/ through "
        "cocotb's Python runner, 50 images per simulator launch; fast: the C++ harness of "
        "sim/fast/, one launch. Both run 50 images per ap_start and return the same counts, "
        "classes, CYCLES and saturation totals (tests/test_rtl_fast.py); every image here "
        "== golden model.\n\n" + bc.markdown_table(header, rows)
    )
    bc.write_result(args.out, "rtl_sim_speed", "RTL simulation speed: cocotb vs fast harness",
                    bc.command_line(), body)
    plot(bars, args.out / "rtl_sim_speed.png")


def plot(bars: list[tuple[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    labels, rates = zip(*bars, strict=True)
    colors = ["tab:gray" if "cocotb" in label else "tab:blue" for label in labels]
    ax.bar(np.arange(len(rates)), rates, color=colors)
    ax.set_xticks(np.arange(len(rates)), labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("simulated cycles per second")
    ax.set_title("RTL core in Verilator: cocotb bench vs C++ harness")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
