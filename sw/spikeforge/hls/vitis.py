"""The Vitis HLS flow (where ``vitis_hls`` is installed) and its synthesis report."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .project import TOP

VITIS = "vitis_hls"
STEPS = ("csim", "csynth", "cosim", "export")
INSTALL_HINT = (
    "install AMD Vitis HLS (2022.2 or newer, part of the free Vivado ML Standard edition) "
    "and `source <install>/Vitis_HLS/<version>/settings64.sh` so that vitis_hls is on PATH; "
    "C simulation with g++ (spikeforge hls without --vitis) needs none of it"
)


class VitisError(UserError):
    """Vitis HLS is missing or its flow failed."""


def vitis_path() -> str | None:
    return shutil.which(VITIS)


def require_vitis() -> str:
    path = vitis_path()
    if path is None:
        raise VitisError(f"{VITIS} is not on PATH: {INSTALL_HINT}")
    return path


def run_vitis(project: Path, steps: tuple[str, ...] = STEPS, quiet: bool = False) -> Path:
    """Run build_prj.tcl in ``project`` with the given steps; returns the log file."""
    exe = require_vitis()
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise VitisError(f"unknown Vitis steps {sorted(unknown)}; choose from {', '.join(STEPS)}")
    args = [f"{step}={int(step in steps)}" for step in STEPS]
    log = project / "vitis_hls.log"
    with open(log, "w") as out:
        done = subprocess.run(
            [exe, "-f", "build_prj.tcl", "-tclargs", *args],
            cwd=project,
            stdout=out if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
        )
    if done.returncode != 0:
        raise VitisError(f"vitis_hls failed (exit {done.returncode}); see {log}")
    return log


def csynth_xml(project: Path) -> Path:
    return project / f"{TOP}_prj" / "solution1" / "syn" / "report" / "csynth.xml"


@dataclass
class SynthesisReport:
    """The top's figures from Vitis' csynth.xml (cycles for one call, N_IMAGES = 1)."""

    latency_best: int | None
    latency_average: int | None
    latency_worst: int | None
    clock_ns: float | None
    resources: dict[str, int]


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:  # "undef" when a trip count is unknown
        return None


def read_csynth(path: Path) -> SynthesisReport:
    """Parse a Vitis HLS csynth.xml report."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise VitisError(f"cannot read the synthesis report {path}: {err}") from err
    latency = root.find("PerformanceEstimates/SummaryOfOverallLatency")
    timing = root.find("PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod")
    resources = root.find("AreaEstimates/Resources")

    def lat(tag: str) -> int | None:
        return _int(latency.findtext(tag)) if latency is not None else None

    used = {}
    if resources is not None:
        for child in resources:
            value = _int(child.text)
            if value is not None:
                used[child.tag] = value
    return SynthesisReport(
        latency_best=lat("Best-caseLatency"),
        latency_average=lat("Average-caseLatency"),
        latency_worst=lat("Worst-caseLatency"),
        clock_ns=float(timing.text) if timing is not None and timing.text else None,
        resources=used,
    )
