"""Writes a complete HLS project for a network: the library, generated parameters and
weights, the top function with the contract's interface, the C testbench, golden test
vectors and the Vitis HLS Tcl.

    <out>/firmware/spikeforge/*.h   the hand-written library (copied from hls/include) and
                                    contract.h, the contract's STATUS flags (generated)
    <out>/firmware/parameters.h     one config struct per stage, derived from the
                                    library's default (layer_config.h)
    <out>/firmware/weights/wN.h     weights, biases, thresholds of stage N (and as raw
                                    wN_*.bin for g++ C simulation, see weights_io.h)
    <out>/firmware/top.h, top.cpp   snn_top: AXI4-Stream in_r/out_r, s_axi_control
    <out>/tb/tb.cpp                 the C testbench
    <out>/tb/tb_data/               golden input/expected vectors (with ``images``)
    <out>/build_prj.tcl             the Vitis flow (copied from hls/), reads project.tcl
    <out>/project.tcl               part, clock, files, testbench arguments, IP VLNV
    <out>/manifest.json             build id, options, the plan per stage

The project is staged and swapped into place (``outdir``); only an earlier HLS project is
replaced.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import __version__
from ..contract import register_bits, register_map
from ..driver.hwinfo import CORE_VLNV
from ..errors import UserError
from ..netfile import build_id
from ..outdir import staged_output
from ..quant import initial_membrane
from ..verify import golden
from .events import word_cost
from .plan import GatePlan, NetworkPlan, StagePlan, bits_for
from .vectors import expected_beats, image_beats, write_input, write_output
from .weights import c_initializer, channel_layout, layer_header, write_layer_binaries

KIND = "HLS project"

if TYPE_CHECKING:
    import jinja2

TOP = CORE_VLNV.split(":")[2]
TB_DIR, TB_DATA = "tb", "tb_data"
CONTRACT_HEADER = "firmware/spikeforge/contract.h"  # beside the library, which includes it
CONTROL = {"CTRL", "GIE", "IER", "ISR"}
INPUT_REGISTERS = {"TIMESTEPS", "N_IMAGES"}


class HlsSourceError(UserError):
    """The HLS library sources cannot be found."""


def library_dir() -> Path:
    """``hls/`` of the spikeforge checkout (SPIKEFORGE_HLS_DIR overrides)."""
    override = os.environ.get("SPIKEFORGE_HLS_DIR")
    root = Path(override) if override else Path(__file__).resolve().parents[3] / "hls"
    if not (root / "include" / "spikeforge").is_dir():
        raise HlsSourceError(
            f"the HLS library is not at {root}/include/spikeforge; install spikeforge from a "
            "source checkout (pip install -e .) or set SPIKEFORGE_HLS_DIR to its hls/ directory"
        )
    return root


@dataclass(frozen=True)
class PortRegister:
    port: str
    offset: int
    output: bool
    slot: int  # index among the output registers (the testbench's register order)

    @property
    def declaration(self) -> str:
        return f"spikeforge::reg_t{'*' if self.output else ''} {self.port}"


def port_registers(plan: NetworkPlan) -> list[PortRegister]:
    """The core's own registers as top-function arguments, offsets from contract.py."""
    ports: list[PortRegister] = []
    slot = 0
    for reg in register_map(plan.net):
        if reg.name in CONTROL:
            continue
        output = reg.name not in INPUT_REGISTERS
        ports.append(PortRegister(reg.name.lower(), reg.offset, output, slot if output else -1))
        slot += output
    return ports


def trip_max(stage: StagePlan) -> int:
    """The most iterations of a stage's event loop in one step (every word arrives)."""
    groups = stage.groups if isinstance(stage, GatePlan) else stage.groups_in
    return int(word_cost(stage).sum()) * groups + 1


def _environment() -> jinja2.Environment:
    try:
        import jinja2
    except ModuleNotFoundError as err:
        raise UserError(
            "generating HLS sources needs jinja2, part of spikeforge's `ml` extra: "
            "pip install 'spikeforge[ml]' (or `make venv`)"
        ) from err
    return jinja2.Environment(
        loader=jinja2.PackageLoader("spikeforge.hls", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_sources(plan: NetworkPlan) -> dict[str, str]:
    """Every generated source file (relative path -> text), the library excluded."""
    net = plan.net
    context = {
        "net_name": net.name,
        "version": __version__,
        "build_id": build_id(net),
        "max_timesteps": net.config.max_timesteps,
        "num_classes": net.num_classes,
        "input": plan.input,
        "stages": plan.stages,
        "neurons": plan.neurons,
        "reset_zero": net.config.reset == "zero",
        "v_init_table": lambda s: _v_init_table(s, net),
        "stream_depth": plan.options.stream_depth,
        "registers": port_registers(plan),
        "top": TOP,
        "bits_for": bits_for,
        "trip_max": trip_max,
    }
    env = _environment()
    files = {
        "firmware/parameters.h": env.get_template("parameters.h.j2").render(context),
        "firmware/top.h": env.get_template("top.h.j2").render(context),
        "firmware/top.cpp": env.get_template("top.cpp.j2").render(context),
        f"{TB_DIR}/tb.cpp": env.get_template("tb.cpp.j2").render(context),
    }
    files[CONTRACT_HEADER] = contract_header()
    for stage in plan.neurons:
        files[f"firmware/weights/w{stage.stage}.h"] = layer_header(stage)
    return files


def _v_init_table(stage, net) -> str | None:
    """The C initializer of a neuron stage's initial membranes in (groups_out, lanes)
    layout (quant.initial_membrane), or None when every one is 0."""
    v0 = initial_membrane(stage.layer, net.config)
    if not v0.any():
        return None
    return c_initializer(channel_layout(stage, v0)).replace("\n", " ")


def contract_header() -> str:
    """The contract's STATUS flags for the library (``types.h`` includes it)."""
    status = register_bits("STATUS")
    lines = [
        "// Generated by spikeforge from contract.py (the hardware contract); do not edit.",
        "#ifndef SPIKEFORGE_CONTRACT_H_",
        "#define SPIKEFORGE_CONTRACT_H_",
        "",
        "namespace spikeforge {",
        "",
        f"const int STATUS_WIDTH = {max(b.position for b in status) + 1};",
        *(f"const unsigned STATUS_{b.name} = {b.mask};  // {b.meaning}" for b in status),
        "",
        "}  // namespace spikeforge",
        "",
        "#endif",
        "",
    ]
    return "\n".join(lines)


def _tcl_word(value: str) -> str:
    if any(c in value for c in '{}\\"[]$ '):
        raise ValueError(f"{value!r} cannot be written as a plain Tcl word")
    return value


def project_tcl(plan: NetworkPlan, tb_argv: str) -> str:
    vendor, library, name, version = CORE_VLNV.split(":")
    values = {
        "project_name": f"{TOP}_prj",
        "top": TOP,
        "part": plan.options.part,
        "clock_ns": f"{plan.options.clock_ns:g}",
        "ip_vendor": vendor,
        "ip_library": library,
        "ip_name": name,
        "ip_version": version,
        "tb_data": f"{TB_DIR}/{TB_DATA}",
    }
    lines = ["# Generated by spikeforge; do not edit. Read by build_prj.tcl."]
    lines += [f"set {key} {_tcl_word(value)}" for key, value in values.items()]
    lines += [
        "set cflags {-std=c++14 -I firmware}",
        "set sources {firmware/top.cpp}",
        f"set tb_sources {{{TB_DIR}/tb.cpp}}",
        f"set tb_argv {{{tb_argv}}}",
    ]
    return "\n".join(lines) + "\n"


def write_vectors(directory: Path, plan: NetworkPlan, images: np.ndarray, timesteps: int) -> str:
    """Golden vectors for the testbench; returns its argument string (relative paths)."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = golden(plan.net, images, timesteps)
    write_input(directory / "input.bin", image_beats(images, plan.input.element_bits))
    regs = [build_id(plan.net), 0, 0, plan.net.config.max_timesteps]
    regs += [int(v) for v in expected.saturation.sum(axis=0)]
    write_output(
        directory / "expected.bin", expected_beats(expected.counts, expected.classes), regs
    )
    return (
        f"{TB_DATA}/input.bin {timesteps} {len(images)} {TB_DATA}/output.bin "
        f"--expected {TB_DATA}/expected.bin"
    )


def _fill(root: Path, plan: NetworkPlan, images: np.ndarray | None, timesteps: int) -> None:
    lib = library_dir()
    shutil.copytree(lib / "include" / "spikeforge", root / "firmware" / "spikeforge")
    for rel, text in render_sources(plan).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for stage in plan.neurons:
        write_layer_binaries(stage, root / "firmware" / "weights")
    tb_argv = ""
    data = root / TB_DIR / TB_DATA
    data.mkdir(parents=True, exist_ok=True)
    if images is not None and len(images):
        tb_argv = write_vectors(data, plan, images, timesteps)
    shutil.copyfile(lib / "build_prj.tcl", root / "build_prj.tcl")
    (root / "project.tcl").write_text(project_tcl(plan, tb_argv))
    (root / "manifest.json").write_text(json.dumps(manifest(plan), indent=2) + "\n")


def manifest(plan: NetworkPlan) -> dict:
    """What the project was built from (read by ``spikeforge report``)."""
    stages = []
    for s in plan.stages:
        entry = {"stage": s.stage, "name": s.name, "kind": s.kind}
        if isinstance(s, GatePlan):
            entry.update(group=s.group)
        else:
            entry.update(lanes=s.lanes, group_in=s.group_in, acc_bits=s.acc_bits)
        stages.append(entry)
    opts = plan.options
    return {
        "network": plan.net.name,
        "build_id": f"{build_id(plan.net):#010x}",
        "top": TOP,
        "vlnv": CORE_VLNV,
        "part": opts.part,
        "clock_ns": opts.clock_ns,
        "unroll": {s.name: s.lanes for s in plan.neurons},
        "stream_depth": opts.stream_depth,
        "stages": stages,
        "spikeforge_version": __version__,
    }


def generate_project(
    plan: NetworkPlan, out_dir: Path, images: np.ndarray | None = None, timesteps: int | None = None
) -> Path:
    """Write the project for ``plan`` to ``out_dir`` (replacing it); with ``images``, golden
    test vectors for the testbench and the Vitis flow at ``timesteps`` (default: the net's)."""
    steps = timesteps or plan.net.config.timesteps
    with staged_output(out_dir, KIND) as staging:
        _fill(staging, plan, images, steps)
    return Path(out_dir)
