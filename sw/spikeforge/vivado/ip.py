"""The IP repository ``spikeforge ip`` writes: the RTL core with its packaging Tcl, or the
Vitis HLS export copied (docs/vivado-ip.md).

RTL layout (``IP_REPO``)::

    package_ip.tcl, ip_params.tcl   run the first in Vivado: writes snn_top/component.xml
    snn_top/hdl/                    sf_params.sv, hw/rtl/*.sv, the sNN_*.hex memory files
    timing/                         with --timing-script: ooc_timing.tcl, timing_params.tcl
    manifest.json                   network, build id, VLNV, plan, files
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .. import contract
from ..driver import hwinfo
from ..errors import UserError
from ..ir import Network
from ..netfile import build_id
from ..outdir import staged_output
from ..rtl.generate import TOP, rtl_sources
from ..rtl.hwdesc import StageHw
from ..rtl.params import PACKAGE_FILE, package_text, write_memories
from .tcl import params_file
from .timing import TIMING_DIR, TimingTarget, timing_params

KIND = "Vivado IP repository"
PACKAGE_TCL, IP_PARAMS = "package_ip.tcl", "ip_params.tcl"
HDL = "hdl"
MEMORY_MAP, ADDRESS_BLOCK = "s_axi_control", "Reg"  # Vitis HLS' names for the same block
# families the IP offers (the board presets are Zynq-7000 and Zynq UltraScale+)
FAMILIES = ["zynq", "zynquplus", "artix7", "kintex7", "virtex7", "kintexu", "kintexuplus",
            "virtexuplus"]
_AXIS = ["TDATA", "TVALID", "TREADY", "TKEEP", "TSTRB", "TLAST"]
_AXI_LITE = ["AWADDR", "AWVALID", "AWREADY", "WDATA", "WSTRB", "WVALID", "WREADY", "BRESP",
             "BVALID", "BREADY", "ARADDR", "ARVALID", "ARREADY", "RDATA", "RRESP", "RVALID",
             "RREADY"]


class IpError(UserError):
    """An IP repository that cannot be written from what was given."""


def tcl_dir() -> Path:
    """hw/ip of the source tree: the packaging and timing Tcl."""
    path = Path(__file__).resolve().parents[3] / "hw" / "ip"
    if not (path / PACKAGE_TCL).is_file():
        raise IpError(f"{path} does not hold {PACKAGE_TCL}; run spikeforge from its source tree "
                      "(pip install -e .)")
    return path


def core_identity() -> dict[str, str]:
    vendor, library, name, version = hwinfo.CORE_VLNV.split(":")
    return {"vendor": vendor, "library": library, "name": name, "version": version}


@dataclass(frozen=True)
class Interface:
    """One bus interface of the core: IP-XACT mode, bus type, logical -> physical ports."""

    name: str
    mode: str  # "slave" or "master"
    bus: str  # xilinx.com:<kind>:<bus> without version
    ports: dict[str, str]
    parameters: dict[str, str] = field(default_factory=dict)

    def tcl(self) -> list:
        return [self.name, self.mode, f"{self.bus}:1.0", f"{self.bus}_rtl:1.0",
                [x for pair in self.ports.items() for x in pair],
                [x for pair in self.parameters.items() for x in pair]]


def interfaces() -> list[Interface]:
    """The hardware contract's interfaces (docs/hardware-contract.md) with sf_core's ports."""

    def bus(prefix: str, signals: list[str]) -> dict[str, str]:
        return {s: f"{prefix}_{s}" for s in signals}

    return [
        Interface("in_r", "slave", "xilinx.com:interface:axis", bus("in_r", _AXIS)),
        Interface("out_r", "master", "xilinx.com:interface:axis", bus("out_r", _AXIS)),
        Interface("s_axi_control", "slave", "xilinx.com:interface:aximm",
                  bus("s_axi_control", _AXI_LITE), {"PROTOCOL": "AXI4LITE"}),
        Interface("ap_clk", "slave", "xilinx.com:signal:clock", {"CLK": "ap_clk"},
                  {"ASSOCIATED_BUSIF": "in_r:out_r:s_axi_control",
                   "ASSOCIATED_RESET": "ap_rst_n"}),
        Interface("ap_rst_n", "slave", "xilinx.com:signal:reset", {"RST": "ap_rst_n"},
                  {"POLARITY": "ACTIVE_LOW"}),
        Interface("interrupt", "master", "xilinx.com:signal:interrupt",
                  {"INTERRUPT": "interrupt"}, {"SENSITIVITY": "LEVEL_HIGH"}),
    ]


def register_specs(net: Network) -> tuple[list, list]:
    """(registers, fields) for the Tcl: contract.register_map and contract.BITS."""
    access = {"rw": "read-write", "ro": "read-only"}
    registers = [[r.name, f"0x{r.offset:02X}", access[r.access], r.description]
                 for r in contract.register_map(net)]
    fields = [[b.register, b.name, str(b.position), b.meaning] for b in contract.BITS]
    return registers, fields


def ip_params(net: Network, hdl_files: list[str], mem_files: list[str]) -> str:
    ident = core_identity()
    registers, fields = register_specs(net)
    values = {
        "SF_VENDOR": ident["vendor"],
        "SF_LIBRARY": ident["library"],
        "SF_NAME": ident["name"],
        "SF_VERSION": ident["version"],
        "SF_DISPLAY_NAME": f"spikeforge SNN core ({net.name})",
        "SF_DESCRIPTION": f"spikeforge RTL core for network '{net.name}', build id "
                          f"{build_id(net):#010x} (weights built in)",
        "SF_TOP": TOP,
        "SF_PART": hwinfo.BOARDS[hwinfo.DEFAULT_BOARD].part,
        "SF_FAMILIES": [x for family in FAMILIES for x in (family, "Production")],
        "SF_IP_DIR": ident["name"],
        "SF_HDL_FILES": hdl_files,
        "SF_MEM_FILES": mem_files,
        "SF_INTERFACES": [i.tcl() for i in interfaces()],
        "SF_MEMORY_MAP": MEMORY_MAP,
        "SF_ADDRESS_BLOCK": ADDRESS_BLOCK,
        "SF_ADDR_RANGE": str(hwinfo.core_addr_range(len(net.neuron_layers))),
        "SF_REGISTERS": registers,
        "SF_FIELDS": fields,
    }
    return params_file("`spikeforge ip` (sw/spikeforge/vivado/ip.py)", values)


def plan_summary(stages: list[StageHw]) -> list[dict]:
    return [
        {"name": hw.stage.layer.name, "banks": list(hw.plan.banks), "tile": list(hw.plan.tile),
         "double_buffer": hw.plan.double_buffer, "link_depth": hw.plan.link_depth}
        for hw in stages
    ]


@dataclass
class IpRepository:
    """What ``spikeforge ip`` wrote."""

    path: Path
    core: str  # "rtl" or "hls"
    component: Path  # the IP's component.xml (written by package_tcl for the RTL core)
    package_tcl: Path | None  # None: already packaged (the HLS export)
    timing_tcl: Path | None


def command(tcl: Path) -> str:
    """The one command that runs ``tcl`` in Vivado."""
    return f"vivado -mode batch -nojournal -nolog -source {tcl}"


def write_rtl_ip(
    net: Network, stages: list[StageHw], out: Path, net_dir: Path, plan_text: str,
    timing: TimingTarget | None = None,
) -> IpRepository:
    """The RTL core's sources, package and memory files with the packaging Tcl at ``out``."""
    assert net.formats is not None
    here = tcl_dir()
    name = core_identity()["name"]
    with staged_output(out, KIND, inputs=[net_dir]) as staging:
        hdl = staging / name / HDL
        hdl.mkdir(parents=True)
        (hdl / PACKAGE_FILE).write_text(package_text(net, stages))
        for source in rtl_sources():
            shutil.copyfile(source, hdl / source.name)
        write_memories(hdl, stages, net.formats.weight_bits)
        hdl_files = [f"{HDL}/{PACKAGE_FILE}"] + [f"{HDL}/{s.name}" for s in rtl_sources()]
        mem_files = sorted(f"{HDL}/{p.name}" for p in hdl.glob("*.hex"))
        (staging / IP_PARAMS).write_text(ip_params(net, hdl_files, mem_files))
        shutil.copyfile(here / PACKAGE_TCL, staging / PACKAGE_TCL)
        if timing is not None:
            (staging / TIMING_DIR).mkdir()
            text = timing_params(net, timing, plan_text, f"../{name}/{HDL}",
                                 [Path(f).name for f in hdl_files],
                                 [Path(f).name for f in mem_files])
            (staging / TIMING_DIR / "timing_params.tcl").write_text(text)
            shutil.copyfile(here / "ooc_timing.tcl", staging / TIMING_DIR / "ooc_timing.tcl")
        manifest = {
            "core": "rtl",
            "network": net.name,
            "build_id": f"{build_id(net):#010x}",
            "vlnv": hwinfo.CORE_VLNV,
            "top": TOP,
            "plan": plan_text,
            "stages": plan_summary(stages),
            "hdl": hdl_files,
            "memory": mem_files,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    path = Path(out).absolute()
    return IpRepository(path, "rtl", path / name / "component.xml", path / PACKAGE_TCL,
                        path / TIMING_DIR / "ooc_timing.tcl" if timing else None)


def hls_export(hls_dir: Path, net: Network) -> Path:
    """The directory of the Vitis HLS export of ``net`` in the HLS project ``hls_dir``."""
    from ..driver.overlay_params import core_component

    fix = (f"run `spikeforge hls NETDIR --vitis --out {hls_dir}` where vitis_hls is installed "
           "(it exports the IP into its ip/), or pass --hls-dir, or use --core rtl")
    component = core_component(hls_dir / "ip")
    if component is None:
        raise IpError(f"{hls_dir}/ip holds no Vitis HLS export of {hwinfo.CORE_VLNV} "
                      f"(a component.xml); {fix}")
    try:
        made_for = json.loads((hls_dir / "manifest.json").read_text())["build_id"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise IpError(f"{hls_dir}/manifest.json cannot be read ({err}); it is not a "
                      f"`spikeforge hls` project; {fix}") from None
    expected = f"{build_id(net):#010x}"
    if made_for != expected:
        raise IpError(f"the HLS export in {hls_dir} was built from another network (build id "
                      f"{made_for}, '{net.name}' is {expected}); {fix}")
    return component.parent


def write_hls_ip(net: Network, hls_dir: Path, out: Path, net_dir: Path) -> IpRepository:
    """A copy of the Vitis HLS export of ``net`` at ``out``: an IP repository as it is."""
    export = hls_export(hls_dir, net)
    name = core_identity()["name"]
    with staged_output(out, KIND, inputs=[net_dir, hls_dir]) as staging:
        shutil.copytree(export, staging / name)
        manifest = {"core": "hls", "network": net.name, "build_id": f"{build_id(net):#010x}",
                    "vlnv": hwinfo.CORE_VLNV, "copied_from": str(export.resolve())}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    path = Path(out).absolute()
    return IpRepository(path, "hls", path / name / "component.xml", None, None)
