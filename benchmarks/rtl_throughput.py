"""Throughput of the RTL core, measured in Verilator, for the plain and the low-latency
MNIST networks and several plans side by side in one run: synapse arrays and neuron units
of different sizes (``--synapse-lanes S --multiplier-lanes M --fire-lanes F``, named
S/M/F), with two current sets per stage or one (``--no-double-buffer``). Per network,
plan and T: cycles per image against the ideal (synaptic operations per image / parallel
accumulate units), the golden model's accuracy on the full test set, and, where a
synthesis report of the plan exists (`spikeforge synth NET --build-dir DIR`, or `--synth`
here: tens of minutes per plan), the resources, the post-route Fmax and images/s = Fmax /
cycles per image. Every simulated image's counts, class and saturation totals are checked
== golden model."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

import bench_common as bc


def named_plan(synapse: int, multiplier: int, fire: int, double_buffer: bool = True,
               note: str = "") -> tuple[str, dict]:
    """(name, PlanLimits fields): S/M/F = --synapse-lanes S --multiplier-lanes M
    --fire-lanes F, then the current sets and an optional note."""
    sets = "double-buffered" if double_buffer else "one current set"
    name = f"{synapse}/{multiplier}/{fire} {sets}" + (f" ({note})" if note else "")
    return name, {"synapse_lanes": synapse, "multiplier_lanes": multiplier,
                  "fire_lanes": fire, "double_buffer": double_buffer}


PLANS = dict([
    named_plan(480, 64, 64),
    named_plan(320, 64, 64),
    named_plan(256, 32, 64, note="default"),
    named_plan(256, 32, 32),
    named_plan(128, 64, 64),
    named_plan(128, 48, 64, note="low-latency"),
    named_plan(256, 32, 64, double_buffer=False),
])


def resources(report: dict | None) -> str:
    if not report or not report.get("xilinx"):
        return "no synthesis report"
    x = report["xilinx"]
    return (f"{x['lut']:,} LUT, {x['ff']:,} FF, {x['bram36']:g} BRAM36, {x['dsp']} DSP "
            "(yosys synth_xilinx; Zynq-7020: 53,200 LUT, 106,400 FF, 140 BRAM36, 220 DSP)")


def fmax_of(report: dict | None) -> tuple[float | None, str]:
    from spikeforge.rtl.synth import placement

    ecp5 = (report or {}).get("ecp5")
    if ecp5:
        fmax = float(ecp5["fmax_mhz"])
        how = placement(ecp5["router"], ecp5.get("seed"))  # reports before --seed: no seed
        return fmax, f"post-route Fmax {fmax:.1f} MHz on {ecp5['device']} ({how})"
    return None, (report or {}).get("ecp5_note") or "no place-and-route report"


def measure(net, images, labels, steps, root, plan, expected, incoming
            ) -> tuple[float, dict, float]:
    """(accuracy on the slice, Throughput fields, the busiest synapse array's cycles per
    image) of the RTL core on ``images``; exits unless it equals ``expected`` (the golden
    model's result) on every one. ``incoming``: the events into each stage."""
    from spikeforge.rtl.perf import Throughput, accumulate_lanes, synapse_cycles
    from spikeforge.rtl.runner import simulate_rtl
    from spikeforge.verify import compare

    run = simulate_rtl(net, images, steps, root=root, plan=plan, quiet=False)
    verdict = compare(run.result, expected)
    if not verdict.ok:
        raise SystemExit(f"T={steps}, plan {plan}: the RTL core differs from the golden "
                         f"model: {verdict.describe()}")
    perf = Throughput(len(images), int(run.result.cycles), float(expected.synops.mean()),
                      accumulate_lanes(run.stages))
    bound = max(synapse_cycles(run.stages, incoming, len(images)))
    return float(np.mean(run.result.classes == labels)), asdict(perf), bound


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--net", type=Path, default=Path("build/net"),
                   help="the plain network (`make demo` converts it)")
    p.add_argument("--clip-net", type=Path, default=Path("build/net-cf8"),
                   help="the low-latency network (clip-floor trained, --v-init half "
                   "--pool running-max; `make build/net-cf8/snn.json`)")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--limit", type=int, default=100, help="test images simulated per row")
    p.add_argument("--out", type=Path, default=bc.FIGURES, help="where the table and plot go")
    p.add_argument("--timesteps", type=int, nargs="+", default=[8, 16, 32],
                   help="T for the plain network")
    p.add_argument("--clip-timesteps", type=int, nargs="+", default=[4, 8],
                   help="T for the low-latency network")
    p.add_argument("--build-dir", type=Path, default=Path("build/rtl"))
    p.add_argument("--plans", nargs="+", choices=list(PLANS), default=list(PLANS))
    p.add_argument("--reuse", action="store_true",
                   help="take the simulations of an earlier run (same networks, plans, T and "
                   "image count) from BUILD_DIR/rtl_throughput.json: refreshes the table when a "
                   "synthesis report has appeared")
    p.add_argument("--synth", action="store_true",
                   help="synthesize plans that have no report yet (yosys + nextpnr, slow)")
    args = p.parse_args()
    from spikeforge.datasets import load_dataset
    from spikeforge.netdir import load_int_network
    from spikeforge.rtl.generate import generate
    from spikeforge.rtl.perf import Throughput, incoming_events
    from spikeforge.rtl.plan import PlanLimits, default_plan
    from spikeforge.rtl.stages import build_stages
    from spikeforge.rtl.synth import synth_report
    from spikeforge.simulator import simulate
    from spikeforge.verify import golden

    dataset = load_dataset(args.dataset, quiet=True)
    all_test = dataset.test_images, dataset.test_labels
    images, labels = all_test[0][: args.limit], all_test[1][: args.limit]
    setups = {"plain": (args.net, args.timesteps),
              "low-latency": (args.clip_net, args.clip_timesteps)}

    saved = args.build_dir / "rtl_throughput.json"  # measurements, for --reuse
    measured = json.loads(saved.read_text()) if args.reuse and saved.is_file() else {}
    rows, runs, builds = [], [], {}
    for setup, (net_dir, steps_list) in setups.items():
        net = load_int_network(net_dir)
        full = simulate(net, all_test[0], checkpoints=steps_list, quiet=True)
        references: dict[int, tuple] = {}  # per T, shared by the plans: golden, events
        for name in args.plans:
            plan = default_plan(build_stages(net), PlanLimits(**PLANS[name]))
            build = generate(net, args.build_dir, plan)  # named by network, plan and RTL
            if setup == "plain":  # the plan's hardware; the low-latency net's differs in data
                builds[name] = (build, net.name)
            for steps in steps_list:
                key = f"{build.directory.name} T={steps} images={len(images)}"
                if key not in measured:
                    if steps not in references:
                        references[steps] = (golden(net, images, steps),
                                             incoming_events(net, images, steps))
                    measured[key] = measure(net, images, labels, steps, args.build_dir, plan,
                                            *references[steps])
                slice_accuracy, perf, bound = measured[key]
                runs.append((setup, steps, name, full[steps].accuracy(all_test[1]),
                             slice_accuracy, Throughput(**perf), bound))
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(measured, indent=1))

    reports, lines = {}, []
    for name, (build, network) in builds.items():  # last: a report may have appeared meanwhile
        report_file = build.directory / "synth" / "report.json"
        if args.synth and not report_file.is_file():
            synth_report(build, network)
        reports[name] = json.loads(report_file.read_text()) if report_file.is_file() else None
        stages = "; ".join(f"{hw.stage.layer.name}: {hw.plan.describe()}" for hw in build.stages)
        lines.append(f"- **{name}** ({stages}): {resources(reports[name])}; "
                     f"{fmax_of(reports[name])[1]}.")
    for setup, steps, name, accuracy, slice_accuracy, perf, bound in runs:
        fmax, _ = fmax_of(reports[name])
        rows.append([
            setup, steps, name, f"{100 * accuracy:.2f}", f"{100 * slice_accuracy:.1f}",
            f"{perf.cycles_per_image:,.0f}", f"{perf.ideal_cycles:,.0f}", f"{perf.ratio:.2f}",
            f"{bound:,.0f}", f"{perf.cycles_per_image / bound:.2f}",
            f"{perf.images_per_second(100.0):,.0f}",
            f"{fmax:.1f}" if fmax else "-",
            f"{perf.images_per_second(fmax):,.0f}" if fmax else "-",
        ])
    body = (
        f"{len(images)} {dataset.name} test images per row through the RTL core in Verilator "
        "(cocotb), every count, class and saturation total == golden model; accuracy on all "
        f"{len(all_test[1])} test images from the golden model (the RTL equals it).\n\n"
        + "\n".join(lines) + "\n\n"
        "ideal = synaptic operations per image (golden model) / parallel accumulate units of "
        "all stages; ratio = measured / ideal; array cycles = the busiest synapse array's "
        "cycles per image: the larger of its input events (it takes one per cycle) and its "
        "busiest bank's targets (one per cycle), from the golden model's events and the "
        "plan's tables, a lower bound on cycles per image, and cycles/bound how close the "
        "pipeline comes to it; "
        "images/s = the "
        "plan's post-route Fmax / cycles per image (the low-latency network runs on the same "
        "plan as the plain one: the same hardware with other memory contents).\n\n"
        + bc.markdown_table(["network", "T", "plan", "accuracy % (10k)", "RTL slice %",
                             "cycles/image", "ideal", "ratio", "array cycles", "cycles/bound",
                             "images/s at 100 MHz", "Fmax MHz", "images/s at Fmax"], rows)
    )
    bc.write_result(args.out, "rtl_throughput", "RTL core throughput", bc.command_line(), body)
    plot(args.out / "rtl_throughput.png", rows, dataset.name)


def plot(path: Path, rows: list[list[object]], dataset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    plans = list(dict.fromkeys(row[2] for row in rows))
    for setup in dict.fromkeys(row[0] for row in rows):
        for index, plan in enumerate(plans):
            mine = [r for r in rows if r[0] == setup and r[2] == plan]
            style = "o-" if setup == "plain" else "s--"
            if mine:
                ax.plot([r[1] for r in mine],
                        [float(str(r[5]).replace(",", "")) for r in mine], style,
                        color=f"C{index}", label=f"{setup}, {plan}")
    ax.set_xlabel("timesteps T")
    ax.set_ylabel("cycles per image (simulated)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title(f"RTL core, {dataset}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
