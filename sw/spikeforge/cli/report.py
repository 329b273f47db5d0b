"""``spikeforge report``: per-layer op counts and the HLS core's cycle model.

Synaptic operations per image are measured by replaying the golden model on test images;
the cycle model (spikeforge.hls.cycles) turns the events each stage receives into busy
cycles per layer and cycles per image; a Vitis synthesis report, where one exists, is
shown beside it, and so are the RTL core's post-route Vivado figures when
``--vivado-timing`` names the result of its out-of-context run (docs/vivado-ip.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from .common import DATASET_HELP, add_quiet, info, network_inputs, positive_int, test_split
from .hls_options import DEFAULT_HLS_DIR, add_hls_options, hls_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="op counts per layer and the HLS cycle model (cycles/image, images/s)",
    )
    parser.add_argument("net", type=Path, help="directory written by `spikeforge convert`")
    parser.add_argument("--dataset", help=DATASET_HELP + " (default: the conversion's)")
    parser.add_argument(
        "--images",
        "-n",
        type=positive_int,
        default=100,
        help="test images to measure events on (default 100)",
    )
    parser.add_argument(
        "--timesteps", "-T", type=positive_int, help="timesteps (default: the network's)"
    )
    parser.add_argument(
        "--hls-dir",
        type=Path,
        default=DEFAULT_HLS_DIR,
        help=f"HLS project with a Vitis csynth report to show beside (default {DEFAULT_HLS_DIR})",
    )
    parser.add_argument(
        "--vivado-timing",
        type=Path,
        metavar="FILE",
        help="vivado_timing.json of the RTL core's out-of-context Vivado run (the script "
        "`spikeforge ip --timing-script` writes): post-route LUT/FF/BRAM/DSP and Fmax",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_hls_options(parser)
    add_quiet(parser)
    parser.set_defaults(run=run)


def build_report(net, plan, images, timesteps: int, hls_dir: Path | None) -> dict:
    """Everything the report prints, JSON-able."""
    import numpy as np

    from ..hls.cycles import LOOP_NAMES, cycle_model
    from ..hls.events import trace_events, worst_case_events
    from ..hls.plan_types import NeuronPlan
    from ..hls.resources import estimate
    from ..hls.vitis import csynth_xml, read_csynth

    events = trace_events(plan, images, timesteps)
    assert events.golden is not None
    model = cycle_model(plan, events)
    worst_model = cycle_model(plan, worst_case_events(plan, timesteps))
    worst = {s.stage: s.total for s in worst_model.stages}
    golden_synops = float(events.golden.synops.mean())
    layer_synops = sum(float(ev.synops.mean()) for ev in events.stages.values())
    if not np.isclose(layer_synops, golden_synops):
        raise AssertionError(
            f"per-layer synops {layer_synops} do not add up to the golden model's {golden_synops}"
        )
    resources = {r.name: r for r in estimate(plan)}
    busy = {s.stage: s for s in model.stages}
    rows = [
        {
            "name": "input",
            "kind": "poisson" if plan.input.poisson else "analog",
            "neurons": 0,
            "weights": 0,
            "parallel": f"{plan.input.channels} px",
            "synops": 0.0,
            "words_in": 0.0,
            "busy_cycles": busy[0].total,
            "loops": {LOOP_NAMES[k]: v for k, v in busy[0].loops.items()},
            "worst_busy_cycles": worst[0],
            "bram18": resources["input"].bram18_total,
        }
    ]
    for stage in plan.stages:
        ev = events.stages[stage.stage]
        neuron = isinstance(stage, NeuronPlan)
        rows.append(
            {
                "name": stage.name,
                "kind": stage.label if neuron else stage.kind,
                "neurons": stage.layer.neurons if neuron else 0,
                "weights": int(stage.layer.weights.size) if neuron else 0,
                "parallel": (
                    f"{stage.lanes} lanes x {stage.group_in} in" if neuron else f"{stage.group} ch"
                ),
                "synops": float(ev.synops.mean()),
                "words_in": float(ev.words.sum(axis=1).mean()),
                "busy_cycles": busy[stage.stage].total,
                "loops": {LOOP_NAMES[k]: v for k, v in busy[stage.stage].loops.items()},
                "worst_busy_cycles": worst[stage.stage],
                "bram18": resources[stage.name].bram18_total,
            }
        )
    report = {
        "network": net.name,
        "timesteps": timesteps,
        "images": len(images),
        "part": plan.options.part,
        "clock_mhz": plan.options.clock_mhz,
        "layers": rows,
        "synops_per_image": golden_synops,
        "spikes_per_image": float(events.golden.spikes.mean()),
        "cycles_per_image": model.mean_cycles,
        "cycles_per_image_max": float(model.cycles_per_image.max()),
        "images_per_second": model.images_per_second,
        "cycles_per_image_worst": worst_model.mean_cycles,
        "vitis": None,
    }
    if hls_dir is not None and csynth_xml(hls_dir).is_file():
        synth = read_csynth(csynth_xml(hls_dir))
        report["vitis"] = {
            "latency_best": synth.latency_best,
            "latency_worst": synth.latency_worst,
            "latency_average": synth.latency_average,
            "clock_ns": synth.clock_ns,
            "resources": synth.resources,
        }
    return report


def render(report: dict) -> str:
    lines = [
        f"# {report['network']}: HLS core at {report['clock_mhz']:g} MHz on {report['part']}, "
        f"T = {report['timesteps']} ({report['images']} test images)",
        "",
        "| layer | kind | neurons | weights | parallel units | synops/image | input words/image "
        "| busy cycles/image | worst case | BRAM18 (est.) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["layers"]:
        lines.append(
            f"| {r['name']} | {r['kind']} | {r['neurons']} | {r['weights']} | {r['parallel']} | "
            f"{r['synops']:.0f} | {r['words_in']:.0f} | {r['busy_cycles']:.0f} | "
            f"{r['worst_busy_cycles']:.0f} | {r['bram18']} |"
        )
    lines += [
        "",
        f"- synaptic operations per image: {report['synops_per_image']:.0f}; spikes per "
        f"image: {report['spikes_per_image']:.0f}",
        f"- cycle model: {report['cycles_per_image']:.0f} cycles per image (mean; max "
        f"{report['cycles_per_image_max']:.0f}), {report['images_per_second']:.0f} images/s "
        f"at {report['clock_mhz']:g} MHz; worst case (every input event in every step) "
        f"{report['cycles_per_image_worst']:.0f} cycles",
    ]
    vitis = report["vitis"]
    if vitis is None:
        lines.append(
            "- Vitis HLS: no csynth report (run `spikeforge hls --vitis` where it is installed)"
        )
    else:
        lines.append(
            f"- Vitis HLS csynth: latency {vitis['latency_best']} .. {vitis['latency_worst']} "
            f"cycles per call (best .. worst, N_IMAGES = 1; the model: "
            f"{report['cycles_per_image']:.0f}), estimated clock {vitis['clock_ns']} ns, "
            + ", ".join(f"{k} {v}" for k, v in vitis["resources"].items())
        )
    if report.get("vivado_timing") is not None:
        from ..vivado.timing import VivadoTiming

        lines.append(f"- RTL core: {VivadoTiming(**report['vivado_timing']).describe()}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from ..hls import plan_network
    from ..netdir import load_int_network

    net = load_int_network(args.net)
    steps = args.timesteps or net.config.timesteps
    net.config.check_run_timesteps(steps)
    timing = None
    if args.vivado_timing is not None:
        from ..vivado.timing import read_timing

        timing = read_timing(args.vivado_timing, net)
    plan = plan_network(net, hls_options(args))
    data, labels = test_split(args, args.images)
    images = network_inputs(net, data, labels)
    info(args, f"report: replaying {len(images)} images through the golden model")
    report = build_report(net, plan, images, steps, args.hls_dir)
    report["vivado_timing"] = None if timing is None else dataclasses.asdict(timing)
    print(json.dumps(report) if args.json else render(report), end="" if not args.json else "\n")
    return 0
