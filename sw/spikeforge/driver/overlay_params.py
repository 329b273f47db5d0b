"""Write ``params.tcl`` for ``hw/overlay/build_overlay.tcl`` (``make overlay`` runs this).

    python -m spikeforge.driver.overlay_params --board pynq-z2 --ip-repo build/hls/ip \\
        --out-dir build/overlay/pynq-z2
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import hwinfo


def find_core_ip(ip_repo: Path) -> Path:
    """The component.xml of the packaged core (HLS export or RTL IP) under ``ip_repo``."""
    vendor, library, name, version = hwinfo.CORE_VLNV.split(":")
    if ip_repo.is_dir():
        for component in sorted(ip_repo.rglob("component.xml")):
            text = component.read_text(errors="replace")
            if all(f">{field}<" in text for field in (vendor, library, name, version)):
                return component
    raise SystemExit(
        f"overlay: {ip_repo} holds no packaged IP {hwinfo.CORE_VLNV} (a component.xml); export "
        "the core first (`make hls` with Vitis HLS, or package the RTL core) and pass "
        "IP_REPO=<its directory>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spikeforge.driver.overlay_params")
    parser.add_argument("--board", default=hwinfo.DEFAULT_BOARD, choices=sorted(hwinfo.BOARDS))
    parser.add_argument("--part", help="override the preset's FPGA part")
    parser.add_argument(
        "--board-part", help="override the preset's Vivado board part ('' for none)"
    )
    parser.add_argument("--ip-repo", required=True, type=Path)
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    find_core_ip(args.ip_repo)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    text = hwinfo.overlay_params_tcl(
        hwinfo.board(args.board),
        str(args.ip_repo.resolve()),
        str(args.out_dir.resolve()),
        args.jobs,
        args.part,
        args.board_part,
    )
    target = args.out_dir / "params.tcl"
    tmp = target.with_suffix(".tcl.tmp")
    tmp.write_text(text)
    tmp.replace(target)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
