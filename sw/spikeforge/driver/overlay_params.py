"""Write ``params.tcl`` for ``hw/overlay/build_overlay.tcl`` (``make overlay`` runs this).

    python -m spikeforge.driver.overlay_params --board pynq-z2 --core rtl \\
        --ip-repo build/ip/rtl --out-dir build/overlay/pynq-z2
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from . import hwinfo

# how each core becomes a packaged IP (the message when IP_REPO holds none)
EXPORT_HINTS = {
    "rtl": "`make ip CORE=rtl` (spikeforge ip NETDIR --core rtl --out IP_REPO, then Vivado "
    "runs IP_REPO/package_ip.tcl)",
    "hls": "`make hls VITIS=1` (Vitis HLS exports it into build/hls/ip)",
}


def core_component(ip_repo: Path) -> Path | None:
    """The component.xml of the packaged core (HLS export or RTL IP) under ``ip_repo``."""
    vendor, library, name, version = hwinfo.CORE_VLNV.split(":")
    if ip_repo.is_dir():
        for component in sorted(ip_repo.rglob("component.xml")):
            text = component.read_text(errors="replace")
            if all(f">{field}<" in text for field in (vendor, library, name, version)):
                return component
    return None


def find_core_ip(ip_repo: Path, core: str = "hls") -> Path:
    """:func:`core_component`, or exit naming how ``core`` is packaged."""
    component = core_component(ip_repo)
    if component is not None:
        return component
    unpackaged = ""
    if (ip_repo / "package_ip.tcl").is_file():
        unpackaged = (f" ({ip_repo} holds the RTL core's sources, not yet packaged: run "
                      f"`vivado -mode batch -nojournal -nolog -source "
                      f"{ip_repo / 'package_ip.tcl'}`)")
    raise SystemExit(
        f"overlay: {ip_repo} holds no packaged IP {hwinfo.CORE_VLNV} (a component.xml)"
        f"{unpackaged}; package the {core} core first with {EXPORT_HINTS[core]} and pass "
        "IP_REPO=<its directory>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spikeforge.driver.overlay_params")
    parser.add_argument("--board", default=hwinfo.DEFAULT_BOARD, choices=sorted(hwinfo.BOARDS))
    parser.add_argument("--part", help="override the preset's FPGA part")
    parser.add_argument(
        "--board-part", help="override the preset's Vivado board part ('' for none)"
    )
    parser.add_argument("--core", default="rtl", choices=sorted(EXPORT_HINTS),
                        help="which core IP_REPO holds (default rtl)")
    parser.add_argument("--ip-repo", required=True, type=Path)
    parser.add_argument("--clock-mhz", type=int,
                        help="the PL clock (default: the board preset's, 100 MHz)")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    find_core_ip(args.ip_repo, args.core)
    spec = hwinfo.board(args.board)
    if args.clock_mhz is not None:
        if not 10 <= args.clock_mhz <= 500:
            parser.error(f"--clock-mhz {args.clock_mhz}: choose 10 .. 500 MHz")
        spec = dataclasses.replace(spec, clock_mhz=args.clock_mhz)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    text = hwinfo.overlay_params_tcl(
        spec,
        str(args.ip_repo.resolve()),
        str(args.out_dir.resolve()),
        args.jobs,
        args.part,
        args.board_part,
    )
    text += f"set SF_CORE {args.core}\n"
    target = args.out_dir / "params.tcl"
    tmp = target.with_suffix(".tcl.tmp")
    tmp.write_text(text)
    tmp.replace(target)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
