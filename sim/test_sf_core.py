"""cocotb test of the core: runs the scenarios of a job file and writes what happened.

The job (JSON, path in $SF_JOB) names the network (``snn`` stem), the scenarios and the
result file; ``spikeforge.rtl.runner`` writes jobs and reads the results. Scenarios:

* ``images``: real or random images in runs of ``per_start`` images per ap_start, with
  optional TVALID gaps / TREADY backpressure; the scoreboard checks every image.
* ``reset_mid_image``: ap_rst_n asserted after ``after_beats`` beats of an image, then
  a clean run of the images.
* ``malformed``: TLAST early (``early``) or missing (``missing``) on the first image of a
  two-image run; the second image and a following clean run must be unaffected.
* ``bad_timesteps``: TIMESTEPS outside 1 .. MAX_TIMESTEPS.
* ``registers``: BUILD_ID, MAX_TIMESTEPS and the idle state after reset.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge
from sf_bench import CTRL_IDLE, BenchError, CoreBench, RunResult
from sf_scoreboard import Scoreboard

from spikeforge.contract import elements_per_beat, pack_images, register_offsets
from spikeforge.ir import Network
from spikeforge.netfile import load_network
from spikeforge.verify import BackendResult


def _backend_result(run: RunResult, timesteps: int) -> BackendResult:
    return BackendResult(
        "rtl", timesteps, run.counts, run.classes, np.array(run.saturation), run.cycles, run.status
    )


async def watch_input(dut, beats: int, idle: list[int]) -> None:
    """Count the cycles without TVALID between the first and the last in_r beat."""
    seen, gap = 0, 0
    while seen < beats:
        await RisingEdge(dut.ap_clk)
        valid, ready = int(dut.in_r_TVALID.value), int(dut.in_r_TREADY.value)
        if seen and not valid:
            gap += 1
        seen += valid & ready
    idle.append(gap)


def pack(images: np.ndarray, net: Network) -> np.ndarray:
    """The in_r words of ``images``: elements of the network's input width."""
    return pack_images(images, net.input_format.bits)


async def images_scenario(bench: CoreBench, board: Scoreboard, spec: dict, stages: int) -> dict:
    images = np.load(spec["images"])
    steps, per_start = spec["timesteps"], spec.get("per_start") or len(images)
    bench.shape_traffic(spec.get("gaps", 0.0), spec.get("backpressure", 0.0), spec.get("seed", 1))
    packed = pack(images, board.net)
    idle: list[int] = []
    if spec.get("watch_input"):
        cocotb.start_soon(watch_input(bench.dut, packed.size, idle))
    runs = []
    for first in range(0, len(images), per_start):
        runs.append(
            await bench.run(packed[first : first + per_start], steps, spec["timeout_us"], stages)
        )
    bench.shape_traffic(0.0, 0.0)
    words = np.concatenate([r.words for r in runs])
    saturation = np.sum([r.saturation for r in runs], axis=0)
    merged = RunResult(words, sum(r.cycles for r in runs), 0, saturation.tolist())
    verdict = board.check(spec["name"], images, steps, _backend_result(merged, steps))
    return {
        "words": words.tolist(),
        "cycles": [r.cycles for r in runs],
        "status": [r.status for r in runs],
        "saturation": saturation.tolist(),
        "input_idle_cycles": idle[0] if idle else None,
        **verdict,
    }


async def reset_scenario(bench: CoreBench, board: Scoreboard, spec: dict, stages: int) -> dict:
    images = np.load(spec["images"])
    packed, steps = pack(images, board.net), spec["timesteps"]
    await bench.start(steps, len(images))
    bench.send_frame(packed[0])
    beats = 0
    while beats < spec["after_beats"]:
        await RisingEdge(bench.dut.ap_clk)
        beats += int(bench.dut.in_r_TVALID.value) & int(bench.dut.in_r_TREADY.value)
    await bench.reset()
    idle = bool((await bench.read("CTRL")) & CTRL_IDLE)
    run = await bench.run(packed, steps, spec["timeout_us"], stages)
    verdict = board.check(spec["name"], images, steps, _backend_result(run, steps))
    return {"idle_after_reset": idle, "status": run.status, "words": run.words.tolist(), **verdict}


async def malformed_scenario(bench: CoreBench, board: Scoreboard, spec: dict, stages: int) -> dict:
    images = np.load(spec["images"])  # three images: A (malformed), B, C (next run)
    packed, steps = pack(images, board.net), spec["timesteps"]
    beats = packed.shape[1]
    seen = images[:2].copy()
    await bench.start(steps, 2)
    if spec["mode"] == "early":
        keep = spec["beats"]  # TLAST on beat keep - 1: the rest of A reads as zeros
        bench.send_frame(packed[0, :keep])
        flat = seen[0].reshape(-1)
        flat[elements_per_beat(board.net.input_format.bits) * keep :] = 0
    else:  # missing: A's last beat has no TLAST; junk beats follow up to the TLAST
        junk = np.arange(1, spec["beats"] + 1, dtype=np.uint32) * 0x01010101
        bench.send_frame(np.concatenate([packed[0], junk]))
    bench.send_frame(packed[1])
    words = await bench.receive(2, spec["timeout_us"])
    await bench.wait_done(spec["timeout_us"])
    first = await bench.figures(words, stages)
    clean = await bench.run(packed[2:], steps, spec["timeout_us"], stages)
    merged = RunResult(
        np.concatenate([first.words, clean.words]),
        0,
        0,
        (np.array(first.saturation) + np.array(clean.saturation)).tolist(),
    )
    expected = np.concatenate([seen, images[2:]])
    verdict = board.check(spec["name"], expected, steps, _backend_result(merged, steps))
    return {
        "status": first.status,
        "status_after": clean.status,
        "beats_per_image": beats,
        "words": merged.words.tolist(),
        **verdict,
    }


async def bad_timesteps_scenario(bench: CoreBench, spec: dict) -> dict:
    await bench.start(spec["timesteps"], 1)
    await bench.wait_done(spec["timeout_us"])
    status, cycles = await bench.read("STATUS"), await bench.read("CYCLES")
    await ClockCycles(bench.dut.ap_clk, 64)
    return {
        "status": status,
        "cycles": cycles,
        "in_ready": int(bench.dut.in_r_TREADY.value),
        "output_frames": bench.sink.count(),
    }


async def registers_scenario(bench: CoreBench) -> dict:
    names = ["CTRL", "BUILD_ID", "MAX_TIMESTEPS", "TIMESTEPS", "N_IMAGES", "STATUS"]
    values = {name: await bench.read(name) for name in names}
    await bench.write("TIMESTEPS", 7)
    values["TIMESTEPS_written"] = await bench.read("TIMESTEPS")
    return values


@cocotb.test()
async def run_job(dut) -> None:
    job = json.loads(Path(os.environ["SF_JOB"]).read_text())
    net = load_network(Path(job["net"]))
    registers = register_offsets(net)
    stages = len(net.neuron_layers)
    bench = CoreBench(dut, registers, net.num_classes)
    board = Scoreboard(net)
    await bench.reset()
    results = []
    for spec in job["scenarios"]:
        kind = spec["kind"]
        dut._log.info("scenario %s (%s)", spec.get("name", kind), kind)
        try:
            if kind == "images":
                result = await images_scenario(bench, board, spec, stages)
            elif kind == "reset_mid_image":
                result = await reset_scenario(bench, board, spec, stages)
            elif kind == "malformed":
                result = await malformed_scenario(bench, board, spec, stages)
            elif kind == "bad_timesteps":
                result = await bad_timesteps_scenario(bench, spec)
            elif kind == "registers":
                result = await registers_scenario(bench)
            else:
                raise ValueError(f"unknown scenario kind {kind!r}")
        except BenchError as err:
            result = {"error": str(err)}
            results.append({"name": spec.get("name", kind), "kind": kind, **result})
            break  # the core is in an unknown state: stop here
        results.append({"name": spec.get("name", kind), "kind": kind, **result})
    Path(job["out"]).write_text(json.dumps({"results": results, "scoreboard": board.log}))
    for line in board.log:
        dut._log.info(line)
