"""Generating an RTL build directory: the parameter package, memory files and a manifest.

The directory is staged and swapped into place (``outdir``). Its name is a
fingerprint of the network, the plan and the RTL sources, so an existing directory with
the same fingerprint is reused as is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..ir import Network
from ..netfile import build_id
from ..outdir import staged_output
from .hwdesc import StageHw, describe
from .params import PACKAGE_FILE, package_text, write_memories
from .plan import StagePlan
from .stages import RtlError

TOP = "sf_core"
KIND = "RTL configuration"
# dependency order: the package first, the top last
MODULES = [
    "sf_util.sv",
    "sf_fifo.sv",
    "sf_pipe.sv",
    "sf_link.sv",
    "sf_event_dispatch.sv",
    "sf_accumulator_bank.sv",
    "sf_synapse.sv",
    "sf_if_lane.sv",
    "sf_tile_issue.sv",
    "sf_bank_crossbar.sv",
    "sf_neuron.sv",
    "sf_gate.sv",
    "sf_serializer.sv",
    "sf_stage.sv",
    "sf_input.sv",
    "sf_output.sv",
    "sf_axil_slave.sv",
    "sf_control.sv",
    "sf_core.sv",
]


def rtl_dir() -> Path:
    """The hand-written SystemVerilog (hw/rtl of the source tree)."""
    path = Path(__file__).resolve().parents[3] / "hw" / "rtl"
    if not (path / TOP).with_suffix(".sv").is_file():
        raise RtlError(
            f"{path} does not hold the RTL sources; run spikeforge from its source tree "
            "(pip install -e .)"
        )
    return path


def rtl_sources() -> list[Path]:
    base = rtl_dir()
    return [base / name for name in MODULES]


@dataclass
class RtlBuild:
    """A generated configuration: run the tools with ``directory`` as working directory."""

    directory: Path
    stages: list[StageHw]
    build_id: int

    @property
    def package(self) -> Path:
        return self.directory / PACKAGE_FILE

    @property
    def sources(self) -> list[Path]:
        return [self.package, *rtl_sources()]

    @property
    def manifest(self) -> dict:
        return json.loads((self.directory / "manifest.json").read_text())


def fingerprint(net: Network, stages: list[StageHw]) -> str:
    digest = hashlib.sha256(f"{build_id(net):08x}".encode())
    plan = [[hw.plan.banks, hw.plan.tile, hw.plan.double_buffer, hw.plan.link_depth]
            for hw in stages]
    digest.update(json.dumps(plan).encode())
    for source in rtl_sources():
        digest.update(source.read_bytes())
    digest.update(Path(__file__).with_name("params.py").read_bytes())
    digest.update(Path(__file__).with_name("tables.py").read_bytes())
    return digest.hexdigest()[:12]


def generate(
    net: Network, root: Path, plan: list[StagePlan] | None = None, *, name: str | None = None
) -> RtlBuild:
    """Write (or reuse) ``root/<name or fingerprint>`` for ``net``."""
    stages = describe(net, plan)
    key = fingerprint(net, stages)
    target = Path(root).resolve() / (name or f"{net.name}-{key}")
    build = RtlBuild(target, stages, build_id(net))
    if (target / "manifest.json").is_file() and build.manifest.get("fingerprint") == key:
        return build
    with staged_output(target, KIND, flag="--build-dir") as staging:
        (staging / PACKAGE_FILE).write_text(package_text(net, stages))
        write_memories(staging, stages, net.formats.weight_bits)
        manifest = {
            "fingerprint": key,
            "network": net.name,
            "build_id": f"{build.build_id:#010x}",
            "stages": [
                {
                    "name": hw.stage.layer.name,
                    "banks": list(hw.plan.banks),
                    "tile": list(hw.plan.tile),
                    "double_buffer": hw.plan.double_buffer,
                    "link_depth": hw.plan.link_depth,
                    "accumulate_lanes": hw.lanes,
                    "fire_lanes": hw.fire_lanes,
                    "gate": hw.stage.gate.name if hw.stage.gate else None,
                }
                for hw in stages
            ],
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return build
