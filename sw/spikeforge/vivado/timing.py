"""The out-of-context timing run of the RTL core: the parameters ``hw/ip/ooc_timing.tcl``
sources, and the result file it writes, read back for ``spikeforge report``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..ir import Network
from ..netfile import build_id
from ..rtl.generate import TOP
from ..rtl.synth import ZYNQ_7020
from .tcl import params_file

TIMING_DIR = "timing"
RESULT_FILE = "vivado_timing.json"
RESULT_KIND = "spikeforge vivado timing"
DEFAULT_PART = "xc7z020clg400-1"  # the PYNQ-Z2's Zynq-7020
DEFAULT_CLOCK_MHZ = 100.0  # the overlay's PL clock


class TimingFileError(UserError):
    """A Vivado timing result that cannot be read or belongs to another network."""


@dataclass(frozen=True)
class TimingTarget:
    part: str = DEFAULT_PART
    clock_mhz: float = DEFAULT_CLOCK_MHZ


def timing_params(
    net: Network, target: TimingTarget, plan_text: str, hdl_dir: str, hdl_files: list[str],
    mem_files: list[str],
) -> str:
    """``timing_params.tcl`` for ``ooc_timing.tcl`` (paths relative to the timing dir)."""
    values = {
        "SF_PART": target.part,
        "SF_CLOCK_NS": f"{1000.0 / target.clock_mhz:.4f}",
        "SF_TOP": TOP,
        "SF_HDL_DIR": hdl_dir,
        "SF_HDL_FILES": hdl_files,
        "SF_MEM_FILES": mem_files,
        "SF_NETWORK": net.name,
        "SF_BUILD_ID": f"{build_id(net):#010x}",
        "SF_PLAN": plan_text,
        "SF_RESULT": RESULT_FILE,
    }
    return params_file("`spikeforge ip --timing-script` (sw/spikeforge/vivado/timing.py)", values)


@dataclass(frozen=True)
class VivadoTiming:
    """Post-route figures of one out-of-context run."""

    network: str
    build_id: str
    plan: str
    part: str
    vivado: str
    clock_period_ns: float
    wns_ns: float
    fmax_mhz: float
    lut: int
    ff: int
    bram36: float
    dsp: int

    def shares(self) -> dict[str, float] | None:
        """Each resource as a fraction of a Zynq-7020's, on that part; else None."""
        if not self.part.lower().startswith("xc7z020"):
            return None
        return {"LUT": self.lut / ZYNQ_7020["LUT"], "FF": self.ff / ZYNQ_7020["FF"],
                "BRAM36": self.bram36 / ZYNQ_7020["BRAM36"], "DSP": self.dsp / ZYNQ_7020["DSP"]}

    def describe(self) -> str:
        counts = {"LUT": self.lut, "FF": self.ff, "BRAM36": self.bram36, "DSP": self.dsp}
        shares = self.shares()
        used = ", ".join(
            f"{name} {value:g}" + (f" ({100 * shares[name]:.1f}%)" if shares else "")
            for name, value in counts.items()
        )
        return (
            f"Vivado {self.vivado} post-route, out of context on {self.part} ({self.plan}): "
            f"{used}; WNS {self.wns_ns:+.3f} ns at {self.clock_period_ns:g} ns: "
            f"Fmax {self.fmax_mhz:.1f} MHz"
        )


_TEXT = ("network", "build_id", "plan", "part", "vivado")
_NUMBERS = ("clock_period_ns", "wns_ns", "fmax_mhz", "bram36")
_COUNTS = ("lut", "ff", "dsp")


def read_timing(path: Path, net: Network) -> VivadoTiming:
    """The result file ``ooc_timing.tcl`` wrote, checked, for ``net``."""
    fix = ("run the timing script `spikeforge ip NETDIR --core rtl --timing-script` writes "
           "for this network (IP_REPO/timing/ooc_timing.tcl) in Vivado and pass its "
           f"{RESULT_FILE}")
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise TimingFileError(f"--vivado-timing {path} cannot be read ({err}); {fix}") from None
    if not isinstance(data, dict) or data.get("kind") != RESULT_KIND or data.get("version") != 1:
        raise TimingFileError(f"--vivado-timing {path} is not a {RESULT_FILE} of "
                              f"ooc_timing.tcl (kind '{RESULT_KIND}', version 1); {fix}")
    problems = [k for k in _TEXT if not isinstance(data.get(k), str)]
    problems += [k for k in _NUMBERS if not _number(data.get(k))]
    problems += [k for k in _COUNTS if not (_number(data.get(k)) and data[k] == int(data[k]))]
    if problems:
        raise TimingFileError(f"--vivado-timing {path}: missing or malformed "
                              f"{', '.join(problems)}; {fix}")
    expected = f"{build_id(net):#010x}"
    if data["build_id"] != expected:
        raise TimingFileError(
            f"--vivado-timing {path} was measured for network '{data['network']}' (build id "
            f"{data['build_id']}), not '{net.name}' ({expected}); {fix}"
        )
    return VivadoTiming(
        **{k: data[k] for k in _TEXT},
        **{k: float(data[k]) for k in _NUMBERS},
        **{k: int(data[k]) for k in _COUNTS},
    )


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)
